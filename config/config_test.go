package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// load runs Load in an empty working directory with env (KEY=VALUE) plus
// USER=tester, and fails the test on error.
func load(t *testing.T, env ...string) (*Config, []string) {
	t.Helper()
	c, warnings, err := Load(append([]string{"USER=tester"}, env...), t.TempDir())
	if err != nil {
		t.Fatalf("Load(%q): %v", env, err)
	}
	return c, warnings
}

func loadErr(t *testing.T, env ...string) error {
	t.Helper()
	_, _, err := Load(append([]string{"USER=tester"}, env...), t.TempDir())
	if err == nil {
		t.Fatalf("Load(%q): no error", env)
	}
	return err
}

// isolatePG keeps the real environment's PG* variables and ~/.pgpass out of
// pgx.ParseConfig.
func isolatePG(t *testing.T) {
	for _, k := range []string{"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSSLMODE", "PGAPPNAME", "PGSERVICE", "PGCONNECT_TIMEOUT", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"} {
		t.Setenv(k, "")
	}
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
}

func TestDefaults(t *testing.T) { // §2.2, §17.8
	prod, warnings := load(t, "NODE_ENV=production")
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	dev, _ := load(t)
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"NodeEnv", prod.NodeEnv, "production"},
		{"Production", prod.Production, true},
		{"dev NodeEnv", dev.NodeEnv, "development"},
		{"dev Production", dev.Production, false},
		{"Listen", prod.Listen, Listen{Network: "tcp", Addr: "127.0.0.1:4000"}},
		{"LogLevel", prod.LogLevel, slog.LevelInfo},
		{"dev LogLevel", dev.LogLevel, slog.LevelDebug},
		{"LogSilent", prod.LogSilent, false},
		{"DatabaseURL", prod.DatabaseURL, ""},
		{"DBHost", prod.DBHost, "localhost"},
		{"DBPort", prod.DBPort, 5432},
		{"DBName", prod.DBName, "mastodon_production"},
		{"dev DBName", dev.DBName, "mastodon_development"},
		{"DBUser", prod.DBUser, "mastodon"},
		{"dev DBUser", dev.DBUser, "tester"},
		{"DBPass", prod.DBPass, ""},
		{"DBSSLMode", prod.DBSSLMode, ""},
		{"DBPool", prod.DBPool, 10},
		{"RedisURL", prod.RedisURL, ""},
		{"RedisSentinels", prod.RedisSentinels, []string(nil)},
		{"RedisSentinelPort", prod.RedisSentinelPort, 26379},
		{"RedisHost", prod.RedisHost, "127.0.0.1"},
		{"RedisPort", prod.RedisPort, 6379},
		{"RedisDB", prod.RedisDB, 0},
		{"RedisUsername", prod.RedisUsername, ""},
		{"RedisPassword", prod.RedisPassword, ""},
		{"RedisNamespace", prod.RedisNamespace, ""},
		{"RedisPrefix", prod.RedisPrefix(), ""},
		{"TrustedProxies", prod.TrustedProxies, prefixes("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")},
		{"HeaderTimeout", prod.HeaderTimeout, 15 * time.Second},
		{"KeepAliveTimeout", prod.KeepAliveTimeout, 5 * time.Second},
		{"RelationsTTL", prod.RelationsTTL, 30 * time.Second},
		{"RailsPermissions", prod.RailsPermissions, false},
		{"WSMaxMessage", prod.WSMaxMessage, 1 << 20},
		{"TrustRequestID", prod.TrustRequestID, false},
		{"StatusEndpoints", prod.StatusEndpoints, true},
		{"StatusDetail", prod.StatusDetail, false},
		{"StatusToken", prod.StatusToken, ""},
		{"MaxBacklogBytes", prod.MaxBacklogBytes, 4 << 20},
		{"WriteStallTimeout", prod.WriteStallTimeout, 60 * time.Second},
		{"DrainSeconds", prod.DrainSeconds, 10 * time.Second},
		{"ReplayWindow", prod.ReplayWindow, time.Duration(0)},
		{"MaxConnsPerIP", prod.MaxConnsPerIP, 0},
		{"WSMaxSubscriptions", prod.WSMaxSubscriptions, 0},
		{"WSCompression", prod.WSCompression, false},
		{"HeartbeatInterval", prod.HeartbeatInterval, 15 * time.Second},
		{"WSPingInterval", prod.WSPingInterval, 30 * time.Second},
		{"SubscribedKeyRefresh", prod.SubscribedKeyRefresh, 300 * time.Second},
		{"UnsubscribeLinger", prod.UnsubscribeLinger, 2 * time.Second},
		{"EventLoops", prod.EventLoops, runtime.NumCPU()},
		{"RingSize", prod.RingSize, 4096},
		{"DotenvPath", filepath.Base(prod.DotenvPath), ".env.production"},
		{"dev DotenvPath", filepath.Base(dev.DotenvPath), ".env"},
		{"DotenvLoaded", prod.DotenvLoaded, false},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

