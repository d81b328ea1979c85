package timeline

import (
	"sync"
	"testing"
)

func TestRingReadInOrder(t *testing.T) {
	r := NewRing(8, 8)
	for i := 0; i < 5; i++ {
		r.Push(&Entry{Seq: uint64(i + 1)}, 0)
	}
	var cur uint64
	for want := uint64(1); want <= 5; want++ {
		e, next, lost, ok := r.Read(cur)
		if !ok || lost != 0 || e.Seq != want {
			t.Fatalf("read %d: e=%v lost=%d ok=%v", cur, e, lost, ok)
		}
		cur = next
	}
	if _, _, _, ok := r.Read(cur); ok {
		t.Fatal("read past head")
	}
}

// A reader more than a ring behind skips to the oldest retained entry and
// learns how many it lost; the producer never waits.
func TestRingOverrunReportsLoss(t *testing.T) {
	r := NewRing(4, 4)
	for i := 0; i < 10; i++ {
		r.Push(&Entry{Seq: uint64(i + 1)}, 0)
	}
	e, next, lost, ok := r.Read(0)
	if !ok || lost != 6 || e.Seq != 7 || next != 7 {
		t.Fatalf("got seq=%d next=%d lost=%d ok=%v; want seq 7 next 7 lost 6", e.Seq, next, lost, ok)
	}
}

// Concurrent readers see every entry in order or a counted gap, never a
// torn or repeated entry (run with -race).
func TestRingConcurrentReaders(t *testing.T) {
	const n = 200000
	r := NewRing(2, 64) // grows while the readers run
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cur, last, seen, lostTotal uint64
			for last < n {
				e, next, lost, ok := r.Read(cur)
				lostTotal += lost
				if !ok {
					continue
				}
				if e.Seq <= last {
					t.Errorf("out of order: %d after %d", e.Seq, last)
					return
				}
				if e.Seq != last+1+lost {
					t.Errorf("gap not reported: %d after %d with lost %d", e.Seq, last, lost)
					return
				}
				last, cur = e.Seq, next
				seen++
			}
			if seen+lostTotal != n {
				t.Errorf("seen %d + lost %d != %d", seen, lostTotal, n)
			}
		}()
	}
	for i := 1; i <= n; i++ {
		r.Push(&Entry{Seq: uint64(i)}, 0)
	}
	wg.Wait()
}

// A ring grows instead of overrunning a reader that lags, up to its maximum,
// and a reader then sees every entry in order (the producer still never
// waits); past the maximum the loss is counted.
func TestRingGrowsForLaggingReader(t *testing.T) {
	r := NewRing(2, 64)
	for i := 1; i <= 40; i++ {
		r.Push(&Entry{Seq: uint64(i)}, 0) // the reader is still at 0
	}
	if r.Cap() != 64 {
		t.Fatalf("cap %d, want 64 after growing", r.Cap())
	}
	var cur uint64
	for want := uint64(1); want <= 40; want++ {
		e, next, lost, ok := r.Read(cur)
		if !ok || lost != 0 || e.Seq != want {
			t.Fatalf("read %d: seq %v lost %d ok %v", cur, e, lost, ok)
		}
		cur = next
	}
	for i := 41; i <= 140; i++ {
		r.Push(&Entry{Seq: uint64(i)}, cur)
	}
	e, _, lost, ok := r.Read(cur)
	if !ok || lost != 100-64 || e.Seq != 41+36 {
		t.Fatalf("past max: seq %v lost %d; want 77 and 36", e, lost)
	}
}
