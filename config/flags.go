package config

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"strings"
	"text/tabwriter"
)

// BindFlags registers one flag per variable that has one (see Usage):
// -port, -bind, -socket, -database-url, -db-pool, -redis-url,
// -redis-namespace, -log-level, -trusted-proxy-ip, and every SLUICE_
// variable except SLUICE_DOTENV and SLUICE_STATUS_TOKEN as its lower-case,
// dashed name without the prefix (-event-loops, -heartbeat-interval …).
// Parsing a flag re-resolves c with the flag's value in place of the
// variable's (flag > env > dotenv > default), so c is complete and
// consistent after fs.Parse; a bad value fails fs.Parse with the same
// message as a bad variable. Passwords have no flag: command lines are
// visible to every local user.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	for _, v := range catalogue() {
		if v.flag == "" {
			continue
		}
		set := func(value string) error { return c.override(v.name, value) }
		usage := fmt.Sprintf("%s (overrides %s)", v.help, v.name)
		if v.boolean {
			fs.BoolFunc(v.flag, usage, set)
		} else {
			fs.Func(v.flag, usage, set)
		}
	}
}

func (c *Config) override(name, value string) error {
	in := &input{vars: map[string]string{}, flagged: map[string]bool{}}
	if c.in != nil {
		in = &input{
			vars: maps.Clone(c.in.vars), flagged: maps.Clone(c.in.flagged), nodeEnv: c.in.nodeEnv,
			osUser: c.in.osUser, dotenvPath: c.in.dotenvPath, dotenvLoaded: c.in.dotenvLoaded,
		}
	}
	in.vars[name] = value
	in.flagged[name] = true
	nc, _, err := resolve(in)
	if err != nil {
		return err
	}
	*c = *nc
	return nil
}

// variable is one row of Usage.
type variable struct {
	section         string // heading printed before the row, if any
	name, def, help string
	flag            string // command-line flag name, "" for none
	boolean         bool   // the flag may be given without a value
}

