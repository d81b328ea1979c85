package auth

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Runner runs database jobs off the event loops on a fixed number of worker
// goroutines fed by a bounded queue. A reconnect storm therefore queues work
// instead of spawning a goroutine per connection, and a full queue is refused
// at once instead of stalling the loop that submitted it (STYLE 11).
//
// Size the workers to the database pool (e.g. 2×DB_POOL): more workers
// would only wait for a connection.
type Runner struct {
	jobs    chan func()
	wg      sync.WaitGroup
	running atomic.Int64
	refused atomic.Uint64
	panics  atomic.Uint64

	mu     sync.RWMutex // guards closed against a send on a closed jobs
	closed bool
}

// RunnerStats is a snapshot of a Runner's counters, for the status endpoint.
type RunnerStats struct {
	Queued  int    // jobs accepted and not started
	Running int    // jobs being run now
	Refused uint64 // Submit calls answered false since start
	Panics  uint64 // jobs that panicked (the worker survives)
}

// NewRunner starts workers goroutines (at least 1) sharing a queue of queue
// jobs (at least 0; with 0, Submit succeeds only while a worker is idle).
func NewRunner(workers, queue int) *Runner {
	r := &Runner{jobs: make(chan func(), max(queue, 0))}
	for range max(workers, 1) {
		r.wg.Add(1)
		go r.work()
	}
	return r
}

// Submit queues job and returns true, or returns false at once when the
// queue is full or the Runner is closed; the caller then answers 503 or 500.
// It never blocks. Any goroutine, including an event loop, may call it; job
// runs on a worker and must hand its result back to the loop itself.
func (r *Runner) Submit(job func()) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.refused.Add(1)
		return false
	}
	select {
	case r.jobs <- job:
		return true
	default:
		r.refused.Add(1)
		return false
	}
}

// Close refuses new jobs, runs the jobs already queued and waits for the
// workers to finish. Any goroutine but a worker may call it, more than once.
func (r *Runner) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.jobs)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// Stats returns the current counters. Any goroutine may call it.
func (r *Runner) Stats() RunnerStats {
	return RunnerStats{
		Queued:  len(r.jobs),
		Running: int(r.running.Load()),
		Refused: r.refused.Load(),
		Panics:  r.panics.Load(),
	}
}

func (r *Runner) work() {
	defer r.wg.Done()
	for job := range r.jobs {
		r.run(job)
	}
}

// run runs one job; a panicking job must not take the process down with
// every connection on it (LIFE-4).
func (r *Runner) run(job func()) {
	r.running.Add(1)
	defer func() {
		r.running.Add(-1)
		if v := recover(); v != nil {
			r.panics.Add(1)
			// The panic value may hold client bytes (a token): log only
			// its type and where it happened (STYLE 14).
			slog.Error("auth: runner job panicked; worker continues",
				"panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
		}
	}()
	job()
}
