package auth

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the test's patience runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// AUTH-6: callers arriving while a call is in flight share it; a caller
// arriving after it has finished starts a new one.
func TestFlightGroup_SharesThenForgets_AUTH6(t *testing.T) {
	var g flightGroup[string, int]
	var calls atomic.Int32
	release := make(chan struct{})
	fn := func(context.Context) (int, error) {
		n := calls.Add(1)
		<-release
		return int(n), nil
	}
	results := make(chan int, 5)
	for range 5 {
		go func() {
			v, _ := g.do(context.Background(), "k", fn)
			results <- v
		}()
	}
	waitFor(t, "4 waiters", func() bool { return g.waiting("k") == 4 })
	close(release)
	for range 5 {
		if v := <-results; v != 1 {
			t.Errorf("result %d, want the shared call's 1", v)
		}
	}
	if v, _ := g.do(context.Background(), "k", fn); v != 2 || calls.Load() != 2 {
		t.Errorf("later call got %d after %d calls; want a fresh call", v, calls.Load())
	}
	if g.waiting("k") != -1 {
		t.Error("finished call still registered")
	}
}

// A waiter whose own context ends stops waiting; the leader is unaffected.
func TestFlightGroup_WaiterContextEnds(t *testing.T) {
	var g flightGroup[string, int]
	release := make(chan struct{})
	leader := make(chan int)
	go func() {
		v, _ := g.do(context.Background(), "k", func(context.Context) (int, error) { <-release; return 7, nil })
		leader <- v
	}()
	waitFor(t, "the leader", func() bool { return g.waiting("k") == 0 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.do(ctx, "k", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	close(release)
	if v := <-leader; v != 7 {
		t.Errorf("leader got %d", v)
	}
}

// A leader failing because its own context ended must not fail waiters whose
// contexts are alive: they run the call again.
func TestFlightGroup_LeaderContextEnds(t *testing.T) {
	var g flightGroup[string, int]
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	go g.do(leaderCtx, "k", func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
	waitFor(t, "the leader", func() bool { return g.waiting("k") == 0 })
	got := make(chan error)
	go func() {
		v, err := g.do(context.Background(), "k", func(context.Context) (int, error) { return 9, nil })
		if err == nil && v != 9 {
			err = errors.New("wrong value")
		}
		got <- err
	}()
	waitFor(t, "the waiter", func() bool { return g.waiting("k") == 1 })
	cancelLeader()
	if err := <-got; err != nil {
		t.Errorf("waiter: %v; want its own successful call", err)
	}
}

// A panicking call releases its waiters with an error instead of hanging
// them, and the panic reaches the leader's goroutine.
func TestFlightGroup_Panic(t *testing.T) {
	var g flightGroup[string, *Identity]
	release := make(chan struct{})
	go func() {
		defer func() { _ = recover() }()
		g.do(context.Background(), "k", func(context.Context) (*Identity, error) { <-release; panic("boom") })
	}()
	waitFor(t, "the leader", func() bool { return g.waiting("k") == 0 })
	got := make(chan error)
	go func() {
		_, err := g.do(context.Background(), "k", nil)
		got <- err
	}()
	waitFor(t, "the waiter", func() bool { return g.waiting("k") == 1 })
	close(release)
	if err := <-got; !errors.Is(err, errFlightPanicked) {
		t.Errorf("waiter of a panicked call: %v", err)
	}
}