func prefixes(list ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(list))
	for i, p := range list {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func TestNodeEnv(t *testing.T) { // §2.2 NODE_ENV
	c, warnings := load(t, "NODE_ENV=staging")
	if c.NodeEnv != "development" || c.Production || c.DBName != "mastodon_development" || c.LogLevel != slog.LevelDebug {
		t.Errorf("staging: %+v", c)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `NODE_ENV "staging"`) {
		t.Errorf("warnings: %q", warnings)
	}
	if _, warnings := load(t, "NODE_ENV="); len(warnings) != 0 {
		t.Errorf("empty NODE_ENV warned: %q", warnings)
	}
}

func TestIntegerVariables(t *testing.T) { // CFG-4a: parseInt(value, 10)
	for _, tc := range []struct {
		value string
		want  int
	}{
		{"5433", 5433},
		{"5433 ", 5433},
		{"5433x", 5433},
		{" +12", 12},
		{"\u00a0\t12", 12},
		{"12.9", 12},
		{"0x10", 0}, // digits "0", then out of range for a port
		{"", 5432},
	} {
		c, _, err := Load([]string{"DB_PORT=" + tc.value}, t.TempDir())
		if tc.want == 0 {
			if err == nil || !strings.Contains(err.Error(), "config: DB_PORT: 0 is out of range (expected 1-65535)") {
				t.Errorf("DB_PORT=%q: err %v", tc.value, err)
			}
			continue
		}
		if err != nil || c.DBPort != tc.want {
			t.Errorf("DB_PORT=%q: %v, %v; want %d", tc.value, c, err, tc.want)
		}
	}
	for _, tc := range []struct{ env, msg string }{
		{"DB_PORT=abc", "Invalid DB_PORT environment variable: abc"},
		{"DB_PORT=+", "Invalid DB_PORT environment variable: +"},
		{"DB_PORT=\u200b1", "Invalid DB_PORT environment variable: \u200b1"}, // U+200B is not JS whitespace
		{"DB_POOL=x10", "Invalid DB_POOL environment variable: x10"},
		{"REDIS_PORT=port", "Invalid REDIS_PORT environment variable: port"},
		{"REDIS_DB=one", "Invalid REDIS_DB environment variable: one"},
	} {
		err := loadErr(t, tc.env)
		var ie *IntError
		if err.Error() != tc.msg || !errors.As(err, &ie) {
			t.Errorf("%s: error %q, want exactly %q", tc.env, err, tc.msg)
		}
	}
	sentinel := []string{"REDIS_SENTINELS=s1", "REDIS_SENTINEL_MASTER=m"}
	if err := loadErr(t, append(sentinel, "REDIS_SENTINEL_PORT=abc")...); err.Error() != "Invalid REDIS_SENTINEL_PORT environment variable: abc" {
		t.Errorf("sentinel port: %v", err)
	}
	if err := loadErr(t, "DB_POOL=0"); !strings.Contains(err.Error(), "DB_POOL: 0 is out of range (expected 1 or more)") {
		t.Errorf("DB_POOL=0: %v", err)
	}
	if err := loadErr(t, "REDIS_DB=-1"); !strings.Contains(err.Error(), "REDIS_DB: -1 is out of range") {
		t.Errorf("REDIS_DB=-1: %v", err)
	}
	// Node parses DB_PORT even when DATABASE_URL is set, but REDIS_PORT and
	// REDIS_DB only when they are used.
	if err := loadErr(t, "DATABASE_URL=postgres://h/db", "DB_PORT=abc"); err.Error() != "Invalid DB_PORT environment variable: abc" {
		t.Errorf("DB_PORT with DATABASE_URL: %v", err)
	}
	load(t, "REDIS_URL=redis://h", "REDIS_PORT=abc", "REDIS_DB=x", "REDIS_SENTINEL_PORT=y")
	load(t, "REDIS_SENTINEL_PORT=y") // sentinels not configured
	c, _ := load(t, append(sentinel, "REDIS_PORT=abc", "REDIS_DB=3")...)
	if c.RedisDB != 3 {
		t.Errorf("sentinel REDIS_DB = %d", c.RedisDB)
	}
}

func TestParseJSInt(t *testing.T) { // CFG-4a
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"5432 ", 5432, true},
		{"5432x", 5432, true},
		{" +12", 12, true},
		{"-7z", -7, true},
		{"\n\t42", 42, true},
		{"\ufeff12", 12, true},
		{"1e3", 1, true},
		{"abc", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"١٢", 0, false},
		{"99999999999999999999", 1<<63 - 1, true},
	} {
		got, ok := parseJSInt(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseJSInt(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestListen(t *testing.T) { // §2.2 PORT/BIND/SOCKET, CFG-5
	for _, tc := range []struct {
		env  []string
		want Listen
		warn string
	}{
		{nil, Listen{"tcp", "127.0.0.1:4000"}, ""},
		{[]string{"PORT=5000"}, Listen{"tcp", "127.0.0.1:5000"}, ""},
		{[]string{"PORT= 5000 "}, Listen{"tcp", "127.0.0.1:5000"}, ""},
		{[]string{"PORT=+5000"}, Listen{"tcp", "127.0.0.1:5000"}, ""},
		{[]string{"PORT=0"}, Listen{"tcp", "127.0.0.1:0"}, ""},
		{[]string{"PORT="}, Listen{"tcp", "127.0.0.1:4000"}, ""},
		{[]string{"BIND=0.0.0.0"}, Listen{"tcp", "0.0.0.0:4000"}, ""},
		{[]string{"BIND=[::]"}, Listen{"tcp", "[::]:4000"}, ""},
		{[]string{"BIND=::"}, Listen{"tcp", "[::]:4000"}, ""},
		{[]string{"BIND=[::1]", "PORT=4001"}, Listen{"tcp", "[::1]:4001"}, ""},
		{[]string{"BIND=fe80::1%eth0"}, Listen{"tcp", "[fe80::1%eth0]:4000"}, ""},
		{[]string{"BIND=localhost"}, Listen{"tcp", "localhost:4000"}, ""},
		{[]string{"BIND="}, Listen{"tcp", ":4000"}, "BIND is set but empty"},
		{[]string{"SOCKET=/run/mastodon/streaming.sock", "PORT=junk", "BIND=junk:"}, Listen{"unix", "/run/mastodon/streaming.sock"}, ""},
		{[]string{"SOCKET=", "PORT=4002"}, Listen{"tcp", "127.0.0.1:4002"}, ""},
		{[]string{"PORT=/run/mastodon/streaming.sock"}, Listen{"unix", "/run/mastodon/streaming.sock"}, "Unix socket path"},
	} {
		c, warnings := load(t, tc.env...)
		if c.Listen != tc.want {
			t.Errorf("%q: Listen = %+v, want %+v", tc.env, c.Listen, tc.want)
		}
		if tc.warn == "" && len(warnings) != 0 || tc.warn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.warn)) {
			t.Errorf("%q: warnings %q, want %q", tc.env, warnings, tc.warn)
		}
	}
	for _, tc := range []struct{ env, msg string }{
		{"PORT=70000", `config: PORT: 70000 is out of range (expected 0-65535)`},
		{"PORT=-1", `config: PORT: -1 is out of range (expected 0-65535)`},
		{"PORT=1e3", `config: PORT: "1e3" is not a port number (expected a whole number 0-65535)`},
		{"PORT=0x1f", `config: PORT: "0x1f" is not a port number`},
		{"BIND=127.0.0.1:4000", `config: BIND: "127.0.0.1:4000" is not an address`},
		{"BIND=[::1]:4000", `config: BIND: "[::1]:4000" is not an address`},
	} {
		if err := loadErr(t, tc.env); !strings.HasPrefix(err.Error(), tc.msg) {
			t.Errorf("%s: %q, want prefix %q", tc.env, err, tc.msg)
		}
	}
}

func TestLogLevel(t *testing.T) { // §2.2 LOG_LEVEL
	for _, tc := range []struct {
		value  string
		want   slog.Level
		silent bool
		warn   bool
	}{
		{"fatal", LevelFatal, false, false},
		{"error", slog.LevelError, false, false},
		{"warn", slog.LevelWarn, false, false},
		{"info", slog.LevelInfo, false, false},
		{"debug", slog.LevelDebug, false, false},
		{"trace", LevelTrace, false, false},
		{"silent", slog.LevelInfo, true, false},
		{"", slog.LevelInfo, false, false},
		{"INFO", slog.LevelInfo, false, true},
		{"verbose", slog.LevelInfo, false, true},
	} {
		c, warnings := load(t, "NODE_ENV=production", "LOG_LEVEL="+tc.value)
		if c.LogLevel != tc.want || c.LogSilent != tc.silent || (len(warnings) > 0) != tc.warn {
			t.Errorf("LOG_LEVEL=%q: level %v silent %v warnings %q", tc.value, c.LogLevel, c.LogSilent, warnings)
		}
	}
}

func TestPGConfigFromDBVariables(t *testing.T) { // §2.2 DB_*, CFG-6
	isolatePG(t)
	c, _ := load(t, "NODE_ENV=production", "DB_HOST=db.internal", "DB_PORT=6432", "DB_NAME=social", "DB_USER=masto", "DB_PASS=it's a \\secret", "DB_POOL=25")
	pc, err := c.PGConfig()
	if err != nil {
		t.Fatal(err)
	}
	cc := pc.ConnConfig
	if cc.Host != "db.internal" || cc.Port != 6432 || cc.Database != "social" || cc.User != "masto" || cc.Password != "it's a \\secret" {
		t.Errorf("conn = %s:%d/%s user %q password %q", cc.Host, cc.Port, cc.Database, cc.User, cc.Password)
	}
	if cc.TLSConfig != nil {
		t.Errorf("DB_SSLMODE unset must be plaintext")
	}
	if v, ok := cc.RuntimeParams["application_name"]; !ok || v != "" {
		t.Errorf("application_name = %q, %v; want empty (CFG-6)", v, ok)
	}
	if cc.ConnectTimeout != 15*time.Second || pc.MaxConns != 25 || pc.MinConns != 0 || pc.MinIdleConns != 0 {
		t.Errorf("timeout %v max %d min %d", cc.ConnectTimeout, pc.MaxConns, pc.MinConns)
	}
	if cc.DefaultQueryExecMode != pgx.QueryExecModeExec {
		t.Errorf("exec mode %v", cc.DefaultQueryExecMode)
	}

	c, _ = load(t, "DB_HOST=/var/run/postgresql") // development
	pc, err = c.PGConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cc := pc.ConnConfig; cc.Host != "/var/run/postgresql" || cc.User != "tester" || cc.Database != "mastodon_development" || cc.Password != "" || pc.MaxConns != 10 {
		t.Errorf("dev socket: host %q user %q db %q password %q max %d", cc.Host, cc.User, cc.Database, cc.Password, pc.MaxConns)
	}
}

func TestPGConfigFromDatabaseURL(t *testing.T) { // §2.2 DATABASE_URL, CFG-6
	isolatePG(t)
	for _, tc := range []struct {
		name                             string
		env                              []string
		host, db, user, password, warned string
		port                             uint16
	}{
		{name: "url wins over DB_*", env: []string{"DATABASE_URL=postgres://u:pw@pg.example:5433/live", "DB_HOST=ignored", "DB_NAME=ignored", "DB_USER=ignored", "DB_PASS=other", "DB_SSLMODE=verify-ca"},
			host: "pg.example", port: 5433, db: "live", user: "u", password: "pw"},
		{name: "DB_PASS fills a missing password", env: []string{"DATABASE_URL=postgresql://u@pg.example/live", "DB_PASS=fromenv"},
			host: "pg.example", port: 5432, db: "live", user: "u", password: "fromenv"},
		{name: "DB_PASS fills an empty password", env: []string{"DATABASE_URL=postgresql://u:@pg.example/live", "DB_PASS=fromenv"},
			host: "pg.example", port: 5432, db: "live", user: "u", password: "fromenv"},
		{name: "password in the query", env: []string{"DATABASE_URL=postgres://u@pg.example/live?password=q", "DB_PASS=fromenv"},
			host: "pg.example", port: 5432, db: "live", user: "u", password: "q"},
		{name: "encoded password", env: []string{"DATABASE_URL=postgres://u:p%40ss%2Fw@pg.example/live"},
			host: "pg.example", port: 5432, db: "live", user: "u", password: "p@ss/w"},
		{name: "Rails parameters dropped", env: []string{"DATABASE_URL=postgres://u:pw@pg.example/live?pool=25&prepared_statements=false&application_name=rails&connect_timeout=2"},
			host: "pg.example", port: 5432, db: "live", user: "u", password: "pw", warned: "ignoring query parameters pool, prepared_statements"},
		{name: "socket directory in the query", env: []string{"DATABASE_URL=postgres:///live?host=/var/run/postgresql&user=u"},
			host: "/var/run/postgresql", port: 5432, db: "live", user: "u"},
		{name: "pg-connection-string socket form", env: []string{"DATABASE_URL=/var/run/postgresql live", "DB_PASS=pw"},
			host: "/var/run/postgresql", port: 5432, db: "live", user: "tester", password: "pw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, warnings := load(t, tc.env...)
			pc, err := c.PGConfig()
			if err != nil {
				t.Fatal(err)
			}
			cc := pc.ConnConfig
			if cc.Host != tc.host || cc.Port != tc.port || cc.Database != tc.db || (tc.user != "tester" && cc.User != tc.user) || cc.Password != tc.password {
				t.Errorf("got %s:%d/%s user %q password %q", cc.Host, cc.Port, cc.Database, cc.User, cc.Password)
			}
			if cc.RuntimeParams["application_name"] != "" || cc.ConnectTimeout != 15*time.Second || pc.MaxConns != 10 {
				t.Errorf("CFG-6: application_name %q timeout %v max %d", cc.RuntimeParams["application_name"], cc.ConnectTimeout, pc.MaxConns)
			}
			for k := range cc.RuntimeParams {
				if k != "application_name" {
					t.Errorf("runtime parameter %q would reach the server", k)
				}
			}
			if tc.warned == "" && len(warnings) != 0 || tc.warned != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.warned)) {
				t.Errorf("warnings %q, want %q", warnings, tc.warned)
			}
		})
	}
	for _, tc := range []struct{ url, msg string }{
		{"mysql://u:secret@h/db", `config: DATABASE_URL: scheme "mysql" is not supported`},
		{"postgres://u:secret@h:x/db", `config: DATABASE_URL: invalid port ":x" after host`},
		{"postgres://u:secret@h:70000/db", `config: DATABASE_URL: invalid port "70000" (expected 1-65535)`},
		{"postgres://u:se%zzcret@h/db", `config: DATABASE_URL: not a valid URL`},
	} {
		err := loadErr(t, "DATABASE_URL="+tc.url)
		if !strings.HasPrefix(err.Error(), tc.msg) || strings.Contains(err.Error(), "cret") {
			t.Errorf("%s: %q, want prefix %q and no password", tc.url, err, tc.msg)
		}
	}
}

