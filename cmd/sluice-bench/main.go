// Command sluice-bench load-tests a Mastodon streaming server (Sluice, or
// Mastodon's own Node server) on this machine: it holds many idle streams,
// measures fan-out latency and cost, and survives reconnect storms. It only
// connects to loopback addresses and unix sockets.
//
//	sluice-bench hold    -target 127.0.0.1:4000 -pid 1234 -n 1000,5000,10000
//	sluice-bench fanout  -target 127.0.0.1:4000 -pid 1234 -redis 127.0.0.1:6379 -n 1000,10000
//	sluice-bench storm   -target 127.0.0.1:4000 -n 5000
//	sluice-bench mixed   -target 127.0.0.1:4000 -n 10000
//	sluice-bench compare fanout -target 127.0.0.1:4000 -pid 1 -b-target 127.0.0.1:4001 -b-pid 2
//	sluice-bench suite   -target 127.0.0.1:4000 -pid 1234 -redis 127.0.0.1:6379 -markdown out.md
//
// Run "sluice-bench <command> -h" for the flags.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/sluice/sluice/bench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "worker" || os.Getenv(bench.WorkerEnv) == "1" {
		if err := bench.RunWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "sluice-bench worker:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd := os.Args[1]; cmd {
	case "hold", "fanout", "storm", "mixed":
		err = runScenario(ctx, cmd, os.Args[2:])
	case "compare":
		err = runCompare(ctx, os.Args[2:])
	case "suite":
		err = runSuite(ctx, os.Args[2:])
	case "help", "-h", "-help", "--help":
		usage(os.Stdout)
		return
	default:
		fmt.Fprintf(os.Stderr, "sluice-bench: unknown command %q\n", cmd)
		usage(os.Stderr)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice-bench:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: sluice-bench <command> [flags]

commands:
  hold     open N idle streams (in steps), hold them, report memory and CPU
  fanout   hold N subscribers, publish into Redis, report delivery latency and loss
  storm    drop and reconnect every stream at once, then churn
  mixed    a realistic instance profile of streams, publishing and slow readers
  compare  run one scenario against two targets and print the ratios
  suite    the default suite behind "make bench", with a markdown report

