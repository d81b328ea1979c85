package auth

import (
	"sync"
	"sync/atomic"
	"testing"
)

// STYLE 11: Submit never blocks an event loop; a full queue is refused.
func TestRunner_FullQueueRefusesWithoutBlocking(t *testing.T) {
	const workers, queue = 2, 3
	r := NewRunner(workers, queue)
	release := make(chan struct{})
	var ran atomic.Int32
	job := func() { <-release; ran.Add(1) }

	for i := range workers {
		if !r.Submit(job) {
			t.Fatalf("Submit %d refused with idle workers", i)
		}
	}
	waitFor(t, "both workers busy", func() bool { return r.Stats().Running == workers })
	for i := range queue {
		if !r.Submit(job) {
			t.Fatalf("Submit refused with %d of %d queued", i, queue)
		}
	}
	if st := r.Stats(); st.Queued != queue || st.Running != workers {
		t.Fatalf("stats %+v, want %d queued, %d running", st, queue, workers)
	}

	// Full: this must return false at once. Were Submit to block, the
	// goroutine would hang until release and the test would time out.
	refused := make(chan bool)
	go func() { refused <- !r.Submit(job) }()
	if !<-refused {
		t.Fatal("Submit accepted a job beyond the queue")
	}
	if st := r.Stats(); st.Refused != 1 {
		t.Errorf("Refused = %d, want 1", st.Refused)
	}

	close(release)
	r.Close() // runs the queued jobs, then waits for the workers
	if n := ran.Load(); n != workers+queue {
		t.Errorf("%d jobs ran, want %d", n, workers+queue)
	}
	if r.Submit(job) {
		t.Error("Submit accepted a job after Close")
	}
	if st := r.Stats(); st.Running != 0 || st.Queued != 0 || st.Refused != 2 {
		t.Errorf("stats after Close %+v", st)
	}
	r.Close() // idempotent
}

// LIFE-4: a panicking job is counted and the worker keeps serving.
func TestRunner_PanicKeepsWorker(t *testing.T) {
	r := NewRunner(1, 4)
	done := make(chan struct{})
	r.Submit(func() { panic("client bytes must not be logged") })
	r.Submit(func() { close(done) })
	<-done
	r.Close()
	if st := r.Stats(); st.Panics != 1 {
		t.Errorf("Panics = %d, want 1", st.Panics)
	}
}

// Submit racing Close neither panics (send on a closed channel) nor loses
// an accepted job.
func TestRunner_SubmitRacesClose(t *testing.T) {
	r := NewRunner(4, 64)
	var accepted, ran atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if r.Submit(func() { ran.Add(1) }) {
					accepted.Add(1)
				}
			}
		}()
	}
	r.Close()
	wg.Wait()
	if accepted.Load() != ran.Load() {
		t.Errorf("%d jobs accepted, %d ran", accepted.Load(), ran.Load())
	}
}
