package bench

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sluice/sluice/internal/testenv"
)

// The real publisher against a private redis-server: the fake server
// subscribes to the namespaced channel, as a Mastodon server would, so the
// run checks channel naming, PUBSUB NUMSUB and the payload end to end.
func TestFanoutThroughRedisWithNamespace(t *testing.T) {
	r := testenv.StartRedis(t)
	f := newFakeServer(t, fakeScript{})
	const ns = "bench-ns"
	sub := r.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sub.Receive(ctx, sub.B().Subscribe().Channel(ns+":timeline:public").Build(), func(m rueidis.PubSubMessage) {
		if err := f.Publish(ctx, m.Channel, []byte(m.Message)); err != nil {
			t.Errorf("fake server: %v", err)
		}
	})
	o := testOptions(f, 10)
	o.Publisher = nil
	o.Redis, o.Namespace = r.Addr, ns
	o.Messages, o.PubRate = 50, 200
	rep, err := RunFanout(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := metric(t, rep, "fanout.10.delivered"); got != 500 {
		t.Errorf("delivered %v of 500; notes %v", got, rep.Notes)
	}
	if len(rep.Notes) != 0 {
		t.Errorf("notes: %v", rep.Notes)
	}
	// A wrong namespace must be called out, not silently measured as loss.
	o.Namespace, o.Messages, o.Drain = "other", 5, 200*time.Millisecond
	rep, err = RunFanout(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := metric(t, rep, "fanout.10.lost"); got != 50 || len(rep.Notes) == 0 {
		t.Errorf("wrong namespace: lost %v, notes %v", got, rep.Notes)
	}
}
