package timeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sluice/sluice/internal/testenv"
)

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func numsub(t *testing.T, c rueidis.Client, channels ...string) map[string]int64 {
	t.Helper()
	m, err := c.Do(context.Background(), c.B().PubsubNumsub().Channel(channels...).Build()).AsIntMap()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// RED-2 with the hub's queues: churn over many timelines subscribes each
// once, unsubscribes and forgets the ones left idle past the linger, keeps
// one acquired again while lingering, and frees idle timelines while Redis
// is down too.
func TestHubSubscriptionQueues_RED2(t *testing.T) {
	rs := testenv.StartRedis(t)
	c := rs.Client(t)
	h := NewHub(Options{Loops: 1, Linger: 100 * time.Millisecond, KeyRefresh: time.Hour})
	r := h.NewReader(func() {}, &nopSink{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx, rueidis.ClientOption{InitAddress: []string{rs.Addr}, DisableCache: true})
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "connected", func() bool { return h.Stats.RedisConnected.Load() })

	const n = 500
	names := make([]string, n)
	tls := make([]*Timeline, n)
	for i := range names {
		names[i] = fmt.Sprintf("timeline:hashtag:q%d", i)
		tls[i] = h.Acquire(names[i], r)
	}
	waitUntil(t, "every channel subscribed", func() bool { return h.Stats.RedisChannels.Load() == n })
	keep := h.Acquire(names[0], r) // a second reference on one of them
	for _, tl := range tls {
		h.Release(tl, r)
	}
	waitUntil(t, "idle channels unsubscribed", func() bool { return h.Stats.RedisChannels.Load() == 1 })
	if total, used := h.Channels(); total != 1 || used != 1 {
		t.Fatalf("Channels() = %d, %d; want the one still used", total, used)
	}
	if m := numsub(t, c, names[0], names[1]); m[names[0]] != 1 || m[names[1]] != 0 {
		t.Fatalf("NUMSUB = %v", m)
	}

	// Released and acquired again within the linger: still subscribed.
	h.Release(keep, r)
	keep = h.Acquire(names[0], r)
	time.Sleep(300 * time.Millisecond)
	if m := numsub(t, c, names[0]); m[names[0]] != 1 {
		t.Fatalf("re-acquired channel unsubscribed: %v", m)
	}

	// Redis down: idle timelines are still forgotten.
	rs.Stop()
	waitUntil(t, "disconnected", func() bool { return !h.Stats.RedisConnected.Load() })
	h.Release(keep, r)
	waitUntil(t, "idle timeline forgotten while Redis is down", func() bool {
		total, _ := h.Channels()
		return total == 0
	})
}

// Inbound counts what the most loaded loop has not fanned out yet, not
// what other loops' timelines received.
func TestHubInbound_X3(t *testing.T) {
	h := NewHub(Options{Loops: 2})
	r0 := h.NewReader(func() {}, &nopSink{})
	r1 := h.NewReader(func() {}, &nopSink{})
	a := h.Acquire("timeline:public", r0)
	h.Acquire("timeline:public:local", r1)
	for range 1000 {
		h.Ingest("timeline:public", []byte(`{"event":"delete","payload":"1"}`))
	}
	if n := h.Inbound(); n != 1000 {
		t.Fatalf("Inbound = %d before the drain, want 1000", n)
	}
	r0.Drain(1 << 20)
	if n := h.Inbound(); n != 0 {
		t.Fatalf("Inbound = %d after the drain, want 0", n)
	}
	h.Ingest("timeline:public:local", []byte(`{"event":"delete","payload":"2"}`))
	if n := h.Inbound(); n != 1 {
		t.Fatalf("Inbound = %d with one message for the other loop, want 1", n)
	}
	r1.Drain(1 << 20)
	h.Release(a, r0)
	if n := h.Inbound(); n != 0 {
		t.Fatalf("Inbound = %d when idle, want 0", n)
	}
}