func TestDBSSLMode(t *testing.T) { // §2.2 DB_SSLMODE
	isolatePG(t)
	type want struct{ tls, verify, fallback bool }
	for _, tc := range []struct {
		mode string
		want want
	}{
		{"", want{}},
		{"disable", want{}},
		{"prefer", want{tls: true, fallback: true}},
		{"require", want{tls: true}},
		{"no-verify", want{tls: true}},
		{"verify-full", want{tls: true, verify: true}},
	} {
		c, _ := load(t, "DB_HOST=pg.example", "DB_SSLMODE="+tc.mode)
		pc, err := c.PGConfig()
		if err != nil {
			t.Fatalf("%q: %v", tc.mode, err)
		}
		cc := pc.ConnConfig
		got := want{tls: cc.TLSConfig != nil, fallback: len(cc.Fallbacks) > 0}
		got.verify = got.tls && !cc.TLSConfig.InsecureSkipVerify && cc.TLSConfig.ServerName == "pg.example"
		if got != tc.want {
			t.Errorf("DB_SSLMODE=%q: %+v, want %+v", tc.mode, got, tc.want)
		}
	}
	if err := loadErr(t, "DB_SSLMODE=verify-ca"); !strings.Contains(err.Error(), "config: DB_SSLMODE: verify-ca needs a CA certificate") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("verify-ca: %v", err)
	}
	if err := loadErr(t, "DB_SSLMODE=on"); err.Error() != `config: DB_SSLMODE: unknown mode "on" (expected disable, prefer, require, no-verify or verify-full)` {
		t.Errorf("bogus: %v", err)
	}
	c, _ := load(t, "DATABASE_URL=postgres://u@pg.example/db?sslmode=no-verify")
	pc, err := c.PGConfig()
	if err != nil || pc.ConnConfig.TLSConfig == nil || !pc.ConnConfig.TLSConfig.InsecureSkipVerify || len(pc.ConnConfig.Fallbacks) != 0 {
		t.Errorf("DATABASE_URL sslmode=no-verify: %v", err)
	}
}

