// Package config resolves Sluice's settings from the process environment, a
// dotenv file and command-line flags, with the variable names and defaults
// of Mastodon's streaming server (§2) plus the SLUICE_ extensions (§17.8).
// Precedence: flag > process environment > dotenv file > default.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"
)

// Config is the resolved configuration. Load returns it; BindFlags lets
// command-line flags override it. It holds secrets (DBPass, RedisPassword,
// StatusToken, and the URLs): log it only through its LogValue/String
// methods, which leave them out.
type Config struct {
	// NodeEnv is "production" or "development". NODE_ENV is read from the
	// process environment only (Node picks the dotenv file by it before
	// loading that file); values other than those two, or empty, mean
	// development, with a warning for the others.
	NodeEnv string
	// Production is NodeEnv == "production".
	Production bool
	// DotenvPath is the dotenv file considered (CFG-1): SLUICE_DOTENV, or
	// .env.production / .env in the working directory.
	DotenvPath string
	// DotenvLoaded reports whether that file existed.
	DotenvLoaded bool

	// Listen is derived from SOCKET, PORT and BIND (§2.2, CFG-5).
	Listen Listen
	// LogLevel is LOG_LEVEL (default info in production, debug otherwise);
	// trace and fatal are LevelTrace and LevelFatal.
	LogLevel slog.Level
	// LogSilent is LOG_LEVEL=silent: log nothing.
	LogSilent bool

	// DatabaseURL is DATABASE_URL. When set it replaces DB_HOST, DB_PORT,
	// DB_NAME, DB_USER and DB_SSLMODE; DB_PASS fills in a missing password.
	DatabaseURL string
	// DBHost is DB_HOST (default localhost); a leading '/' names a Unix
	// socket directory.
	DBHost string
	// DBPort is DB_PORT (default 5432), parsed per CFG-4a even when
	// DATABASE_URL is set, as Node does.
	DBPort int
	// DBName is DB_NAME (default mastodon_production / mastodon_development).
	DBName string
	// DBUser is DB_USER (default mastodon in production, the OS user — USER,
	// else the account running Sluice — in development).
	DBUser string
	// DBPass is DB_PASS (default none).
	DBPass string
	// DBSSLMode is DB_SSLMODE as given; PGConfig applies its libpq meaning.
	DBSSLMode string
	// DBPool is DB_POOL (default 10): the pool never opens more (CFG-6).
	DBPool int

	// RedisURL is REDIS_URL: when set, the only source of address and
	// credentials.
	RedisURL string
	// RedisSentinels is REDIS_SENTINELS as host:port entries, the port
	// defaulting to RedisSentinelPort. Used only with RedisSentinelMaster and
	// no RedisURL.
	RedisSentinels []string
	// RedisSentinelMaster is REDIS_SENTINEL_MASTER.
	RedisSentinelMaster string
	// RedisSentinelPort is REDIS_SENTINEL_PORT (default 26379).
	RedisSentinelPort int
	// RedisSentinelUsername and RedisSentinelPassword authenticate to the
	// sentinels; unset means REDIS_USERNAME / REDIS_PASSWORD (set but empty
	// means none, like Node's `??`).
	RedisSentinelUsername string
	RedisSentinelPassword string
	// RedisHost is REDIS_HOST (default 127.0.0.1; set but empty means
	// localhost, as in Node).
	RedisHost string
	// RedisPort is REDIS_PORT (default 6379).
	RedisPort int
	// RedisDB is REDIS_DB (default 0), for direct and sentinel connections.
	RedisDB int
	// RedisUsername and RedisPassword are REDIS_USERNAME and REDIS_PASSWORD.
	RedisUsername string
	RedisPassword string
	// RedisNamespace is REDIS_NAMESPACE; empty means none (STR-3, STR-4).
	RedisNamespace string

	// TrustedProxies is TRUSTED_PROXY_IP resolved to prefixes (LOG-5;
	// default loopback and unique-local ranges). IPv4 entries are 4-byte
	// prefixes: unmap peer addresses before matching.
	TrustedProxies []netip.Prefix

	// HeaderTimeout is SLUICE_HEADER_TIMEOUT (default 15 s, HTTP-9).
	HeaderTimeout time.Duration
	// KeepAliveTimeout closes idle keep-alive connections: 5 s, fixed (HTTP-7).
	KeepAliveTimeout time.Duration
	// RelationsTTL is SLUICE_RELATIONS_TTL (default 30 s, FLT-5, FLT-16).
	RelationsTTL time.Duration
	// RailsPermissions is SLUICE_RAILS_PERMISSIONS (default false, AUTH-13).
	RailsPermissions bool
	// WSMaxMessage is SLUICE_WS_MAX_MESSAGE in bytes (default 1 MiB, WS-16).
	WSMaxMessage int
	// TrustRequestID is SLUICE_TRUST_REQUEST_ID (default false, LOG-1).
	TrustRequestID bool
	// StatusEndpoints is SLUICE_STATUS_ENDPOINTS (default true, §17.1).
	StatusEndpoints bool
	// StatusDetail is SLUICE_STATUS_DETAIL (default false, X-2).
	StatusDetail bool
	// StatusToken is SLUICE_STATUS_TOKEN (default none, §17.1). Secret.
	StatusToken string
	// MaxBacklogBytes is SLUICE_MAX_BACKLOG_BYTES (default 4 MiB, X-4).
	MaxBacklogBytes int
	// WriteStallTimeout is SLUICE_WRITE_STALL_TIMEOUT (default 60 s, X-4).
	WriteStallTimeout time.Duration
	// DrainSeconds is SLUICE_DRAIN_SECONDS as a duration (default 10 s,
	// 0 = close everything at once, X-5).
	DrainSeconds time.Duration
	// ReplayWindow is SLUICE_REPLAY_WINDOW (default 0 = off, §17.4).
	ReplayWindow time.Duration
	// MaxConnsPerIP is SLUICE_MAX_CONNS_PER_IP (default 0 = unlimited, X-9).
	MaxConnsPerIP int
	// WSMaxSubscriptions is SLUICE_WS_MAX_SUBSCRIPTIONS (default 0 =
	// unlimited, X-10).
	WSMaxSubscriptions int
	// WSCompression is SLUICE_WS_COMPRESSION (default false, X-12).
	WSCompression bool

	// The settings below are tuning and test knobs, not in §17.8. Their
	// defaults are the contract's values; tests shorten the periods.

	// HeartbeatInterval is SLUICE_HEARTBEAT_INTERVAL, the SSE :thump period
	// (default and maximum 15 s, SSE-7).
	HeartbeatInterval time.Duration
	// WSPingInterval is SLUICE_WS_PING_INTERVAL (default and maximum 30 s,
	// WS-17).
	WSPingInterval time.Duration
	// SubscribedKeyRefresh is SLUICE_SUBSCRIBED_REFRESH, how often live
	// subscribed: keys are rewritten (default 300 s, at most 360 s, STR-8).
	SubscribedKeyRefresh time.Duration
	// UnsubscribeLinger is SLUICE_UNSUBSCRIBE_LINGER, how long an unused
	// Redis subscription is kept (default 2 s, at most 5 s, RED-2).
	UnsubscribeLinger time.Duration
	// EventLoops is SLUICE_EVENT_LOOPS (default runtime.NumCPU()).
	EventLoops int
	// RingSize is SLUICE_RING_SIZE, the most entries a timeline ring grows to (default 4096,
	// a power of two).
	RingSize int

	in           *input
	pgConnString string // libpq URL or keyword/value string, secrets included
	pgSource     string // the variable(s) pgConnString came from, for errors
	redisMode    string // "url", "sentinel" or "direct"
}

