package testenv_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sluice/sluice/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestFreePort(t *testing.T) {
	port := testenv.FreePort(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d from FreePort cannot be bound: %v", port, err)
	}
	l.Close()
}

func TestRedisStartsAnswersRestarts(t *testing.T) {
	r := testenv.StartRedis(t)
	if r.Port == 6379 || r.Addr != "127.0.0.1:"+strconv.Itoa(r.Port) {
		t.Fatalf("Addr %q Port %d: want a private port on 127.0.0.1", r.Addr, r.Port)
	}
	c := r.Client(t)
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Fatalf("SET: %v", err)
	}

	r.Stop()
	if _, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
		t.Fatalf("redis still accepts connections on %s after Stop", r.Addr)
	}
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	// The same port, an empty dataset (no persistence), and the client
	// reconnects by itself.
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := c.Do(ctx, c.B().Get().Key("k").Build()).ToString()
		if rueidis.IsRedisNil(err) {
			return
		}
		if err == nil {
			t.Fatalf("GET after restart = %q; want a nil reply (no persistence)", v)
		}
		if time.Now().After(deadline) {
			t.Fatalf("client did not reconnect after restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPostgresStartsSeedRestarts(t *testing.T) {
	pg := testenv.StartPostgres(t)
	if pg.Port == 5432 {
		t.Fatal("private postgres must not use 5432")
	}
	pool := pg.Pool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var id int64
	if err := pool.QueryRow(ctx, "SELECT id FROM oauth_access_tokens WHERE token = 'alice-read-token'").Scan(&id); err != nil || id != 1 {
		t.Fatalf("seed: alice-read-token id = %d, %v; want 1", id, err)
	}

	pg.Stop()
	if err := pool.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded after Stop")
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("Ping after Start: %v", err)
	}
	// Data survives a restart; Exec writes through a fresh connection.
	if tag := pg.Exec(t, "UPDATE lists SET title = $1 WHERE id = 1", "renamed"); tag.RowsAffected() != 1 {
		t.Fatalf("UPDATE affected %d rows", tag.RowsAffected())
	}
	var title string
	if err := pool.QueryRow(ctx, "SELECT title FROM lists WHERE id = 1").Scan(&title); err != nil || title != "renamed" {
		t.Fatalf("title = %q, %v", title, err)
	}
}

func TestSharedServicesStartOnce(t *testing.T) {
	pg1, pg2 := testenv.SharedPostgres(t), testenv.SharedPostgres(t)
	r1, r2 := testenv.SharedRedis(t), testenv.SharedRedis(t)
	if pg1 != pg2 || r1 != r2 {
		t.Fatal("shared services started twice")
	}
	var n int
	if err := pg1.Pool(t).QueryRow(context.Background(), "SELECT count(*) FROM oauth_access_tokens").Scan(&n); err != nil || n != 13 {
		t.Fatalf("seed tokens = %d, %v; want 13", n, err)
	}
	c := r1.Client(t)
	if s, err := c.Do(context.Background(), c.B().Ping().Build()).ToString(); err != nil || s != "PONG" {
		t.Fatalf("PING = %q, %v", s, err)
	}
}