func TestRedisURL(t *testing.T) { // §2.2 REDIS_URL
	for _, tc := range []struct {
		url, addr, user, pass string
		db                    int
		tls, unix             bool
	}{
		{url: "redis://redis.internal", addr: "redis.internal:6379"},
		{url: "redis://:pw@redis.internal:6380/2", addr: "redis.internal:6380", pass: "pw", db: 2},
		{url: "redis://default:p%40ss@10.0.0.5:6379/0", addr: "10.0.0.5:6379", user: "default", pass: "p@ss"},
		{url: "redis://[::1]:6390", addr: "[::1]:6390"},
		{url: "redis://redis.internal?db=4&password=q", addr: "redis.internal:6379", pass: "q", db: 4},
		{url: "rediss://u:p@cache.example:6380", addr: "cache.example:6380", user: "u", pass: "p", tls: true},
		{url: "unix:///run/redis/redis.sock?db=3", addr: "/run/redis/redis.sock", db: 3, unix: true},
		{url: "unix:///run/redis/redis.sock", addr: "/run/redis/redis.sock", unix: true},
	} {
		c, _ := load(t, "REDIS_URL="+tc.url, "REDIS_HOST=ignored", "REDIS_PASSWORD=ignored", "REDIS_SENTINELS=s", "REDIS_SENTINEL_MASTER=m", "REDIS_NAMESPACE=ns")
		opt, err := c.RedisOptions()
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if !slices.Equal(opt.InitAddress, []string{tc.addr}) || opt.Username != tc.user || opt.Password != tc.pass || opt.SelectDB != tc.db {
			t.Errorf("%s: addr %q user %q pass %q db %d", tc.url, opt.InitAddress, opt.Username, opt.Password, opt.SelectDB)
		}
		if (opt.TLSConfig != nil) != tc.tls || (opt.DialCtxFn != nil) != tc.unix || opt.Sentinel.MasterSet != "" {
			t.Errorf("%s: tls %v unix %v sentinel %q", tc.url, opt.TLSConfig != nil, opt.DialCtxFn != nil, opt.Sentinel.MasterSet)
		}
		if tc.tls && (opt.TLSConfig.ServerName != "cache.example" || opt.TLSConfig.InsecureSkipVerify) {
			t.Errorf("%s: TLS must verify cache.example", tc.url)
		}
		if !opt.DisableCache || opt.ConnWriteTimeout != redisWriteTimeout || !opt.ForceSingleClient {
			t.Errorf("%s: DisableCache %v ConnWriteTimeout %v ForceSingleClient %v", tc.url, opt.DisableCache, opt.ConnWriteTimeout, opt.ForceSingleClient)
		}
		if c.RedisPrefix() != "ns:" {
			t.Errorf("REDIS_NAMESPACE must still apply with REDIS_URL")
		}
	}
	for _, tc := range []struct{ url, msg string }{
		{"redis://:secret@h:x", `config: REDIS_URL: invalid port ":x" after host`},
		{"redis://:secret@h:70000", `config: REDIS_URL: invalid port "70000" (expected 1-65535)`},
		{"http://:secret@h", `config: REDIS_URL: invalid URL scheme: http`},
		{"redis://:secret@h/x", `config: REDIS_URL: invalid database number: "x"`},
		{"redis://:sec%zzret@h", `config: REDIS_URL: not a valid URL`},
	} {
		err := loadErr(t, "REDIS_URL="+tc.url)
		if !strings.HasPrefix(err.Error(), tc.msg) || strings.Contains(err.Error(), "ret") {
			t.Errorf("%s: %q, want prefix %q and no password", tc.url, err, tc.msg)
		}
	}
}

