package bench

import (
	"context"
	"fmt"
	"time"
)

// The fanout scenario: for each subscriber count of the sweep, hold N
// subscribers on one stream, publish -messages realistic payloads into
// Redis at -pub-rate, and account every delivery: latency (receive time −
// publish time) into a histogram, and per subscriber the losses,
// duplicates and reorderings.

// deliveries are the delivery counts of a set of groups.
type deliveries struct {
	Expected, Unique, Lost, Dup, Late, Unexpected, Foreign, SubErrors int64
}

// countDeliveries compares what arrived with what was published: every
// tracker (a connection and one of its group's channels) that was
// established at least once expects every message published on its channel.
func countDeliveries(s Snapshot, groups []Group, published []int64, include func(Group) bool) deliveries {
	var d deliveries
	for gi, g := range groups {
		if gi >= len(s.Groups) || (include != nil && !include(g)) {
			continue
		}
		gs := s.Groups[gi]
		for i, ch := range g.Channels {
			if i < len(gs.Active) && ch < len(published) {
				d.Expected += gs.Active[i] * published[ch]
			}
		}
		d.Unique += gs.Unique
		d.Dup += gs.Dup
		d.Late += gs.Late
		d.Unexpected += gs.Unexpected
		d.Foreign += gs.Foreign
		d.SubErrors += gs.SubErrors
	}
	d.Lost = max(0, d.Expected-d.Unique)
	return d
}

// drain waits after publishing until every expected delivery to the
// included groups has arrived, or none has arrived for o.Drain.
func (r *runner) drain(ctx context.Context, groups []Group, published []int64, include func(Group) bool) {
	last, lastChange := int64(-1), time.Now()
	for {
		d := countDeliveries(r.snapshot(), groups, published, include)
		if d.Unique >= d.Expected {
			return
		}
		if d.Unique != last {
			last, lastChange = d.Unique, time.Now()
		}
		if time.Since(lastChange) > r.o.Drain || sleepCtx(ctx, 20*time.Millisecond) != nil {
			return
		}
	}
}

// RunFanout runs the fanout scenario over every count in o.Counts.
func RunFanout(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	pub, err := o.publisher()
	if err != nil {
		return nil, err
	}
	if o.Publisher == nil {
		defer pub.Close()
	}
	r := newRunner(o, "fanout", "fanout: "+o.transport())
	r.rep.param("n", joinInts(o.Counts))
	r.rep.param("messages", o.Messages)
	r.rep.param("pub_rate", o.PubRate)
	r.rep.param("namespace", o.Namespace)
	ctx, cancel := context.WithTimeout(ctx, o.MaxDuration)
	defer cancel()
	table := Table{Title: "Delivery latency (publish → receive) and accounting", Columns: []string{
		"Subscribers", "Delivered / expected", "Lost", "Dup", "Out of order", "p50", "p90", "p99", "p99.9", "max", "CPU/delivery"}}
	for _, n := range o.Counts {
		row, err := fanoutOnce(ctx, r, pub, n)
		if err != nil {
			r.rep.note("n=%d: %v", n, err)
			if ctx.Err() != nil {
				break
			}
		}
		if row != nil {
			table.Rows = append(table.Rows, row)
		}
	}
	r.rep.Tables = append(r.rep.Tables, table)
	return r.finish(), nil
}

func (o *Options) publisher() (Publisher, error) {
	if o.Publisher != nil {
		return o.Publisher, nil
	}
	return NewRedisPublisher(o.Redis)
}

// fanoutOnce measures one subscriber count and returns its table row.
func fanoutOnce(ctx context.Context, r *runner, pub Publisher, n int) ([]string, error) {
	g, chans, err := r.o.streamGroup(n)
	if err != nil {
		return nil, err
	}
	ch := Channel{Name: chans[0], Event: EventFor(chans[0])}
	g.Channels = []int{0}
	groups := []Group{g}
	r.run = newRunID()
	r.pubbed.Store(0)
	if err := r.open(groups, 0); err != nil {
		return nil, err
	}
	defer r.close()
	label := fmtInt(int64(n))
	r.phase("fanout " + label + " connect")
	r.fleet.Grow(n)
	if err := r.waitResolved(ctx, int64(n), n, r.o.Rate); err != nil {
		return nil, err
	}
	if !waitSubscribed(ctx, pub, []string{ch.RedisName(r.o.Namespace)}, 5*time.Second) {
		r.rep.note("n=%d: PUBSUB NUMSUB never showed a subscriber on %s; is -namespace right?", n, ch.RedisName(r.o.Namespace))
	}
	if err := sleepCtx(ctx, r.o.Settle); err != nil {
		return nil, err
	}
	cpu0, hasCPU := r.target()
	r.phase("fanout " + label + " publish")
	pr := publish(ctx, pub, pubPlan{Channels: []Channel{ch}, Weights: []int{1}, Namespace: r.o.Namespace,
		Run: r.run, Messages: r.o.Messages, Rate: r.o.PubRate}, r.pubbed.Store)
	r.phase("fanout " + label + " drain")
	r.drain(ctx, groups, pr.Published, nil)
	end := time.Now()
	cpu1, _ := r.target()
	res, err := r.close()
	if err != nil {
		r.rep.note("n=%d: %v", n, err)
	}
	cpu := -1.0
	if hasCPU {
		cpu = cpu1.CPU - cpu0.CPU
	}
	return r.fanoutFigures(n, groups, res, pr, end, cpu), nil
}

