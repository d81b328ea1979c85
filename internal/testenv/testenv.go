// Package testenv starts hermetic, private test services: a redis-server and
// a PostgreSQL cluster loaded with the project's fixture schema and seed.
// Tests never touch the machine's shared Redis (6379) or PostgreSQL (5432):
// every service listens on 127.0.0.1 on a free port and lives in its own
// temporary directory.
//
// Two ways to use it.
//
// Private services: StartRedis(t) and StartPostgres(t) start a fresh server
// for one test and stop it in t.Cleanup. Use these for fault injection (Stop,
// Start, Restart) so that no other test sees the outage.
//
// Shared services: one PostgreSQL (initdb costs about a second) and one Redis
// for the whole test binary. The package's TestMain hands control to Main,
// and tests ask for the services they need; each starts on first use and
// stops when the tests are done:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
//	func TestLookup(t *testing.T) {
//		pg := testenv.SharedPostgres(t)
//		pool := pg.Pool(t)
//		...
//	}
//
// Tests that change shared rows restore them (t.Cleanup), and tests that stop
// a shared service start it again before returning.
//
// A test is skipped (with a message naming the missing tool) only when
// redis-server or pg_config is not installed, unless SLUICE_TESTENV_REQUIRE
// is set to a non-empty value, in which case that is a failure too (for CI,
// where a silent skip would hide a broken machine). Any other start-up
// problem is a test failure.
//
// All functions and methods may be called from any goroutine.
package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// FixturesEnv names the environment variable that overrides the directory
// holding schema.sql and seed.sql.
const FixturesEnv = "SLUICE_FIXTURES"

// RequireEnv names the environment variable that turns a missing
// redis-server or pg_config into a failure instead of a skip.
const RequireEnv = "SLUICE_TESTENV_REQUIRE"

// errMissingTool marks start-up failures that only mean "this machine lacks
// the binary": the caller skips instead of failing.
type errMissingTool struct{ msg string }

func (e *errMissingTool) Error() string { return e.msg }

// check turns a start-up error into Skip (missing tool) or Fatal.
func check(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	var missing *errMissingTool
	if errors.As(err, &missing) && os.Getenv(RequireEnv) == "" {
		tb.Skip(missing.msg)
	}
	tb.Fatal(err)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it; the Start functions retry
// with a new port when that happens.
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testenv: no free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FixturesDir returns the directory holding schema.sql and seed.sql:
// $SLUICE_FIXTURES when set (make it absolute: go test runs each package in
// its own directory), otherwise ../shared/fixtures relative to the
// directory holding go.mod, found by walking up from the working directory
// (go test runs in the package directory; CI clones shared/ beside the repo).
func FixturesDir() (string, error) {
	if dir := os.Getenv(FixturesEnv); dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: fixtures: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			fixtures := filepath.Join(filepath.Dir(dir), "shared", "fixtures")
			if _, err := os.Stat(filepath.Join(fixtures, "schema.sql")); err != nil {
				return "", fmt.Errorf("testenv: fixtures: no schema.sql in %s (module root %s); set %s to the fixtures directory", fixtures, dir, FixturesEnv)
			}
			return fixtures, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("testenv: fixtures: no go.mod above %s; set %s to the fixtures directory", wd, FixturesEnv)
		}
	}
}

// shared holds the services of the test binary; see Main.
var shared struct {
	active atomic.Bool // set while Main runs the tests

	mu       sync.Mutex
	redis    *Redis
	redisErr error
	pg       *Postgres
	pgErr    error
}

// Main runs the package's tests and then stops every service that
// SharedRedis and SharedPostgres started. It never returns: it exits with
// the tests' status. Call it as the whole body of TestMain.
func Main(m *testing.M) {
	shared.active.Store(true)
	code := m.Run()
	shared.active.Store(false)

	shared.mu.Lock()
	if shared.redis != nil {
		shared.redis.close()
	}
	if shared.pg != nil {
		shared.pg.close()
	}
	shared.mu.Unlock()
	os.Exit(code)
}

func requireMain(tb testing.TB, what string) {
	tb.Helper()
	if !shared.active.Load() {
		tb.Fatalf("testenv: %s needs `func TestMain(m *testing.M) { testenv.Main(m) }` in this package, which stops the server after the tests", what)
	}
}

// SharedRedis returns the test binary's Redis, starting it on first use.
// It requires Main (see the package doc).
func SharedRedis(tb testing.TB) *Redis {
	tb.Helper()
	requireMain(tb, "SharedRedis")
	shared.mu.Lock()
	if shared.redis == nil && shared.redisErr == nil {
		shared.redis, shared.redisErr = startRedis()
	}
	r, err := shared.redis, shared.redisErr
	shared.mu.Unlock()
	check(tb, err)
	return r
}

// SharedPostgres returns the test binary's PostgreSQL with the fixtures
// loaded, starting it on first use. It requires Main (see the package doc).
func SharedPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	requireMain(tb, "SharedPostgres")
	shared.mu.Lock()
	if shared.pg == nil && shared.pgErr == nil {
		shared.pg, shared.pgErr = startPostgres()
	}
	p, err := shared.pg, shared.pgErr
	shared.mu.Unlock()
	check(tb, err)
	return p
}
