package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// redisWriteTimeout is rueidis' ConnWriteTimeout: a Redis that has not
// answered a write or a keep-alive ping for this long is treated as gone, so
// that RED-3's reconnect starts within seconds rather than after TCP gives up.
const redisWriteTimeout = 10 * time.Second

// redis resolves the Redis variables the way Node's redis.js does: REDIS_URL
// alone if non-empty, else sentinels if REDIS_SENTINELS and
// REDIS_SENTINEL_MASTER are both non-empty, else REDIS_HOST and friends.
// Integer variables of the unused modes are not validated, as in Node.
func (r *resolver) redis(c *Config) {
	c.RedisNamespace = r.get("REDIS_NAMESPACE")
	c.RedisURL = r.get("REDIS_URL")
	c.RedisUsername = r.get("REDIS_USERNAME")
	c.RedisPassword = r.get("REDIS_PASSWORD")
	c.RedisSentinelMaster = r.get("REDIS_SENTINEL_MASTER")
	c.RedisSentinelUsername, c.RedisSentinelPassword = c.RedisUsername, c.RedisPassword
	if v, ok := r.lookup("REDIS_SENTINEL_USERNAME"); ok {
		c.RedisSentinelUsername = v
	}
	if v, ok := r.lookup("REDIS_SENTINEL_PASSWORD"); ok {
		c.RedisSentinelPassword = v
	}
	c.RedisHost = "127.0.0.1"
	if v, ok := r.lookup("REDIS_HOST"); ok {
		c.RedisHost = cmp(v, "localhost")
	}
	sentinels := r.get("REDIS_SENTINELS")
	switch {
	case c.RedisURL != "":
		c.redisMode = "url"
		c.RedisPort, c.RedisDB, c.RedisSentinelPort = r.jsIntOr("REDIS_PORT", 6379), r.jsIntOr("REDIS_DB", 0), r.jsIntOr("REDIS_SENTINEL_PORT", 26379)
		if _, err := redisURLOption(c.RedisURL); err != nil {
			r.fail(err)
		}
	case sentinels != "" && c.RedisSentinelMaster != "":
		c.redisMode = "sentinel"
		c.RedisDB = r.jsInt("REDIS_DB", 0, 0, math.MaxInt32)
		c.RedisSentinelPort = r.jsInt("REDIS_SENTINEL_PORT", 26379, 1, 65535)
		c.RedisPort = r.jsIntOr("REDIS_PORT", 6379)
		c.RedisSentinels = r.sentinels(sentinels, c.RedisSentinelPort)
	default:
		c.redisMode = "direct"
		c.RedisPort = r.jsInt("REDIS_PORT", 6379, 1, 65535)
		c.RedisDB = r.jsInt("REDIS_DB", 0, 0, math.MaxInt32)
		c.RedisSentinelPort = r.jsIntOr("REDIS_SENTINEL_PORT", 26379)
	}
}

// sentinels splits REDIS_SENTINELS like Node: entries on ',', host and port
// on the first ':' (so no IPv6), a missing port meaning REDIS_SENTINEL_PORT.
// Sluice also trims spaces and skips empty entries.
func (r *resolver) sentinels(list string, defPort int) []string {
	var out []string
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		host, port, hasPort := strings.Cut(entry, ":")
		port, _, _ = strings.Cut(port, ":")
		if host == "" {
			r.failf("REDIS_SENTINELS: entry %q has no host (expected host[:port],host[:port]…)", entry)
			return nil
		}
		n := defPort
		if hasPort {
			var err error
			if n, err = strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				r.failf("REDIS_SENTINELS: invalid port %q in %q (expected 1-65535)", port, entry)
				return nil
			}
		}
		out = append(out, net.JoinHostPort(host, strconv.Itoa(n)))
	}
	if len(out) == 0 {
		r.failf("REDIS_SENTINELS: no sentinel in %q (expected host[:port],host[:port]…)", list)
	}
	return out
}

// redisURLOption parses REDIS_URL: redis://[[user][:password]@]host[:port][/db],
// rediss://… (TLS, verified), unix:///path[?db=N]. Like ioredis it also
// takes username, password and db from the query string.
func redisURLOption(raw string) (rueidis.ClientOption, error) {
	const expect = "expected redis://[user:password@]host[:port][/db], rediss://… or unix:///path/to/socket[?db=N]"
	u, err := url.Parse(raw)
	if err != nil {
		return rueidis.ClientOption{}, fmt.Errorf("config: REDIS_URL: %s (%s; percent-encode @, :, / and %% in the password)", urlProblem(err), expect)
	}
	if p := u.Port(); p != "" && u.Scheme != "unix" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return rueidis.ClientOption{}, fmt.Errorf("config: REDIS_URL: invalid port %q (expected 1-65535)", p)
		}
	}
	opt, err := rueidis.ParseURL(raw)
	if err != nil {
		return rueidis.ClientOption{}, fmt.Errorf("config: REDIS_URL: %s (%s)", strings.TrimPrefix(err.Error(), "redis: "), expect)
	}
	q := u.Query()
	if opt.Password == "" && q.Get("password") != "" {
		opt.Password = q.Get("password")
	}
	if opt.Username == "" && q.Get("username") != "" {
		opt.Username = q.Get("username")
	}
	return opt, nil
}

// RedisOptions returns the rueidis options for REDIS_URL, the sentinels or
// REDIS_HOST/PORT (§2.2). Client-side caching is off (Sluice only
// publishes, subscribes and SETs), a single non-sentinel address is used as
// a plain server (no CLUSTER probe; Mastodon does not support Redis
// Cluster), and a Redis silent for 10 s counts as lost (RED-3).
// REDIS_NAMESPACE is not applied here: see RedisPrefix.
func (c *Config) RedisOptions() (rueidis.ClientOption, error) {
	var opt rueidis.ClientOption
	switch c.redisMode {
	case "url":
		var err error
		if opt, err = redisURLOption(c.RedisURL); err != nil {
			return opt, err
		}
	case "sentinel":
		opt.InitAddress = slices.Clone(c.RedisSentinels)
		opt.Sentinel = rueidis.SentinelOption{
			MasterSet: c.RedisSentinelMaster,
			Username:  c.RedisSentinelUsername,
			Password:  c.RedisSentinelPassword,
		}
		opt.SelectDB = c.RedisDB
		opt.Username, opt.Password = c.RedisUsername, c.RedisPassword
	case "direct":
		opt.InitAddress = []string{net.JoinHostPort(c.RedisHost, strconv.Itoa(c.RedisPort))}
		opt.SelectDB = c.RedisDB
		opt.Username, opt.Password = c.RedisUsername, c.RedisPassword
	default:
		return opt, errors.New("config: RedisOptions on a Config that Load did not return")
	}
	opt.DisableCache = true
	opt.ConnWriteTimeout = redisWriteTimeout
	if opt.Sentinel.MasterSet == "" && len(opt.InitAddress) == 1 {
		opt.ForceSingleClient = true
	}
	return opt, nil
}

// RedisPrefix is what STR-3 puts before every channel and key:
// "<REDIS_NAMESPACE>:", or "" when the namespace is empty (STR-4).
func (c *Config) RedisPrefix() string {
	if c.RedisNamespace == "" {
		return ""
	}
	return c.RedisNamespace + ":"
}
