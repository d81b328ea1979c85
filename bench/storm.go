package bench

import (
	"context"
	"fmt"
	"time"
)

// The storm scenario: hold N streams, then (1) drop them all at once and
// reconnect them all, -storm-rounds times, the way clients behave after a
// server restart or a network blip; then (2) churn: close and reopen
// -churn-rate streams per second for -churn-for, the steady turnover of a
// live instance. It reports how fast the target accepts and the errors.

// RunStorm runs the storm scenario.
func RunStorm(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	n := o.maxCount()
	g, _, err := o.streamGroup(n)
	if err != nil {
		return nil, err
	}
	r := newRunner(o, "storm", "storm: "+o.transport())
	r.rep.param("n", n)
	r.rep.param("rounds", o.StormRounds)
	r.rep.param("storm_rate", rateLabel(o.StormRate))
	r.rep.param("churn_rate", o.ChurnRate)
	r.rep.param("churn_for", o.ChurnFor)
	ctx, cancel := context.WithTimeout(ctx, o.MaxDuration)
	defer cancel()
	if err := r.open([]Group{g}, 0); err != nil {
		return nil, err
	}
	defer r.close()
	r.phase("storm connect")
	r.fleet.Grow(n)
	if err := r.waitResolved(ctx, int64(n), n, o.Rate); err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, o.Settle); err != nil {
		return nil, err
	}
	if _, err := r.fleet.Harvest(); err != nil {
		return nil, err
	}
	table := Table{Title: "Reconnect storms and churn", Columns: []string{
		"Phase", "Closed", "Re-established", "Failed", "Took", "Accept rate", "Establish p50", "p99", "max", "Target CPU"}}
	for round := 1; round <= o.StormRounds && ctx.Err() == nil; round++ {
		row, err := stormRound(ctx, r, round)
		if err != nil {
			r.rep.note("round %d: %v", round, err)
		}
		if row != nil {
			table.Rows = append(table.Rows, row)
		}
		if sleepCtx(ctx, o.Settle) != nil {
			break
		}
	}
	if o.ChurnFor > 0 && o.ChurnRate > 0 && ctx.Err() == nil {
		row, err := churnPhase(ctx, r)
		if err != nil {
			r.rep.note("churn: %v", err)
		}
		if row != nil {
			table.Rows = append(table.Rows, row)
		}
	}
	r.rep.Tables = append(r.rep.Tables, table)
	res, err := r.close()
	if err != nil {
		r.rep.note("%v", err)
	}
	r.addReasons(res.Snapshot, "all phases: ")
	return r.finish(), nil
}

func rateLabel(r float64) string {
	if r <= 0 {
		return "unlimited"
	}
	return fmt.Sprint(r)
}

// stormRound drops every stream and waits for all of them to reconnect.
func stormRound(ctx context.Context, r *runner, round int) ([]string, error) {
	r.phase(fmt.Sprintf("storm round %d", round))
	s0 := r.snapshot()
	closed := s0.Total().Open + s0.Inflight
	cpu0, hasCPU := r.target()
	r.fleet.SetRate(r.o.StormRate)
	t0 := time.Now()
	r.fleet.DropAll()
	s1, err := r.waitRedialed(ctx, s0, closed, r.o.StormRate)
	closed = s1.Total().Redials - s0.Total().Redials
	cpu1, _ := r.target()
	r.fleet.SetRate(r.o.Rate)
	res, herr := r.fleet.Harvest()
	if herr != nil {
		return nil, herr
	}
	took := time.Duration(s1.LastResolved - t0.UnixNano())
	if took <= 0 {
		took = time.Since(t0)
	}
	key := fmt.Sprintf("storm.round%d.", round)
	return phaseRow(r, key, fmt.Sprintf("storm %d", round), closed, s0, s1, took, res.Establish, cpu1.CPU-cpu0.CPU, hasCPU), err
}

// churnPhase closes and reopens ChurnRate streams per second for ChurnFor.
func churnPhase(ctx context.Context, r *runner) ([]string, error) {
	r.phase("churn")
	s0 := r.snapshot()
	cpu0, hasCPU := r.target()
	r.fleet.SetRate(0)
	t0 := time.Now()
	const tick = 100 * time.Millisecond
	carry := 0.0
	for time.Since(t0) < r.o.ChurnFor {
		carry += r.o.ChurnRate * tick.Seconds()
		k := int(carry)
		carry -= float64(k)
		if k > 0 {
			r.fleet.Churn(k)
		}
		if err := sleepCtx(ctx, tick); err != nil {
			break
		}
	}
	s1, err := r.waitRedialed(ctx, s0, 0, 0)
	closed := s1.Total().Redials - s0.Total().Redials
	cpu1, _ := r.target()
	r.fleet.SetRate(r.o.Rate)
	res, herr := r.fleet.Harvest()
	if herr != nil {
		return nil, herr
	}
	return phaseRow(r, "storm.churn.", "churn", closed, s0, s1, time.Since(t0), res.Establish, cpu1.CPU-cpu0.CPU, hasCPU), err
}

// waitRedialed waits until at least minClosed streams have been closed for
// reconnection since s0 and every one of those reconnects has resolved.
func (r *runner) waitRedialed(ctx context.Context, s0 Snapshot, minClosed int64, rate float64) (Snapshot, error) {
	limit := r.o.ConnectTimeout + 15*time.Second
	if rate > 0 {
		limit += time.Duration(float64(minClosed) / rate * 2 * float64(time.Second))
	}
	deadline := time.Now().Add(limit)
	t0 := s0.Total()
	for {
		s := r.snapshot()
		t := s.Total()
		redials := t.Redials - t0.Redials
		if redials >= minClosed && resolved(s)-resolved(s0) >= redials {
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("bench: %d of %d reconnects resolved within %v", resolved(s)-resolved(s0), redials, limit.Round(time.Second))
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return s, err
		}
	}
}

// phaseRow records the metrics of one storm or churn phase.
func phaseRow(r *runner, key, name string, closed int64, s0, s1 Snapshot, took time.Duration, est *Hist, cpu float64, hasCPU bool) []string {
	t0, t1 := s0.Total(), s1.Total()
	reest, failed := t1.Established-t0.Established, t1.Failed-t0.Failed
	rate := float64(reest) / max(took.Seconds(), 1e-9)
	rep := r.rep
	rep.metric(key+"closed", name+": streams closed", float64(closed), "conns", false)
	rep.metric(key+"reestablished", name+": re-established", float64(reest), "conns", false)
	rep.metric(key+"failed", name+": failed", float64(failed), "conns", true)
	rep.metric(key+"seconds", name+": took", took.Seconds(), "s", true)
	rep.metric(key+"accept_rate", name+": accept rate", rate, "conn/s", false)
	if est == nil {
		est = NewHist()
	}
	r.latencyMetrics(key+"establish_", name+": time to establish ", est)
	cpuCell := "–"
	if hasCPU {
		rep.metric(key+"cpu_seconds", name+": target CPU", cpu, "s", true)
		cpuCell = fmtValue(cpu, "s")
	}
	return []string{name, fmtInt(closed), fmtInt(reest), fmtInt(failed), fmtMS(took.Seconds() * 1000),
		fmtValue(rate, "conn/s"), fmtMS(nsToMS(est.Quantile(0.5))), fmtMS(nsToMS(est.Quantile(0.99))), fmtMS(nsToMS(est.Max())), cpuCell}
}
