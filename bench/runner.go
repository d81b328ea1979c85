package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runner is the machinery every scenario shares: opening the fleet, the
// progress line, /proc sampling of the target, and waiting for attempts.
// It runs on the scenario's goroutine except where noted.
type runner struct {
	o      Options
	rep    *Report
	start  time.Time
	fleet  fleet
	prog   *progress
	run    uint32
	srcs   int
	pubbed atomic.Int64 // messages published, for the progress line
	warned atomic.Bool  // a target sampling error was logged

	seriesMu   sync.Mutex
	series     []RSSPoint
	stopSeries chan struct{}
	seriesDone chan struct{}
}

func newRunner(o Options, scenario, title string) *runner {
	r := &runner{o: o, start: time.Now(), run: newRunID()}
	r.rep = &Report{Scenario: scenario, Title: title, Target: o.Target.String(), Started: r.start.UTC()}
	r.prog = newProgress(o.Progress, r)
	return r
}

// open starts a fleet for groups (not connecting yet).
func (r *runner) open(groups []Group, slowRate int) error {
	total := 0
	for _, g := range groups {
		total += g.Count
	}
	srcs, err := PlanSources(r.o.Target, total, LocalPortCount(), r.o.Sources)
	if err != nil {
		return err
	}
	r.srcs = len(srcs)
	loops := r.o.Loops
	if loops <= 0 {
		loops = min(4, runtime.NumCPU())
	}
	f, err := openFleet(fleetOptions{
		Target: r.o.Target, Token: r.o.Token, Groups: groups, Rate: r.o.Rate,
		MaxInflight: r.o.MaxInflight, Sources: srcs, Loops: loops,
		ConnectTimeout: r.o.ConnectTimeout, SlowRate: slowRate, Run: r.run,
		Workers: r.o.Workers, PerWorker: r.o.PerWorker,
		Deadline: time.Now().Add(r.o.MaxDuration + 30*time.Second),
	})
	if err != nil {
		return err
	}
	r.fleet = f
	r.prog.start()
	return nil
}

// close stops the progress line and the fleet and returns the final
// harvest.
func (r *runner) close() (Result, error) {
	r.stopRSSSeries()
	r.prog.stop()
	if r.fleet == nil {
		return Result{}, nil
	}
	res, err := r.fleet.Close()
	r.fleet = nil
	return res, err
}

func (r *runner) finish() *Report {
	r.rep.Seconds = time.Since(r.start).Seconds()
	return r.rep
}

// phase names what the progress line shows.
func (r *runner) phase(p string) { r.prog.setPhase(p) }

func (r *runner) snapshot() Snapshot {
	if r.fleet == nil {
		return Snapshot{}
	}
	return r.fleet.Snapshot()
}

// resolved is the count of attempts that have succeeded or failed.
func resolved(s Snapshot) int64 {
	t := s.Total()
	return t.Established + t.Failed
}

// waitResolved waits until `want` attempts have resolved (established or
// failed), or until the time a ramp of `pending` connections at the rate
// could reasonably take, plus the connect timeout, has passed.
func (r *runner) waitResolved(ctx context.Context, want int64, pending int, rate float64) error {
	limit := r.o.ConnectTimeout + 15*time.Second
	if rate > 0 {
		limit += time.Duration(float64(pending) / rate * 2 * float64(time.Second))
	}
	deadline := time.Now().Add(limit)
	for {
		if resolved(r.snapshot()) >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: only %d of %d connection attempts resolved within %v", resolved(r.snapshot()), want, limit.Round(time.Second))
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// target samples the target process; ok is false without -pid.
func (r *runner) target() (ProcSample, bool) {
	pid := r.o.PID
	if r.o.PIDFile != "" {
		b, err := os.ReadFile(r.o.PIDFile)
		if err != nil {
			r.warnOnce("-pid-file: %v", err)
			return ProcSample{}, false
		}
		if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			r.warnOnce("-pid-file %s: %q is not a process id", r.o.PIDFile, strings.TrimSpace(string(b)))
			return ProcSample{}, false
		}
	}
	if pid <= 0 {
		return ProcSample{}, false
	}
	s, err := ReadProc(pid)
	if err != nil {
		r.warnOnce("%v (target figures omitted)", err)
		return ProcSample{}, false
	}
	return s, true
}

// warnOnce logs the first target sampling problem of a run; samples are
// taken every 250 ms, and one line says enough.
func (r *runner) warnOnce(format string, a ...any) {
	if !r.warned.Swap(true) {
		r.logf(format, a...)
	}
}

func (r *runner) logf(format string, a ...any) {
	if r.o.Log != nil {
		r.prog.clear()
		fmt.Fprintf(r.o.Log, "sluice-bench: "+format+"\n", a...)
	}
}

// startRSSSeries samples (open connections, target RSS, client RSS, slab)
// every 250 ms on its own goroutine until stopRSSSeries.
func (r *runner) startRSSSeries() {
	r.stopSeries, r.seriesDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.seriesDone)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			s := r.snapshot()
			p := RSSPoint{Seconds: time.Since(r.start).Seconds(), Open: s.Total().Open, ClientRSS: s.ClientRSS, Slab: ReadSys().Slab}
			if ts, ok := r.target(); ok {
				p.TargetRSS = ts.RSS
			}
			r.seriesMu.Lock()
			r.series = append(r.series, p)
			r.seriesMu.Unlock()
			select {
			case <-r.stopSeries:
				return
			case <-t.C:
			}
		}
	}()
}

func (r *runner) stopRSSSeries() {
	if r.stopSeries == nil {
		return
	}
	close(r.stopSeries)
	<-r.seriesDone
	r.stopSeries = nil
	r.seriesMu.Lock()
	r.rep.RSS = append(r.rep.RSS, r.series...)
	r.series = nil
	r.seriesMu.Unlock()
}

// reasonsTable renders failure or drop reasons.
func reasonsTable(title string, m map[string]int64) Table {
	t := Table{Title: title, Columns: []string{"Reason", "Count"}}
	for _, k := range sortedKeys(m) {
		t.Rows = append(t.Rows, []string{k, fmtInt(m[k])})
	}
	return t
}

// addReasons appends failure and drop tables when there is anything in them.
func (r *runner) addReasons(s Snapshot, label string) {
	if len(s.Failures) > 0 {
		r.rep.Tables = append(r.rep.Tables, reasonsTable(label+"failed connection attempts by reason", s.Failures))
	}
	if len(s.Drops) > 0 {
		r.rep.Tables = append(r.rep.Tables, reasonsTable(label+"streams ended by the server, by reason", s.Drops))
	}
}

// latencyMetrics adds the percentile metrics of h under prefix.
func (r *runner) latencyMetrics(prefix, label string, h *Hist) {
	r.rep.metric(prefix+"p50", label+"p50", nsToMS(h.Quantile(0.50)), "ms", true)
	r.rep.metric(prefix+"p90", label+"p90", nsToMS(h.Quantile(0.90)), "ms", true)
	r.rep.metric(prefix+"p99", label+"p99", nsToMS(h.Quantile(0.99)), "ms", true)
	r.rep.metric(prefix+"p999", label+"p99.9", nsToMS(h.Quantile(0.999)), "ms", true)
	r.rep.metric(prefix+"max", label+"max", nsToMS(h.Max()), "ms", true)
}