"sluice-bench <command> -h" lists the flags. Traffic goes only to loopback
addresses and unix sockets.
`)
}

// outputFlags are the report destinations shared by every command.
type outputFlags struct {
	json     bool
	plot     string
	progress string
}

// cli binds the scenario flags to bench.Options.
type cli struct {
	fs     *flag.FlagSet
	o      bench.Options
	target string
	counts string
	out    outputFlags
}

func newCLI(name string) *cli {
	c := &cli{fs: flag.NewFlagSet("sluice-bench "+name, flag.ContinueOnError), o: bench.Defaults()}
	fs, o := c.fs, &c.o
	fs.StringVar(&c.target, "target", "127.0.0.1:4000", "server under test: loopback host:port, or unix:/path")
	fs.IntVar(&o.PID, "pid", 0, "target process id, to sample its RSS and CPU from /proc (0: do not)")
	fs.StringVar(&o.PIDFile, "pid-file", "", "file holding the target's process id, read at every sample (instead of -pid)")
	fs.StringVar(&o.Token, "token", o.Token, "access token of every connection")
	fs.StringVar(&o.Account, "account", o.Account, "account id that owns -token (user and notification channels)")
	fs.StringVar(&o.Path, "path", o.Path, "SSE stream path with query")
	fs.BoolVar(&o.WS, "ws", false, "use WebSocket (-ws-path, -stream) instead of SSE (-path)")
	fs.StringVar(&o.WSPath, "ws-path", o.WSPath, "WebSocket upgrade path")
	fs.StringVar(&o.Stream, "stream", o.Stream, "WebSocket stream name (public, user, hashtag, …)")
	fs.StringVar(&o.Tag, "tag", o.Tag, "tag for hashtag streams")
	fs.StringVar(&c.counts, "n", "1000", "connections: comma list, k/M suffixes (hold: steps; fanout: sweep)")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "connects per second (0: as fast as -inflight allows)")
	fs.IntVar(&o.MaxInflight, "inflight", o.MaxInflight, "connects in progress at once, all processes together")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", o.ConnectTimeout, "time allowed from connect to response head")
	fs.DurationVar(&o.Hold, "hold", o.Hold, "hold: how long to keep the connections open")
	fs.DurationVar(&o.Settle, "settle", o.Settle, "pause before sampling or publishing")
	fs.DurationVar(&o.MaxDuration, "max-duration", o.MaxDuration, "hard bound on the whole run")
	fs.StringVar(&o.Sources, "src", o.Sources, "source addresses: auto, none, or 127.0.0.a-127.0.0.b[,…]")
	fs.IntVar(&o.Workers, "workers", 0, "worker processes (0: only when the descriptor limit requires)")
	fs.IntVar(&o.PerWorker, "per-worker", o.PerWorker, "connections per process at most")
	fs.IntVar(&o.Loops, "loops", 0, "event loops per process (0: one per core, up to 4)")
	fs.StringVar(&o.Redis, "redis", defaultRedis(), "Redis the target subscribes to (loopback host:port)")
	fs.StringVar(&o.Namespace, "namespace", os.Getenv("REDIS_NAMESPACE"), "REDIS_NAMESPACE of the target")
	fs.IntVar(&o.Messages, "messages", o.Messages, "messages to publish (fanout, mixed)")
	fs.Float64Var(&o.PubRate, "pub-rate", o.PubRate, "messages published per second")
	fs.DurationVar(&o.Drain, "drain", o.Drain, "after publishing, wait this long without deliveries before counting losses")
	fs.IntVar(&o.StormRounds, "rounds", o.StormRounds, "storm: drop-and-reconnect rounds")
	fs.Float64Var(&o.StormRate, "storm-rate", 0, "storm: reconnect rate (0: unlimited)")
	fs.Float64Var(&o.ChurnRate, "churn-rate", o.ChurnRate, "storm: streams closed and reopened per second during churn")
	fs.DurationVar(&o.ChurnFor, "churn-for", o.ChurnFor, "storm: churn duration (0: no churn)")
	fs.IntVar(&o.SlowRate, "slow-rate", o.SlowRate, "mixed: bytes per second a slow reader reads")
	fs.BoolVar(&c.out.json, "json", false, "print the report as JSON instead of tables")
	fs.StringVar(&c.out.plot, "plot", "", "directory to write latency and RSS charts (SVG and PNG)")
	fs.StringVar(&c.out.progress, "progress", "auto", "live progress line on stderr: auto (when a terminal), always, never")
	return c
}

func defaultRedis() string {
	host, port := os.Getenv("REDIS_HOST"), os.Getenv("REDIS_PORT")
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "6379"
	}
	return host + ":" + port
}

// parse parses args and completes the options.
func (c *cli) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		return err
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags go after the command)", c.fs.Arg(0))
	}
	t, err := bench.ParseTarget(c.target)
	if err != nil {
		return err
	}
	c.o.Target = t
	if c.o.Counts, err = parseCounts(c.counts); err != nil {
		return err
	}
	c.o.Log = os.Stderr
	switch c.out.progress {
	case "always":
		c.o.Progress = os.Stderr
	case "auto":
		if isTerminal(os.Stderr) {
			c.o.Progress = os.Stderr
		}
	case "never":
	default:
		return fmt.Errorf("-progress %q: want auto, always or never", c.out.progress)
	}
	return c.o.Validate()
}

// parseCounts reads "1000,5k,1M".
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"), strings.HasSuffix(f, "K"):
			mult, f = 1000, f[:len(f)-1]
		case strings.HasSuffix(f, "M"), strings.HasSuffix(f, "m"):
			mult, f = 1_000_000, f[:len(f)-1]
		}
		n, err := strconv.ParseFloat(f, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-n %q: %q is not a positive count", s, f)
		}
		out = append(out, int(n*float64(mult)))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-n %q lists no counts", s)
	}
	return out, nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// emit prints reports as tables or JSON and writes charts.
func (c *cli) emit(reports []*bench.Report, extra []bench.Table) error {
	if c.out.json {
		if err := bench.WriteJSON(os.Stdout, reports, extra...); err != nil {
			return err
		}
	} else {
		bench.WriteText(os.Stdout, reports)
		bench.WriteTextTables(os.Stdout, extra...)
	}
	if c.out.plot != "" {
		files, err := bench.WritePlots(c.out.plot, reports)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintln(os.Stderr, "sluice-bench: wrote", f)
		}
	}
	return nil
}

func runScenario(ctx context.Context, name string, args []string) error {
	c := newCLI(name)
	if err := c.parse(args); err != nil {
		return err
	}
	rep, err := bench.Run(ctx, name, c.o)
	if err != nil {
		return err
	}
	return c.emit([]*bench.Report{rep}, nil)
}

func runCompare(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("usage: sluice-bench compare <hold|fanout|storm|mixed> -target A -b-target B [flags]")
	}
	scenario := args[0]
	c := newCLI("compare " + scenario)
	var bTarget, bRedis, bNamespace, aName, bName string
	var bPID int
	c.fs.StringVar(&bTarget, "b-target", "", "second target (required)")
	c.fs.IntVar(&bPID, "b-pid", 0, "second target's process id")
	c.fs.StringVar(&bRedis, "b-redis", "", "Redis of the second target (default: -redis)")
	c.fs.StringVar(&bNamespace, "b-namespace", "", "REDIS_NAMESPACE of the second target (default: -namespace)")
	c.fs.StringVar(&aName, "a-name", "A", "label of the first target")
	c.fs.StringVar(&bName, "b-name", "B", "label of the second target")
	if err := c.parse(args[1:]); err != nil {
		return err
	}
	if bTarget == "" {
		return fmt.Errorf("compare needs -b-target")
	}
	b := c.o
	t, err := bench.ParseTarget(bTarget)
	if err != nil {
		return err
	}
	b.Target, b.PID = t, bPID
	if bRedis != "" {
		b.Redis = bRedis
	}
	if bNamespace != "" {
		b.Namespace = bNamespace
	}
	reports, table, err := bench.Compare(ctx, scenario, c.o, b, aName, bName)
	if len(reports) > 0 {
		if eerr := c.emit(reports, []bench.Table{table}); eerr != nil {
			return eerr
		}
	}
	return err
}

func runSuite(ctx context.Context, args []string) error {
	c := newCLI("suite")
	var markdown, update, only, beforeEach string
	c.fs.StringVar(&markdown, "markdown", "", "write the markdown fragment for BENCHMARKS.md to this file")
	c.fs.StringVar(&update, "update", "", "splice the fragment into this file between <!-- bench:begin --> and <!-- bench:end -->")
	c.fs.StringVar(&only, "only", "", "run only these suite entries (comma list of hold-sse, hold-ws, fanout-sse, fanout-ws, storm-sse, mixed)")
	c.fs.StringVar(&beforeEach, "before-each", "", "shell command run before each entry (SLUICE_BENCH_ENTRY names it), e.g. to restart the target; use with -pid-file")
	if err := c.parse(args); err != nil {
		return err
	}
	var hooks bench.SuiteHooks
	if only != "" {
		set := map[string]bool{}
		for _, n := range strings.Split(only, ",") {
			set[strings.TrimSpace(n)] = true
		}
		hooks.Keep = func(n string) bool { return set[n] }
	}
	if beforeEach != "" {
		hooks.BeforeEach = func(entry string) error {
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", beforeEach)
			cmd.Env = append(os.Environ(), "SLUICE_BENCH_ENTRY="+entry)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			return cmd.Run()
		}
	}
	reports, errs := bench.RunSuite(ctx, c.o, hooks)
	if err := c.emit(reports, nil); err != nil {
		return err
	}
	var md bytes.Buffer
	bench.WriteSuiteMarkdown(&md, commandLine(), bench.ReadMachine(), reports, errs, beforeEach != "")
	if markdown != "" {
		if err := os.WriteFile(markdown, md.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if update != "" {
		if err := bench.SpliceFile(update, md.Bytes()); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// commandLine reconstructs the invocation for the report, quoting where a
// shell would need it.
func commandLine() string {
	parts := []string{"sluice-bench"}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\`*?") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