// fanoutFigures records the metrics of one subscriber count and returns
// its table row; cpu < 0 means the target was not sampled.
func (r *runner) fanoutFigures(n int, groups []Group, res Result, pr pubResult, end time.Time, cpu float64) []string {
	d := countDeliveries(res.Snapshot, groups, pr.Published, nil)
	lat := res.LatencyAll()
	label, key := fmtInt(int64(n)), fmt.Sprintf("fanout.%d.", n)
	subs := res.Total().Established
	rep := r.rep
	rep.metric(key+"subscribers", "subscribers at "+label, float64(subs), "conns", false)
	rep.metric(key+"published", "messages published at "+label, float64(sum(pr.Published)), "count", false)
	rep.metric(key+"expected", "deliveries expected at "+label, float64(d.Expected), "count", false)
	rep.metric(key+"delivered", "deliveries received at "+label, float64(d.Unique), "count", false)
	rep.metric(key+"lost", "lost at "+label, float64(d.Lost), "count", true)
	rep.metric(key+"dup", "duplicated at "+label, float64(d.Dup), "count", true)
	rep.metric(key+"late", "out of order at "+label, float64(d.Late), "count", true)
	r.latencyMetrics(key+"latency_", "latency at "+label+" ", lat)
	if sec := end.Sub(pr.Start).Seconds(); sec > 0 {
		rep.metric(key+"deliveries_per_s", "deliveries per second at "+label, float64(d.Unique)/sec, "/s", false)
	}
	cpuCell := "–"
	if cpu >= 0 && d.Unique > 0 {
		us := cpu / float64(d.Unique) * 1e6
		rep.metric(key+"cpu_us_per_delivery", "target CPU per delivery at "+label, us, "µs", true)
		rep.metric(key+"cpu_seconds", "target CPU seconds while publishing at "+label, cpu, "s", true)
		cpuCell = fmtValue(us, "µs")
	}
	notePublishing(r, n, pr, d)
	r.addReasons(res.Snapshot, fmt.Sprintf("n=%d: ", n))
	p := LatencyPoint{Label: r.o.shortTransport(), Subscribers: subs, P50: nsToMS(lat.Quantile(0.5)), P90: nsToMS(lat.Quantile(0.9)),
		P99: nsToMS(lat.Quantile(0.99)), P999: nsToMS(lat.Quantile(0.999)), Max: nsToMS(lat.Max())}
	rep.Latency = append(rep.Latency, p)
	return []string{fmtInt(subs), fmtInt(d.Unique) + " / " + fmtInt(d.Expected), fmtInt(d.Lost), fmtInt(d.Dup), fmtInt(d.Late),
		fmtMS(p.P50), fmtMS(p.P90), fmtMS(p.P99), fmtMS(p.P999), fmtMS(p.Max), cpuCell}
}

// notePublishing adds notes about anything that makes the figures suspect.
func notePublishing(r *runner, n int, pr pubResult, d deliveries) {
	if pr.Errors > 0 {
		r.rep.note("n=%d: %d publish errors (first: %s)", n, pr.Errors, pr.FirstErr)
	}
	if pr.Behind > 100*time.Millisecond {
		r.rep.note("n=%d: the publisher fell %v behind its schedule; latency includes Redis or client saturation", n, pr.Behind.Round(time.Millisecond))
	}
	if d.Unexpected > 0 {
		r.rep.note("n=%d: %d deliveries arrived on a stream that should not carry them", n, d.Unexpected)
	}
	if d.Foreign > 0 {
		r.rep.note("n=%d: %d marker events from another run were ignored", n, d.Foreign)
	}
	if d.SubErrors > 0 {
		r.rep.note("n=%d: the server answered %d subscribe messages with an error", n, d.SubErrors)
	}
}

func sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}
