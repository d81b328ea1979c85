package main

import (
	"io"
	"log/slog"

	"github.com/sluice/sluice/config"
)

// newLogger writes one JSON object per line in the shape of the reference's
// pino logs (LOG-2): "level" as a label, "time" in epoch milliseconds, "msg",
// and "name":"streaming", so existing log pipelines keep working.
func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	if cfg.LogSilent {
		return slog.New(slog.DiscardHandler)
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: cfg.LogLevel,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.Int64(slog.TimeKey, a.Value.Time().UnixMilli())
			case slog.LevelKey:
				return slog.String(slog.LevelKey, levelLabel(a.Value.Any().(slog.Level)))
			}
			return a
		},
	})
	return slog.New(h).With("name", "streaming")
}

func levelLabel(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	case l < config.LevelFatal:
		return "error"
	}
	return "fatal"
}