func TestRedisDirect(t *testing.T) { // §2.2 REDIS_HOST/PORT/DB
	for _, tc := range []struct {
		env  []string
		addr string
		db   int
	}{
		{nil, "127.0.0.1:6379", 0},
		{[]string{"REDIS_HOST=redis.internal", "REDIS_PORT=6380", "REDIS_DB=1"}, "redis.internal:6380", 1},
		{[]string{"REDIS_HOST=::1"}, "[::1]:6379", 0},
		{[]string{"REDIS_HOST="}, "localhost:6379", 0},
		{[]string{"REDIS_SENTINELS=s1"}, "127.0.0.1:6379", 0},      // no master: not sentinel mode
		{[]string{"REDIS_SENTINEL_MASTER=m"}, "127.0.0.1:6379", 0}, // no sentinels
	} {
		c, _ := load(t, append(tc.env, "REDIS_USERNAME=u", "REDIS_PASSWORD=p")...)
		opt, err := c.RedisOptions()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(opt.InitAddress, []string{tc.addr}) || opt.SelectDB != tc.db || opt.Username != "u" || opt.Password != "p" || opt.Sentinel.MasterSet != "" {
			t.Errorf("%q: addr %q db %d user %q pass %q", tc.env, opt.InitAddress, opt.SelectDB, opt.Username, opt.Password)
		}
		if !opt.DisableCache || opt.ConnWriteTimeout == 0 || !opt.ForceSingleClient {
			t.Errorf("%q: client options %+v", tc.env, opt)
		}
	}
}

