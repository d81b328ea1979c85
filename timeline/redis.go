package timeline

import (
	"context"
	"errors"
	"slices"
	"time"
	"unsafe"

	"github.com/redis/rueidis"
)

// subscribedTTL is the lifetime of a subscribed: key (STR-8): three refresh
// periods of the reference's 360 s.
const subscribedTTL = 1080

// batch bounds the arguments of one SUBSCRIBE/UNSUBSCRIBE or one pipeline.
const batch = 512

// Backoff for Redis reconnection (RED-3): first retry after 50 ms, doubling,
// capped at 2 s.
const (
	backoffMin = 50 * time.Millisecond
	backoffMax = 2 * time.Second
)

// Run connects to Redis and keeps the hub's subscriptions and subscribed:
// keys in step with its timelines until ctx ends. Redis being down is never
// fatal: Run retries for ever and clients stay connected (LIFE-3).
func (h *Hub) Run(ctx context.Context, opt rueidis.ClientOption) {
	backoff := backoffMin
	for ctx.Err() == nil {
		client, err := rueidis.NewClient(opt)
		if err != nil {
			h.log.Error("redis: cannot connect; retrying", "error", err, "retry_in", backoff)
			h.forgetIdle()
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, backoffMax)
			continue
		}
		for ctx.Err() == nil {
			start := time.Now()
			err := h.session(ctx, client)
			if ctx.Err() != nil {
				break
			}
			h.Stats.Reconnects.Add(1)
			if time.Since(start) > 10*time.Second {
				backoff = backoffMin
			}
			h.log.Error("redis: subscriber connection lost; reconnecting", "error", err, "retry_in", backoff)
			h.forgetIdle()
			if !sleep(ctx, backoff) {
				break
			}
			backoff = min(backoff*2, backoffMax)
		}
		client.Close()
	}
}

// session runs one dedicated pub/sub connection until it fails.
func (h *Hub) session(ctx context.Context, client rueidis.Client) error {
	dc, release := client.Dedicate()
	defer release()
	lost := dc.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage: func(m rueidis.PubSubMessage) {
			h.Ingest(m.Channel, unsafe.Slice(unsafe.StringData(m.Message), len(m.Message)))
		},
	})
	defer dc.Close()

	subscribed := make(map[string]bool) // namespaced channel -> subscribed on this connection
	defer func() {
		h.Stats.RedisConnected.Store(false)
		h.Stats.RedisChannels.Store(0)
	}()
	if err := h.sync(ctx, client, dc, subscribed, true); err != nil {
		return err
	}
	h.Stats.RedisConnected.Store(true)

	linger := time.NewTicker(h.lingerTick())
	defer linger.Stop()
	refresh := time.NewTicker(h.opts.KeyRefresh)
	defer refresh.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err = <-lost:
			if err == nil {
				err = errors.New("pub/sub connection closed")
			}
			return err
		case <-h.wake:
			err = h.sync(ctx, client, dc, subscribed, false)
		case <-linger.C:
			// Only lingering timelines can have become due; skip the scan
			// (under Hub.mu, which the loops take) when there are none.
			h.mu.Lock()
			due := h.idleDueLocked(time.Now()) || len(h.toSubscribe) > 0 || len(h.keysPending) > 0
			h.mu.Unlock()
			if due {
				err = h.sync(ctx, client, dc, subscribed, false)
			}
		case <-refresh.C:
			h.keys(ctx, client, h.liveStreamChannels())
		}
		if err != nil {
			return err
		}
	}
}

func (h *Hub) lingerTick() time.Duration {
	if h.opts.Linger <= 0 {
		return 250 * time.Millisecond
	}
	return max(h.opts.Linger/4, 10*time.Millisecond)
}

// sync subscribes the channels that need it, unsubscribes and forgets those
// idle for longer than the linger, and writes the subscribed: keys of newly
// subscribed stream channels. It works from the hub's queues, not from a
// scan of every timeline, so the loops never wait long for Hub.mu; only the
// first sync of a connection (reconnect) walks the whole map, to subscribe
// everything again and rewrite every live key (STR-10).
//
// An idle timeline stays in the map until its UNSUBSCRIBE is done: a loop
// that acquires it meanwhile finds the same Timeline, and the second phase
// then keeps it and subscribes it again instead of forgetting it.
func (h *Hub) sync(ctx context.Context, client rueidis.Client, dc rueidis.DedicatedClient, subscribed map[string]bool, reconnect bool) error {
	var add, drop, keys []string
	now := time.Now()
	h.mu.Lock()
	if reconnect {
		for name, t := range h.timelines {
			if t.refs == 0 && now.Sub(t.idleSince) >= h.opts.Linger {
				continue // due: the idle queue forgets it below
			}
			if !subscribed[t.redis] {
				add = append(add, t.redis)
				if !t.System && t.refs > 0 {
					keys = append(keys, name)
				}
			}
		}
	} else {
		for _, t := range h.toSubscribe {
			// A timeline is queued once per creation or revival; a
			// repeat would only SUBSCRIBE twice, which Redis allows.
			if h.timelines[t.Channel] == t && !subscribed[t.redis] {
				add = append(add, t.redis)
				if !t.System {
					keys = append(keys, t.Channel)
				}
			}
		}
	}
	clear(h.toSubscribe)
	h.toSubscribe = h.toSubscribe[:0]
	idle := h.popIdleLocked(now)
	for _, t := range idle {
		if subscribed[t.redis] {
			drop = append(drop, t.redis)
		}
	}
	h.mu.Unlock()

	// Keys first: Rails checks them before publishing (STR-8). A refused
	// write is retried later and never holds up the subscriptions.
	h.keys(ctx, client, keys)
	if err := h.command(ctx, dc, opSubscribe, add, subscribed); err != nil {
		h.requeue(idle)
		return err
	}
	if err := h.command(ctx, dc, opUnsubscribe, drop, subscribed); err != nil {
		h.requeue(idle)
		return err
	}
	h.mu.Lock()
	revived := h.forgetLocked(idle)
	h.mu.Unlock()
	if revived {
		h.signal()
	}
	h.Stats.RedisChannels.Store(int64(len(subscribed)))
	return nil
}

