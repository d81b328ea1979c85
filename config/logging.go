package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Levels of LOG_LEVEL that slog has no name for. LOG-2 labels them "trace"
// and "fatal".
const (
	LevelTrace = slog.LevelDebug - 4
	LevelFatal = slog.LevelError + 4
)

func (r *resolver) logLevel(c *Config) {
	c.LogLevel = slog.LevelDebug
	if c.Production {
		c.LogLevel = slog.LevelInfo
	}
	switch v := r.get("LOG_LEVEL"); v {
	case "":
	case "silent":
		c.LogSilent = true
	case "fatal":
		c.LogLevel = LevelFatal
	case "error":
		c.LogLevel = slog.LevelError
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "info":
		c.LogLevel = slog.LevelInfo
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "trace":
		c.LogLevel = LevelTrace
	default:
		r.warnf("LOG_LEVEL %q is ignored (expected fatal, error, warn, info, debug, trace or silent): using %s", v, levelName(c.LogLevel))
	}
}

func levelName(l slog.Level) string {
	switch l {
	case LevelTrace:
		return "trace"
	case LevelFatal:
		return "fatal"
	}
	return strings.ToLower(l.String())
}

// LogValue describes the configuration without secrets.
func (c *Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("node_env", c.NodeEnv),
		slog.String("dotenv", c.DotenvPath),
		slog.Bool("dotenv_loaded", c.DotenvLoaded),
		slog.String("listen", c.Listen.Network+" "+c.Listen.Addr),
		slog.String("log_level", levelName(c.LogLevel)),
		slog.String("database", c.databaseDescription()),
		slog.Int("db_pool", c.DBPool),
		slog.String("redis", c.redisDescription()),
		slog.String("redis_namespace", c.RedisNamespace),
		slog.Int("event_loops", c.EventLoops),
	)
}

// String is LogValue as text, so that printing a Config with %v cannot leak
// a password.
func (c *Config) String() string { return c.LogValue().String() }

func (c *Config) databaseDescription() string {
	if c.DatabaseURL == "" {
		return fmt.Sprintf("%s@%s:%d/%s", c.DBUser, c.DBHost, c.DBPort, c.DBName)
	}
	if u, err := url.Parse(c.DatabaseURL); err == nil && u.Scheme != "" {
		return u.User.Username() + "@" + u.Host + u.Path
	}
	return "DATABASE_URL"
}

func (c *Config) redisDescription() string {
	switch c.redisMode {
	case "url":
		if u, err := url.Parse(c.RedisURL); err == nil {
			return u.Scheme + "://" + u.Host + u.Path
		}
		return "REDIS_URL"
	case "sentinel":
		return fmt.Sprintf("sentinel %s via %s db %d", c.RedisSentinelMaster, strings.Join(c.RedisSentinels, ","), c.RedisDB)
	}
	return fmt.Sprintf("%s db %d", net.JoinHostPort(c.RedisHost, strconv.Itoa(c.RedisPort)), c.RedisDB)
}
