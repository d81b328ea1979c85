// Command sluice is a drop-in replacement for Mastodon's streaming server.
// It reads the same environment variables (and .env.production / .env) as
// the Node server; flags override them. Run `sluice -h` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice/sluice/auth"
	"github.com/sluice/sluice/config"
	"github.com/sluice/sluice/netpoll"
	"github.com/sluice/sluice/timeline"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	wd, _ := os.Getwd()
	cfg, warnings, err := config.Load(os.Environ(), wd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice:", err)
		return 1
	}
	fs := flag.NewFlagSet("sluice", flag.ContinueOnError)
	cfg.BindFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sluice [flags]\n\nSluice streams Mastodon timelines to clients (drop-in for Mastodon's streaming server).\n\nFlags (override the environment):\n")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output())
		config.Usage(fs.Output())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log := newLogger(os.Stdout, cfg)
	slog.SetDefault(log)
	for _, w := range warnings {
		log.Warn(w)
	}
	if err := serve(cfg, log); err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	return 0
}

func serve(cfg *config.Config, log *slog.Logger) error {
	pgcfg, err := cfg.PGConfig()
	if err != nil {
		return err
	}
	redisOpt, err := cfg.RedisOptions()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// pgxpool connects lazily: PostgreSQL being down is not fatal (LIFE-1).
	pool, err := pgxpool.NewWithConfig(ctx, pgcfg)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer pool.Close()
	store := auth.NewStore(pool, auth.RelationsTTL(cfg.RelationsTTL))
	runner := auth.NewRunner(2*cfg.DBPool, 8192)
	defer runner.Close()
	var server atomic.Pointer[netpoll.Server] // set before any stream can load relations
	relations := auth.NewRelationCache(pool, auth.RelationsConfig{
		TTL:    cfg.RelationsTTL,
		Submit: runner.Submit,
		Notify: func(account int64) {
			if s := server.Load(); s != nil {
				s.NotifyRelations(account)
			}
		},
		Logger: log,
	})
	defer relations.Close() // before the runner it submits to (defers run in reverse)

	hub := timeline.NewHub(timeline.Options{
		Namespace:  cfg.RedisNamespace,
		RingSize:   cfg.RingSize,
		Loops:      cfg.EventLoops,
		Linger:     cfg.UnsubscribeLinger,
		KeyRefresh: cfg.SubscribedKeyRefresh,
		// SYS-4: the next evaluation reloads the account's filters.
		OnFiltersChanged: relations.InvalidateFilters,
		Logger:           log,
	})
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); hub.Run(ctx, redisOpt) }()

	srv := netpoll.New(netpoll.Options{
		Network:            cfg.Listen.Network,
		Addr:               cfg.Listen.Addr,
		Loops:              cfg.EventLoops,
		ReusePort:          true,
		HeaderTimeout:      cfg.HeaderTimeout,
		KeepAliveTimeout:   cfg.KeepAliveTimeout,
		HeartbeatInterval:  cfg.HeartbeatInterval,
		WSPingInterval:     cfg.WSPingInterval,
		MaxBacklogBytes:    cfg.MaxBacklogBytes,
		WriteStallTimeout:  cfg.WriteStallTimeout,
		WSMaxMessage:       cfg.WSMaxMessage,
		WSMaxSubscriptions: cfg.WSMaxSubscriptions,
		RailsPermissions:   cfg.RailsPermissions,
		DrainSeconds:       cfg.DrainSeconds,
		Relations:          relations,
		Observer:           auth.NewObserver(pool, store, relations),
		StatusEndpoints:    cfg.StatusEndpoints,
		StatusDetail:       cfg.StatusDetail,
		StatusToken:        cfg.StatusToken,
		Version:            version(),
		TrustedProxies:     cfg.TrustedProxies,
		MaxConnsPerIP:      cfg.MaxConnsPerIP,
		TrustRequestID:     cfg.TrustRequestID,
		Logger:             log,
	}, hub, store, runner)
	server.Store(srv)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve() }()
	readyCtx, readyCancel := context.WithTimeout(ctx, 10*time.Second)
	defer readyCancel()
	select {
	case err := <-serveErr:
		return fmt.Errorf("listen %s %s: %w", cfg.Listen.Network, cfg.Listen.Addr, err)
	case <-waitReady(srv, readyCtx):
	}
	log.Info("streaming API now listening", "network", cfg.Listen.Network, "address", cfg.Listen.Addr, "event_loops", cfg.EventLoops)

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case err := <-serveErr:
		if err != nil {
			return err
		}
	}
	// LIFE-5 / X-5: drain, and exit 0 at once on a second signal.
	go func() { <-sig; log.Info("second signal; exiting now"); os.Exit(0) }()
	stopCtx, stopCancel := context.WithTimeout(context.Background(), cfg.DrainSeconds+2*time.Second)
	defer stopCancel()
	srv.Drain(stopCtx)
	_ = srv.Stop(stopCtx)
	cancel()
	<-hubDone
	return nil
}

func waitReady(srv *netpoll.Server, ctx context.Context) <-chan struct{} {
	ch := make(chan struct{})
	go func() { _ = srv.WaitReady(ctx); close(ch) }()
	return ch
}

// version is the module version the binary was built from ("(devel)" for a
// plain go build), with the VCS revision when the build recorded it.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}