// catalogue lists every variable Sluice reads, in Usage order.
func catalogue() []variable {
	return []variable{
		{name: "NODE_ENV", def: "development", help: "production selects .env.production, the production database defaults and log level info"},
		{name: "LOG_LEVEL", def: "info", flag: "log-level", help: "fatal, error, warn, info, debug, trace or silent (development: debug)"},
		{name: "PORT", def: "4000", flag: "port", help: "TCP port (0: any free port); without SOCKET a non-number is taken as a Unix socket path"},
		{name: "BIND", def: "127.0.0.1", flag: "bind", help: "listen address; [::] or :: is IPv6 and IPv4, empty is every interface"},
		{name: "SOCKET", def: "unset", flag: "socket", help: "Unix socket path; replaces PORT and BIND"},
		{name: "DATABASE_URL", def: "unset", flag: "database-url", help: "postgres:// URL; replaces DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_SSLMODE"},
		{name: "DB_HOST", def: "localhost", help: "PostgreSQL host; a path starting with / is a Unix socket directory"},
		{name: "DB_PORT", def: "5432", help: "PostgreSQL port"},
		{name: "DB_NAME", def: "mastodon_production", help: "database name (development: mastodon_development)"},
		{name: "DB_USER", def: "mastodon", help: "database user (development: the OS user)"},
		{name: "DB_PASS", def: "unset", help: "database password; also used when DATABASE_URL has none"},
		{name: "DB_SSLMODE", def: "disable", help: "disable, prefer, require, no-verify or verify-full (verify-ca only through DATABASE_URL)"},
		{name: "DB_POOL", def: "10", flag: "db-pool", help: "maximum PostgreSQL connections"},
		{name: "REDIS_URL", def: "unset", flag: "redis-url", help: "redis://, rediss:// or unix:// URL; replaces the other REDIS_ connection variables"},
		{name: "REDIS_SENTINELS", def: "unset", help: "comma-separated sentinel host[:port] list, used with REDIS_SENTINEL_MASTER"},
		{name: "REDIS_SENTINEL_MASTER", def: "unset", help: "sentinel master name"},
		{name: "REDIS_SENTINEL_PORT", def: "26379", help: "port of sentinel entries that have none"},
		{name: "REDIS_SENTINEL_USERNAME", def: "REDIS_USERNAME", help: "sentinel user name"},
		{name: "REDIS_SENTINEL_PASSWORD", def: "REDIS_PASSWORD", help: "sentinel password"},
		{name: "REDIS_HOST", def: "127.0.0.1", help: "Redis host"},
		{name: "REDIS_PORT", def: "6379", help: "Redis port"},
		{name: "REDIS_DB", def: "0", help: "Redis database number"},
		{name: "REDIS_USERNAME", def: "unset", help: "Redis ACL user name"},
		{name: "REDIS_PASSWORD", def: "unset", help: "Redis password"},
		{name: "REDIS_NAMESPACE", def: "unset", flag: "redis-namespace", help: "prefix of every Redis channel and key"},
		{name: "TRUSTED_PROXY_IP", def: "loopback,uniquelocal", flag: "trusted-proxy-ip", help: "proxies whose X-Forwarded-For is believed (IPs, CIDRs, loopback, linklocal, uniquelocal)"},
		{name: "STREAMING_CLUSTER_NUM", def: "ignored", help: "no effect (one process; see SLUICE_EVENT_LOOPS)"},

		{section: "Sluice extensions (§17.8)", name: "SLUICE_DOTENV", def: ".env(.production)", help: "environment file to load instead of the one in the working directory"},
		{name: "SLUICE_HEADER_TIMEOUT", def: "15s", flag: "header-timeout", help: "time allowed for a request head"},
		{name: "SLUICE_RELATIONS_TTL", def: "30s", flag: "relations-ttl", help: "staleness allowed for cached blocks, mutes and feed settings"},
		{name: "SLUICE_RAILS_PERMISSIONS", def: "false", flag: "rails-permissions", boolean: true, help: "apply Rails' role rules to view_feeds"},
		{name: "SLUICE_WS_MAX_MESSAGE", def: "1MiB", flag: "ws-max-message", help: "largest WebSocket message accepted from a client"},
		{name: "SLUICE_TRUST_REQUEST_ID", def: "false", flag: "trust-request-id", boolean: true, help: "keep X-Request-Id from trusted proxies"},
		{name: "SLUICE_STATUS_ENDPOINTS", def: "true", flag: "status-endpoints", boolean: true, help: "serve /api/v1/streaming/status*"},
		{name: "SLUICE_STATUS_DETAIL", def: "false", flag: "status-detail", boolean: true, help: "list concrete channels in status/per_timeline"},
		{name: "SLUICE_STATUS_TOKEN", def: "unset", help: "bearer token required by the status endpoints"},
		{name: "SLUICE_MAX_BACKLOG_BYTES", def: "4MiB", flag: "max-backlog-bytes", help: "bytes queued for one client before it is disconnected"},
		{name: "SLUICE_WRITE_STALL_TIMEOUT", def: "60s", flag: "write-stall-timeout", help: "disconnect a client whose backlog has not moved for this long"},
		{name: "SLUICE_DRAIN_SECONDS", def: "10", flag: "drain-seconds", help: "seconds over which connections are closed at shutdown (0: at once)"},
		{name: "SLUICE_REPLAY_WINDOW", def: "unset (off)", flag: "replay-window", help: "how long messages are kept for Last-Event-ID replay"},
		{name: "SLUICE_MAX_CONNS_PER_IP", def: "0 (unlimited)", flag: "max-conns-per-ip", help: "open streams allowed per client address (behind TRUSTED_PROXY_IP)"},
		{name: "SLUICE_WS_MAX_SUBSCRIPTIONS", def: "0 (unlimited)", flag: "ws-max-subscriptions", help: "streams allowed per WebSocket"},
		{name: "SLUICE_WS_COMPRESSION", def: "false", flag: "ws-compression", boolean: true, help: "negotiate permessage-deflate"},

		{section: "Tuning and tests", name: "SLUICE_EVENT_LOOPS", def: "number of CPUs", flag: "event-loops", help: "event loops (tuning)"},
		{name: "SLUICE_RING_SIZE", def: "4096", flag: "ring-size", help: "most entries a timeline ring grows to while a loop lags, a power of two (tuning)"},
		{name: "SLUICE_HEARTBEAT_INTERVAL", def: "15s", flag: "heartbeat-interval", help: "SSE heartbeat period, at most 15s (testing)"},
		{name: "SLUICE_WS_PING_INTERVAL", def: "30s", flag: "ws-ping-interval", help: "WebSocket ping period, at most 30s (testing)"},
		{name: "SLUICE_SUBSCRIBED_REFRESH", def: "300s", flag: "subscribed-refresh", help: "rewrite period of subscribed: keys, at most 360s (testing)"},
		{name: "SLUICE_UNSUBSCRIBE_LINGER", def: "2s", flag: "unsubscribe-linger", help: "how long an unused Redis subscription is kept, at most 5s (testing)"},
	}
}

// Usage prints every environment variable with its default and meaning,
// for `sluice -h` after the flags.
func Usage(w io.Writer) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tFLAG\tMEANING")
	for _, v := range catalogue() {
		if v.section != "" {
			fmt.Fprintf(tw, "\t\t\t\n  %s:\t\t\t\n", v.section)
		}
		flagName := ""
		if v.flag != "" {
			flagName = "-" + v.flag
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", v.name, v.def, flagName, v.help)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nEnvironment variables (a flag beats the environment, which beats the dotenv file):\n\n")
	for line := range strings.Lines(b.String()) {
		fmt.Fprintln(w, strings.TrimRight(line, " \n"))
	}
}