// input is what a Config is resolved from; flags change vars and resolve
// again.
type input struct {
	vars         map[string]string // dotenv file, then process environment, then flags
	flagged      map[string]bool   // variables set by a flag
	nodeEnv      string            // NODE_ENV of the process environment
	osUser       func() string     // development default of DB_USER
	dotenvPath   string
	dotenvLoaded bool
}

// Load resolves the configuration. environ is the process environment in
// os.Environ form; workdir is where .env / .env.production are looked for
// (CFG-1; "" means the current directory). It returns warnings to log once
// the logger exists: none of them prevents start-up (CFG-4). The error is
// fatal and says what to fix.
func Load(environ []string, workdir string) (*Config, []string, error) {
	process := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if _, seen := process[k]; ok && k != "" && !seen { // first wins, as in os.Getenv
			process[k] = v
		}
	}
	in := &input{
		vars:       make(map[string]string),
		flagged:    make(map[string]bool),
		nodeEnv:    process["NODE_ENV"],
		osUser:     func() string { return osUser(process["USER"]) },
		dotenvPath: dotenvPath(process["SLUICE_DOTENV"], process["NODE_ENV"], workdir),
	}
	data, err := readDotenv(in.dotenvPath)
	if err != nil {
		return nil, nil, err
	}
	if data != nil {
		in.dotenvLoaded = true
		if len(data) > maxDotenvBytes {
			return nil, nil, fmt.Errorf("config: %s is larger than 1 MiB (check that it is the environment file, or point SLUICE_DOTENV elsewhere)", in.dotenvPath)
		}
		file, err := ParseDotenv(data)
		if err != nil {
			return nil, nil, err
		}
		maps.Copy(in.vars, file)
	}
	maps.Copy(in.vars, process) // CFG-2: the process environment wins
	return resolve(in)
}

