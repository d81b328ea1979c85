package auth

import (
	"context"
	"errors"
	"sync"
)

// errFlightPanicked is what callers sharing a call see when it panicked.
var errFlightPanicked = errors.New("auth: shared database call panicked")

// flightGroup lets concurrent callers with the same key share one call
// (singleflight). The result is handed only to the callers that were waiting
// when it arrived and is forgotten at once: nothing is cached, so a token
// revoked after a lookup finishes is seen by the next lookup (AUTH-6).
type flightGroup[K comparable, V any] struct {
	mu    sync.Mutex
	calls map[K]*flight[V]
}

type flight[V any] struct {
	done    chan struct{} // closed when val and err are set
	val     V
	err     error
	waiters int // callers sharing the call besides the leader; under mu
}

// do returns fn's result for key, calling fn only if no call for key is in
// flight. fn gets the context of the caller that runs it (the leader). A
// waiter whose own context ends stops waiting; a waiter whose leader failed
// only because the leader's context ended tries again with its own.
func (g *flightGroup[K, V]) do(ctx context.Context, key K, fn func(context.Context) (V, error)) (V, error) {
	for {
		g.mu.Lock()
		if f, ok := g.calls[key]; ok {
			f.waiters++
			g.mu.Unlock()
			select {
			case <-f.done:
				if isContextErr(f.err) && ctx.Err() == nil {
					continue
				}
				return f.val, f.err
			case <-ctx.Done():
				var zero V
				return zero, ctx.Err()
			}
		}
		if g.calls == nil {
			g.calls = make(map[K]*flight[V])
		}
		f := &flight[V]{done: make(chan struct{}), err: errFlightPanicked}
		g.calls[key] = f
		g.mu.Unlock()
		g.lead(ctx, key, f, fn)
		return f.val, f.err
	}
}

// lead runs fn and releases the waiters even if fn panics.
func (g *flightGroup[K, V]) lead(ctx context.Context, key K, f *flight[V], fn func(context.Context) (V, error)) {
	defer func() {
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		close(f.done)
	}()
	f.val, f.err = fn(ctx)
}

// waiting returns how many callers wait on the call in flight for key.
func (g *flightGroup[K, V]) waiting(key K) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.calls[key]; ok {
		return f.waiters
	}
	return -1
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