func TestRedisSentinels(t *testing.T) { // §2.2 REDIS_SENTINELS
	base := []string{"REDIS_SENTINELS=s1, s2:26380,s3:1:2,", "REDIS_SENTINEL_MASTER=mymaster", "REDIS_USERNAME=u", "REDIS_PASSWORD=p", "REDIS_DB=2"}
	c, _ := load(t, base...)
	opt, err := c.RedisOptions()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"s1:26379", "s2:26380", "s3:1"}; !slices.Equal(opt.InitAddress, want) {
		t.Errorf("sentinels %q, want %q", opt.InitAddress, want)
	}
	if opt.Sentinel.MasterSet != "mymaster" || opt.Sentinel.Username != "u" || opt.Sentinel.Password != "p" || opt.Username != "u" || opt.Password != "p" || opt.SelectDB != 2 || opt.ForceSingleClient || !opt.DisableCache {
		t.Errorf("options %+v", opt)
	}

	c, _ = load(t, append(base, "REDIS_SENTINEL_PORT=26000", "REDIS_SENTINEL_USERNAME=su", "REDIS_SENTINEL_PASSWORD=")...)
	opt, _ = c.RedisOptions()
	if opt.InitAddress[0] != "s1:26000" || opt.Sentinel.Username != "su" || opt.Sentinel.Password != "" {
		t.Errorf("explicit sentinel settings: %q %q %q (set-but-empty password means none, like Node's ??)", opt.InitAddress, opt.Sentinel.Username, opt.Sentinel.Password)
	}

	c, _ = load(t, append(base, "REDIS_URL=redis://winner")...)
	if opt, _ := c.RedisOptions(); opt.Sentinel.MasterSet != "" || opt.InitAddress[0] != "winner:6379" {
		t.Errorf("REDIS_URL must win over sentinels: %+v", opt)
	}
	for _, tc := range []struct{ list, msg string }{
		{"s1:x", `config: REDIS_SENTINELS: invalid port "x" in "s1:x" (expected 1-65535)`},
		{":26379", `config: REDIS_SENTINELS: entry ":26379" has no host`},
		{",", `config: REDIS_SENTINELS: no sentinel in ","`},
	} {
		if err := loadErr(t, "REDIS_SENTINELS="+tc.list, "REDIS_SENTINEL_MASTER=m"); !strings.HasPrefix(err.Error(), tc.msg) {
			t.Errorf("%q: %q, want prefix %q", tc.list, err, tc.msg)
		}
	}
}

func TestRedisNamespace(t *testing.T) { // STR-3, STR-4
	for _, tc := range []struct{ env, prefix string }{
		{"", ""},
		{"REDIS_NAMESPACE=", ""},
		{"REDIS_NAMESPACE=mastodon", "mastodon:"},
	} {
		c, _ := load(t, tc.env)
		if c.RedisPrefix() != tc.prefix {
			t.Errorf("%q: prefix %q, want %q", tc.env, c.RedisPrefix(), tc.prefix)
		}
	}
}

