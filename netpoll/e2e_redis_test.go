package netpoll_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluice/sluice/internal/testenv"
)

// A Redis that refuses writes (here: out of memory under noeviction) still
// delivers PUBLISH; refused subscribed: keys must not stop the subscriber
// (RED-1, LIFE-3). The key is written once Redis accepts writes again.
func TestRedisRefusingWritesStillDelivers_RED1(t *testing.T) {
	rs := testenv.StartRedis(t)
	admin := rs.Client(t)
	ctx := context.Background()
	for _, kv := range [][2]string{{"maxmemory-policy", "noeviction"}, {"maxmemory", "1"}} {
		if err := admin.Do(ctx, admin.B().ConfigSet().ParameterValue().ParameterValue(kv[0], kv[1]).Build()).Error(); err != nil {
			t.Fatalf("CONFIG SET %s: %v", kv[0], err)
		}
	}
	s := startServer(t, func(c *serverConfig) { c.redis = rs })
	c := s.openStream("/api/v1/streaming/user?access_token=alice-read-token")
	s.waitSubscribed("timeline:109000000000000001")
	s.publish("timeline:109000000000000001", `{"event":"delete","payload":"7"}`)
	c.expectBody("event: delete\ndata: 7\n\n")

	key := s.ns("subscribed:timeline:109000000000000001")
	if n, _ := admin.Do(ctx, admin.B().Exists().Key(key).Build()).AsInt64(); n != 0 {
		t.Fatalf("key written although Redis refuses writes")
	}
	if err := admin.Do(ctx, admin.B().ConfigSet().ParameterValue().ParameterValue("maxmemory", "0").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscribed: key retried", func() bool {
		n, _ := admin.Do(ctx, admin.B().Exists().Key(key).Build()).AsInt64()
		return n == 1
	})
}

// SYS-1, §3.2 step 4: the system channels listen from the scope check on,
// so a kill that arrives while the list lookup is still running ends the
// response as soon as it starts, instead of being lost.
func TestKillDuringGate_SYS1(t *testing.T) {
	pg := testenv.StartPostgres(t)
	s := startServer(t, func(c *serverConfig) { c.pg = pg })
	ctx := context.Background()
	pool := pg.Pool(t)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE lists IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s.Addr)
	c.get("/api/v1/streaming/list?list=1&access_token=alice-read-token")
	s.waitSubscribed("timeline:access_token:1") // the gate is now waiting on the lock
	s.publish("timeline:access_token:1", `{"event":"kill"}`)
	time.Sleep(50 * time.Millisecond)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if h := c.head(); h != sseHead {
		t.Fatalf("head:\n got %q", h)
	}
	c.expectBody(":)\n")
	if s, err := c.chunk(5 * time.Second); err != nil || s != "" {
		t.Fatalf("want the terminating chunk, got %q, %v", s, err)
	}
}
