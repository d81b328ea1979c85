package bench

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The hold scenario: open N idle streams at a set rate (pausing at each of
// the -n steps to sample the target), keep them for -hold, close them, and
// report what establishing and holding cost.

type holdStep struct {
	N         int
	Snap      Snapshot
	Target    ProcSample
	HasTarget bool
	Sys       SysSample
}

// RunHold runs the hold scenario.
func RunHold(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	steps := slices.Clone(o.Counts)
	slices.Sort(steps)
	steps = slices.Compact(steps)
	n := steps[len(steps)-1]
	g, _, err := o.streamGroup(n)
	if err != nil {
		return nil, err
	}
	r := newRunner(o, "hold", "hold: "+o.transport())
	r.rep.Label = o.shortTransport()
	r.rep.param("n", joinInts(steps))
	r.rep.param("rate", o.Rate)
	r.rep.param("hold", o.Hold)
	ctx, cancel := context.WithTimeout(ctx, o.MaxDuration)
	defer cancel()

	h := &holdReport{r: r, o: o, before: r.sample(0)}
	if err := r.open([]Group{g}, 0); err != nil {
		return nil, err
	}
	defer r.close()
	r.rep.param("client_procs", r.fleet.Procs())
	r.rep.param("sources", r.srcs)
	h.before.Snap = r.snapshot()
	r.startRSSSeries()
	stopped := h.ramp(ctx, steps)
	h.holdFrom = r.sample(n)
	if stopped == nil {
		r.phase("hold")
		stopped = sleepCtx(ctx, o.Hold)
	}
	h.holdTo = r.sample(n)
	var err2 error
	if h.res, err2 = r.close(); err2 != nil {
		r.rep.note("%v", err2)
	}
	if o.PID > 0 || o.PIDFile != "" {
		_ = sleepCtx(context.Background(), min(o.Settle, 5*time.Second))
		h.after = r.sample(0)
	}
	if stopped != nil {
		r.rep.note("stopped early: %v", stopped)
	}
	h.build()
	return r.finish(), nil
}

// sample records the fleet, the target and the kernel now.
func (r *runner) sample(n int) holdStep {
	s := holdStep{N: n, Snap: r.snapshot(), Sys: ReadSys()}
	s.Target, s.HasTarget = r.target()
	return s
}

// ramp opens the connections step by step, sampling after each step has
// settled, and adds up the time spent connecting (pauses excluded).
func (h *holdReport) ramp(ctx context.Context, steps []int) error {
	r, prev := h.r, 0
	var rampNS int64
	defer func() { h.rampSeconds = float64(rampNS) / 1e9 }()
	for _, k := range steps {
		r.phase("hold ramp→" + fmtInt(int64(k)))
		stepStart := time.Now().UnixNano()
		r.fleet.Grow(k)
		if err := r.waitResolved(ctx, int64(k), k-prev, h.o.Rate); err != nil {
			return err
		}
		rampNS += max(0, r.snapshot().LastEstablished-stepStart)
		prev = k
		r.phase("hold settle")
		if err := sleepCtx(ctx, h.o.Settle); err != nil {
			return err
		}
		h.rows = append(h.rows, r.sample(k))
	}
	return nil
}

type holdReport struct {
	r                               *runner
	o                               Options
	before, holdFrom, holdTo, after holdStep
	rows                            []holdStep
	res                             Result
	rampSeconds                     float64
}

func (h *holdReport) build() {
	rep := h.r.rep
	t := h.holdTo.Snap.Total()
	requested := h.o.maxCount()
	rep.metric("hold.requested", "connections requested", float64(requested), "conns", false)
	rep.metric("hold.established", "connections established", float64(t.Established), "conns", false)
	rep.metric("hold.failed", "connection attempts failed", float64(t.Failed), "conns", true)
	rep.metric("hold.open_end", "open at end of hold", float64(t.Open), "conns", false)
	rep.metric("hold.drops", "streams dropped by the server", float64(t.Drops), "conns", true)
	if h.rampSeconds > 0 {
		rep.metric("hold.connect_rate", "connect rate achieved", float64(t.Established)/h.rampSeconds, "conn/s", false)
	}
	est := h.res.Establish
	if est != nil && est.Count() > 0 {
		h.r.latencyMetrics("hold.establish_", "time to establish ", est)
	}
	holdSec := float64(h.holdTo.Snap.At-h.holdFrom.Snap.At) / 1e9
	hb := t.Heartbeats - h.holdFrom.Snap.Total().Heartbeats
	rep.metric("hold.heartbeats", "heartbeats seen during hold", float64(hb), "count", false)
	if t.Open > 0 && holdSec > 0 {
		rep.metric("hold.heartbeats_per_conn_min", "heartbeats per stream per minute", float64(hb)/float64(t.Open)/(holdSec/60), "/min", false)
	}
	h.targetMetrics(holdSec)
	rep.Tables = append(rep.Tables, rep.kvTable("Connections", "hold."))
	mem := rep.kvTable("Target, kernel and client memory and CPU", "target.")
	mem.Rows = append(mem.Rows, rep.kvTable("", "kernel.").Rows...)
	mem.Rows = append(mem.Rows, rep.kvTable("", "client.").Rows...)
	rep.Tables = append(rep.Tables, mem)
	if len(h.rows) > 0 {
		rep.Tables = append(rep.Tables, h.stepTable())
	}
	if p := projectionTable(rep); len(p.Rows) > 0 {
		rep.Tables = append(rep.Tables, p)
	}
	h.r.addReasons(h.holdTo.Snap, "")
	if t.Failed > 0 && h.o.Target.Network == "tcp4" && h.r.srcs <= 1 {
		rep.note("failures with one source address: try -src auto")
	}
}

// targetMetrics adds the memory and CPU figures of the target, the kernel
// and the client.
func (h *holdReport) targetMetrics(holdSec float64) {
	rep := h.r.rep
	full := h.holdFrom
	if len(h.rows) > 0 {
		full = h.rows[len(h.rows)-1]
	}
	open := max(1, full.Snap.Total().Open)
	if h.before.HasTarget && full.HasTarget {
		rep.metric("target.rss_before", "target RSS before", float64(h.before.Target.RSS), "B", true)
		rep.metric("target.rss_full", fmt.Sprintf("target RSS with %s streams", fmtInt(open)), float64(full.Target.RSS), "B", true)
		if h.holdTo.HasTarget {
			rep.metric("target.rss_end", "target RSS at end of hold", float64(h.holdTo.Target.RSS), "B", true)
		}
		if h.after.HasTarget {
			rep.metric("target.rss_after", "target RSS after close", float64(h.after.Target.RSS), "B", true)
		}
		rep.metric("target.rss_per_conn", "target RSS per stream", float64(full.Target.RSS-h.before.Target.RSS)/float64(open), "B", true)
		if len(h.rows) > 1 && h.rows[0].HasTarget {
			first := h.rows[0]
			added := max(1, open-first.Snap.Total().Open)
			rep.metric("target.rss_marginal", fmt.Sprintf("target RSS per stream added from %s to %s", fmtInt(first.Snap.Total().Open), fmtInt(open)),
				float64(full.Target.RSS-first.Target.RSS)/float64(added), "B", true)
		}
		rep.metric("target.cpu_ramp", "target CPU while connecting", full.Target.CPU-h.before.Target.CPU, "s", true)
		if h.holdFrom.HasTarget && h.holdTo.HasTarget && holdSec > 0 {
			rep.metric("target.cpu_hold_pct", "target CPU while idle (share of one core)", 100*(h.holdTo.Target.CPU-h.holdFrom.Target.CPU)/holdSec, "%", true)
		}
		rep.metric("target.threads", "target threads", float64(full.Target.Threads), "count", true)
	}
	if full.Sys.Slab > 0 && h.before.Sys.Slab > 0 {
		// Both ends of every loopback connection are on this machine.
		rep.metric("kernel.slab_per_socket", "kernel slab per socket (system-wide Δ / 2 per stream)", float64(full.Sys.Slab-h.before.Sys.Slab)/float64(2*open), "B", true)
	}
	rep.metric("client.rss", "client RSS (all client processes)", float64(full.Snap.ClientRSS), "B", true)
	rep.metric("client.rss_per_conn", "client RSS per connection (total / open)", float64(full.Snap.ClientRSS)/float64(open), "B", true)
}

func (h *holdReport) stepTable() Table {
	t := Table{Title: "Per step (RSS/stream: growth since before ÷ streams; marginal: growth since the previous step ÷ streams added; slab is system-wide and noisy at small steps)",
		Columns: []string{"Streams", "Established", "Failed", "Target RSS", "RSS/stream", "Marginal", "Client RSS", "Slab/socket"}}
	prev := h.before
	for _, s := range h.rows {
		tot := s.Snap.Total()
		open := max(1, tot.Open)
		added := max(1, open-prev.Snap.Total().Open)
		row := []string{fmtInt(int64(s.N)), fmtInt(tot.Established), fmtInt(tot.Failed), "–", "–", "–", fmtBytes(float64(s.Snap.ClientRSS)), "–"}
		if s.HasTarget && h.before.HasTarget {
			perConn := float64(s.Target.RSS-h.before.Target.RSS) / float64(open)
			marginal := float64(s.Target.RSS-prev.Target.RSS) / float64(added)
			row[3], row[4], row[5] = fmtBytes(float64(s.Target.RSS)), fmtBytes(perConn), fmtBytes(marginal)
			h.r.rep.metric(fmt.Sprintf("step.%d.rss_per_conn", s.N), fmt.Sprintf("target RSS per stream at %s", fmtInt(int64(s.N))), perConn, "B", true)
			h.r.rep.metric(fmt.Sprintf("step.%d.rss_marginal", s.N), fmt.Sprintf("target RSS per added stream up to %s", fmtInt(int64(s.N))), marginal, "B", true)
		}
		if s.Sys.Slab > 0 && h.before.Sys.Slab > 0 {
			row[7] = fmtBytes(float64(s.Sys.Slab-h.before.Sys.Slab) / float64(2*open))
		}
		t.Rows = append(t.Rows, row)
		prev = s
	}
	return t
}

// projectionTable multiplies the measured per-stream costs out to one
// million streams. It is arithmetic on measurements, not a measurement.
// For userland it takes the larger of the average and the marginal
// per-stream RSS, since a warm heap can hide part of either.
func projectionTable(rep *Report) Table {
	t := Table{Title: "Projection to 1,000,000 streams (derived: per-stream cost × 10⁶, not measured)", Columns: []string{"Item", "Per stream", "× 1,000,000"}}
	user, okU := rep.Metric("target.rss_per_conn")
	if m, ok := rep.Metric("target.rss_marginal"); ok && okU && m.Value > user.Value {
		user = m
	}
	kern, okK := rep.Metric("kernel.slab_per_socket")
	if okU {
		t.Rows = append(t.Rows, []string{"target userland (RSS)", fmtBytes(user.Value), fmtBytes(user.Value * 1e6)})
	}
	if okK {
		t.Rows = append(t.Rows, []string{"kernel, server-side socket (slab)", fmtBytes(kern.Value), fmtBytes(kern.Value * 1e6)})
	}
	if okU && okK {
		t.Rows = append(t.Rows, []string{"total on the server host", fmtBytes(user.Value + kern.Value), fmtBytes((user.Value + kern.Value) * 1e6)})
		rep.metric("projection.1m_bytes", "projected server memory for 1M streams", (user.Value+kern.Value)*1e6, "B", true)
	}
	return t
}

func joinInts(v []int) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(x)
	}
	return s
}