func TestTrustedProxies(t *testing.T) { // LOG-5
	c, _ := load(t, "TRUSTED_PROXY_IP=10.1.2.3, 192.168.0.0/16  linklocal,10.0.0.0/255.0.0.0,::ffff:172.20.0.1,2001:db8::/32")
	want := prefixes("10.1.2.3/32", "192.168.0.0/16", "169.254.0.0/16", "fe80::/10", "10.0.0.0/8", "172.20.0.1/32", "2001:db8::/32")
	if !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Errorf("got %v, want %v", c.TrustedProxies, want)
	}
	for _, bad := range []string{"bogus", "10.0.0.0/33", "10.0.0.0/255.0.255.0"} {
		if err := loadErr(t, "TRUSTED_PROXY_IP="+bad); !strings.HasPrefix(err.Error(), fmt.Sprintf("config: TRUSTED_PROXY_IP: invalid entry %q", bad)) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestSluiceVariables(t *testing.T) { // §17.8 and the tuning knobs
	c, warnings := load(t,
		"SLUICE_HEADER_TIMEOUT=5s", "SLUICE_RELATIONS_TTL=0", "SLUICE_RAILS_PERMISSIONS=true",
		"SLUICE_WS_MAX_MESSAGE=64KiB", "SLUICE_TRUST_REQUEST_ID=1", "SLUICE_STATUS_ENDPOINTS=false",
		"SLUICE_STATUS_DETAIL=yes", "SLUICE_STATUS_TOKEN=tok", "SLUICE_MAX_BACKLOG_BYTES=512KiB",
		"SLUICE_WRITE_STALL_TIMEOUT=2.5", "SLUICE_DRAIN_SECONDS=0", "SLUICE_REPLAY_WINDOW=60s",
		"SLUICE_MAX_CONNS_PER_IP=100", "SLUICE_WS_MAX_SUBSCRIPTIONS=20", "SLUICE_WS_COMPRESSION=on",
		"SLUICE_HEARTBEAT_INTERVAL=200ms", "SLUICE_WS_PING_INTERVAL=1s", "SLUICE_SUBSCRIBED_REFRESH=360s",
		"SLUICE_UNSUBSCRIBE_LINGER=0", "SLUICE_EVENT_LOOPS=3", "SLUICE_RING_SIZE=16",
	)
	if len(warnings) != 0 {
		t.Errorf("warnings %q", warnings)
	}
	got := []any{c.HeaderTimeout, c.RelationsTTL, c.RailsPermissions, c.WSMaxMessage, c.TrustRequestID, c.StatusEndpoints,
		c.StatusDetail, c.StatusToken, c.MaxBacklogBytes, c.WriteStallTimeout, c.DrainSeconds, c.ReplayWindow,
		c.MaxConnsPerIP, c.WSMaxSubscriptions, c.WSCompression, c.HeartbeatInterval, c.WSPingInterval,
		c.SubscribedKeyRefresh, c.UnsubscribeLinger, c.EventLoops, c.RingSize}
	want := []any{5 * time.Second, time.Duration(0), true, 64 << 10, true, false,
		true, "tok", 512 << 10, 2500 * time.Millisecond, time.Duration(0), 60 * time.Second,
		100, 20, true, 200 * time.Millisecond, time.Second,
		360 * time.Second, time.Duration(0), 3, 16}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	for _, tc := range []struct{ env, msg string }{
		{"SLUICE_MAX_BACKLOG_BYTES=4MB", `config: SLUICE_MAX_BACKLOG_BYTES: invalid size "4MB" (expected a byte count or a number with KiB, MiB or GiB, e.g. 4MiB)`},
		{"SLUICE_MAX_BACKLOG_BYTES=4096", ""},
		{"SLUICE_MAX_BACKLOG_BYTES=4 MiB", ""},
		{"SLUICE_WS_MAX_MESSAGE=2GiB", `config: SLUICE_WS_MAX_MESSAGE: 2GiB is out of range`},
		{"SLUICE_HEARTBEAT_INTERVAL=20s", `config: SLUICE_HEARTBEAT_INTERVAL: 20s is too long (at most 15s, SSE-7)`},
		{"SLUICE_HEARTBEAT_INTERVAL=0", `config: SLUICE_HEARTBEAT_INTERVAL: 0s is too short`},
		{"SLUICE_SUBSCRIBED_REFRESH=361s", `config: SLUICE_SUBSCRIBED_REFRESH: 6m1s is too long (at most 6m0s, STR-8)`},
		{"SLUICE_UNSUBSCRIBE_LINGER=6s", `config: SLUICE_UNSUBSCRIBE_LINGER: 6s is too long (at most 5s, RED-2)`},
		{"SLUICE_UNSUBSCRIBE_LINGER=-1s", `config: SLUICE_UNSUBSCRIBE_LINGER: -1s is too short`},
		{"SLUICE_HEADER_TIMEOUT=soon", `config: SLUICE_HEADER_TIMEOUT: invalid duration "soon" (expected e.g. 15s, 500ms, or a number of seconds)`},
		{"SLUICE_RING_SIZE=1000", `config: SLUICE_RING_SIZE: 1000 is not a power of two (try 1024)`},
		{"SLUICE_EVENT_LOOPS=0", `config: SLUICE_EVENT_LOOPS: 0 is out of range (expected 1-4096)`},
		{"SLUICE_EVENT_LOOPS=four", `config: SLUICE_EVENT_LOOPS: invalid number "four"`},
		{"SLUICE_WS_COMPRESSION=maybe", `config: SLUICE_WS_COMPRESSION: invalid boolean "maybe" (expected true or false)`},
	} {
		_, _, err := Load([]string{tc.env}, t.TempDir())
		if tc.msg == "" && err != nil || tc.msg != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.msg)) {
			t.Errorf("%s: %v, want %q", tc.env, err, tc.msg)
		}
	}
}

func TestUnknownVariables(t *testing.T) { // CFG-4
	_, warnings := load(t, "STREAMING_CLUSTER_NUM=4", "STREAMING_API_BASE_URL=wss://x", "WHITELIST_MODE=true", "SLUICE_HEARTBEAT=1", "RANDOM=1")
	if len(warnings) != 2 || !strings.Contains(warnings[0], "STREAMING_CLUSTER_NUM has no effect") || !strings.Contains(warnings[1], "SLUICE_HEARTBEAT is not a Sluice variable") {
		t.Errorf("warnings %q", warnings)
	}
}