// idleDueLocked reports whether the oldest idle mark has passed the linger.
func (h *Hub) idleDueLocked(now time.Time) bool {
	return h.idleHead < len(h.idleQ) && now.Sub(h.idleQ[h.idleHead].since) >= h.opts.Linger
}

// popIdleLocked takes the timelines whose linger has passed from the front
// of the idle queue, skipping stale marks.
func (h *Hub) popIdleLocked(now time.Time) []*Timeline {
	var due []*Timeline
	for h.idleDueLocked(now) {
		m := h.idleQ[h.idleHead]
		h.idleQ[h.idleHead] = idleMark{}
		h.idleHead++
		t := m.t
		if t.refs == 0 && t.idleSince.Equal(m.since) && h.timelines[t.Channel] == t {
			due = append(due, t)
		}
	}
	if h.idleHead == len(h.idleQ) {
		h.idleQ, h.idleHead = h.idleQ[:0], 0
	} else if h.idleHead > 1024 && h.idleHead > len(h.idleQ)/2 {
		n := copy(h.idleQ, h.idleQ[h.idleHead:])
		clear(h.idleQ[n:])
		h.idleQ, h.idleHead = h.idleQ[:n], 0
	}
	return due
}

// forgetLocked deletes the idle timelines nobody acquired meanwhile and
// queues the others for a new SUBSCRIBE; it reports whether any was.
func (h *Hub) forgetLocked(idle []*Timeline) bool {
	revived := false
	for _, t := range idle {
		if t.refs == 0 {
			if h.timelines[t.Channel] == t {
				delete(h.timelines, t.Channel)
			}
			continue
		}
		h.toSubscribe = append(h.toSubscribe, t)
		revived = true
	}
	return revived
}

// requeue puts back idle timelines whose UNSUBSCRIBE did not happen (the
// connection failed): the next connection forgets or resubscribes them.
func (h *Hub) requeue(idle []*Timeline) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range idle {
		if t.refs == 0 {
			h.idleQ = append(h.idleQ, idleMark{t, t.idleSince})
		}
	}
}

// forgetIdle deletes timelines idle past the linger while Redis is down:
// nothing is subscribed then, and the reconnect walks the map anyway.
func (h *Hub) forgetIdle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forgetLocked(h.popIdleLocked(time.Now()))
}

type subOp uint8

const (
	opSubscribe subOp = iota
	opUnsubscribe
)

// command sends SUBSCRIBE or UNSUBSCRIBE for channels in batches and records
// the result in subscribed.
func (h *Hub) command(ctx context.Context, dc rueidis.DedicatedClient, op subOp, channels []string, subscribed map[string]bool) error {
	for len(channels) > 0 {
		n := min(len(channels), batch)
		cmd := dc.B().Subscribe().Channel(channels[:n]...).Build()
		if op == opUnsubscribe {
			cmd = dc.B().Unsubscribe().Channel(channels[:n]...).Build()
		}
		if err := dc.Do(ctx, cmd).Error(); err != nil {
			return err
		}
		for _, c := range channels[:n] {
			if op == opSubscribe {
				subscribed[c] = true
			} else {
				delete(subscribed, c)
			}
		}
		channels = channels[n:]
	}
	return nil
}

// liveStreamChannels lists the stream channels with subscribers (STR-10:
// one refresh per channel, not per connection).
func (h *Hub) liveStreamChannels() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.timelines))
	for name, t := range h.timelines {
		if !t.System && t.refs > 0 {
			out = append(out, name)
		}
	}
	return out
}

// keys writes subscribed: keys and remembers the ones that failed, retrying
// them at the next sync. A Redis that refuses writes (OOM, a read-only
// replica, an ACL) must not stop delivery: PUBLISH still works there, and
// public streams need no key (RED-1, LIFE-3). Only the first failure of a
// streak is logged.
func (h *Hub) keys(ctx context.Context, client rueidis.Client, channels []string) {
	if len(h.keysPending) > 0 {
		channels = slices.Compact(slices.Sorted(slices.Values(append(channels, h.keysPending...))))
		h.keysPending = nil
	}
	err := h.writeKeys(ctx, client, channels)
	if err != nil && ctx.Err() == nil {
		// After a Redis restart the first command on the command connection
		// fails (EOF) while rueidis redials: try once more at once (STR-10).
		err = h.writeKeys(ctx, client, channels)
	}
	if err != nil {
		if !h.keysFailing {
			h.log.Error("redis: cannot write subscribed: keys; Rails will not publish home, list and notification events until it can", "error", err)
		}
		h.keysFailing = true
		h.keysPending = channels
		return
	}
	h.keysFailing = false
}

// writeKeys runs SET subscribed:<channel> 1 EX 1080 for each channel (STR-8).
func (h *Hub) writeKeys(ctx context.Context, client rueidis.Client, channels []string) error {
	for len(channels) > 0 {
		n := min(len(channels), batch)
		cmds := make(rueidis.Commands, 0, n)
		for _, c := range channels[:n] {
			cmds = append(cmds, client.B().Set().Key(h.redisName(SubscribedKey(c))).Value("1").ExSeconds(subscribedTTL).Build())
		}
		for _, r := range client.DoMulti(ctx, cmds...) {
			if err := r.Error(); err != nil {
				return err
			}
		}
		channels = channels[n:]
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