func dotenvPath(explicit, nodeEnv, workdir string) string {
	switch {
	case explicit != "" && (filepath.IsAbs(explicit) || workdir == ""):
		return explicit
	case explicit != "":
		return filepath.Join(workdir, explicit)
	case nodeEnv == "production":
		return filepath.Join(workdir, ".env.production")
	}
	return filepath.Join(workdir, ".env")
}

// readDotenv returns the file's bytes, or nil if it does not exist (CFG-1).
// Node also skips unreadable files silently; Sluice refuses them, because
// starting with half the configuration is worse than not starting.
func readDotenv(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: cannot read %s: %v (make it readable, or point SLUICE_DOTENV elsewhere)", path, errors.Unwrap(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDotenvBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config: cannot read %s: %v (make it a regular file, or point SLUICE_DOTENV elsewhere)", path, errors.Unwrap(err))
	}
	return data, nil
}

func osUser(envUser string) string {
	if envUser != "" { // pg's default user is process.env.USER
		return envUser
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// resolver accumulates warnings and keeps the first error.
type resolver struct {
	in       *input
	warnings []string
	err      error
}

func resolve(in *input) (*Config, []string, error) {
	r := &resolver{in: in}
	c := &Config{in: in, DotenvPath: in.dotenvPath, DotenvLoaded: in.dotenvLoaded, KeepAliveTimeout: 5 * time.Second}
	r.environment(c)
	r.logLevel(c)
	r.postgres(c)
	r.redis(c)
	r.listen(c)
	r.proxies(c)
	r.sluice(c)
	r.unknown()
	if r.err != nil {
		return nil, nil, r.err
	}
	return c, r.warnings, nil
}

func (r *resolver) get(name string) string { return r.in.vars[name] }

func (r *resolver) lookup(name string) (string, bool) {
	v, ok := r.in.vars[name]
	return v, ok
}

func (r *resolver) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *resolver) failf(format string, args ...any) { r.fail(fmt.Errorf("config: "+format, args...)) }

func (r *resolver) warnf(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

func (r *resolver) environment(c *Config) {
	switch r.in.nodeEnv {
	case "production":
		c.NodeEnv, c.Production = "production", true
	case "", "development":
		c.NodeEnv = "development"
	default:
		c.NodeEnv = "development"
		r.warnf("NODE_ENV %q is neither production nor development: using the development settings (.env, development database defaults, log level debug); Mastodon's own server refuses to start without DATABASE_URL", r.in.nodeEnv)
	}
}