func TestBindFlags(t *testing.T) { // flag > env > dotenv > default
	dir := t.TempDir()
	write(t, filepath.Join(dir, ".env"), "DB_POOL=3\nSLUICE_RING_SIZE=64\n")
	parse := func(env []string, args ...string) (*Config, error) {
		c, _, err := Load(env, dir)
		if err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("sluice", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.BindFlags(fs)
		return c, fs.Parse(args)
	}
	c, err := parse([]string{"PORT=5000", "DB_POOL=5"}, "-port", "6000", "-db-pool=7", "-heartbeat-interval", "1s", "-ws-compression", "-log-level", "trace")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen.Addr != "127.0.0.1:6000" || c.DBPool != 7 || c.HeartbeatInterval != time.Second || !c.WSCompression || c.LogLevel != LevelTrace || c.RingSize != 64 {
		t.Errorf("flags not applied: %+v", c)
	}
	c, _ = parse([]string{"SOCKET=/run/s.sock"}, "-port", "6001")
	if c.Listen != (Listen{"tcp", "127.0.0.1:6001"}) {
		t.Errorf("-port must beat SOCKET from the environment: %+v", c.Listen)
	}
	c, _ = parse(nil, "-socket", "/run/f.sock", "-port", "6002")
	if c.Listen != (Listen{"unix", "/run/f.sock"}) {
		t.Errorf("-socket must beat -port: %+v", c.Listen)
	}
	c, _ = parse(nil, "-status-endpoints=false", "-redis-url", "redis://flag:6390", "-database-url", "postgres://flag/db")
	if opt, _ := c.RedisOptions(); c.StatusEndpoints || opt.InitAddress[0] != "flag:6390" || c.DatabaseURL != "postgres://flag/db" {
		t.Errorf("flags not applied: %+v", c)
	}
	if _, err := parse(nil, "-db-pool", "many"); err == nil || !strings.Contains(err.Error(), "Invalid DB_POOL environment variable: many") {
		t.Errorf("bad flag: %v", err)
	}
	if _, err := parse(nil, "-status-token", "x"); err == nil {
		t.Errorf("secrets must not have flags")
	}
}

func TestUsage(t *testing.T) {
	var b bytes.Buffer
	Usage(&b)
	out := b.String()
	for _, name := range []string{
		"NODE_ENV", "LOG_LEVEL", "PORT", "BIND", "SOCKET", "DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASS",
		"DB_SSLMODE", "DB_POOL", "REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_SENTINEL_PORT",
		"REDIS_SENTINEL_USERNAME", "REDIS_SENTINEL_PASSWORD", "REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_USERNAME",
		"REDIS_PASSWORD", "REDIS_NAMESPACE", "TRUSTED_PROXY_IP",
		"SLUICE_DOTENV", "SLUICE_HEADER_TIMEOUT", "SLUICE_RELATIONS_TTL", "SLUICE_RAILS_PERMISSIONS", "SLUICE_WS_MAX_MESSAGE",
		"SLUICE_TRUST_REQUEST_ID", "SLUICE_STATUS_ENDPOINTS", "SLUICE_STATUS_DETAIL", "SLUICE_STATUS_TOKEN",
		"SLUICE_MAX_BACKLOG_BYTES", "SLUICE_WRITE_STALL_TIMEOUT", "SLUICE_DRAIN_SECONDS", "SLUICE_REPLAY_WINDOW",
		"SLUICE_MAX_CONNS_PER_IP", "SLUICE_WS_MAX_SUBSCRIPTIONS", "SLUICE_WS_COMPRESSION",
		"SLUICE_EVENT_LOOPS", "SLUICE_RING_SIZE", "SLUICE_HEARTBEAT_INTERVAL", "SLUICE_WS_PING_INTERVAL",
		"SLUICE_SUBSCRIBED_REFRESH", "SLUICE_UNSUBSCRIBE_LINGER",
	} {
		if !strings.Contains(out, "\n  "+name+" ") {
			t.Errorf("Usage does not list %s", name)
		}
	}
	if !strings.Contains(out, "-heartbeat-interval") || !strings.Contains(out, "loopback,uniquelocal") {
		t.Errorf("Usage:\n%s", out)
	}
}

func TestStringHidesSecrets(t *testing.T) {
	c, _ := load(t, "DATABASE_URL=postgres://u:dbsecret@h/db?password=qsecret", "REDIS_URL=redis://:redissecret@r:6379/1", "SLUICE_STATUS_TOKEN=tokensecret")
	for _, s := range []string{c.String(), fmt.Sprint(c), slog.Any("cfg", c).Value.Resolve().String()} {
		if strings.Contains(s, "secret") || !strings.Contains(s, "h/db") || !strings.Contains(s, "r:6379") {
			t.Errorf("%s", s)
		}
	}
	c, _ = load(t, "DB_PASS=dbsecret", "REDIS_PASSWORD=redissecret")
	if s := c.String(); strings.Contains(s, "secret") {
		t.Errorf("%s", s)
	}
}

func TestLoadErrorsNameTheFix(t *testing.T) { // STYLE 14
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".env"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, err := Load(nil, dir)
	if err == nil || !strings.Contains(err.Error(), "SLUICE_DOTENV") {
		t.Errorf("directory .env: %v", err)
	}
	big := filepath.Join(dir, "big.env")
	write(t, big, strings.Repeat("#", maxDotenvBytes+1))
	if _, _, err := Load([]string{"SLUICE_DOTENV=" + big}, dir); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("big file: %v", err)
	}
}
