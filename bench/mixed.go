package bench

import (
	"context"
	"fmt"
	"math"
	"time"
)

// The mixed scenario: a realistic instance profile. Most clients follow
// their home timeline and notifications (the web UI's "user" WebSocket,
// mobile apps' SSE user and notification streams), some watch public,
// local or a hashtag, a web-UI share subscribes several columns on one
// WebSocket, and a few clients read slowly. Statuses, notifications and
// public posts are published together at -pub-rate; the report has the
// hold figures and the delivery figures per client kind.

// mixChannel keys of the mixed profile's channel table.
const (
	mixHome = iota
	mixNotif
	mixPublic
	mixLocal
	mixTag
)

type profileEntry struct {
	name      string
	percent   float64
	ws        bool
	path      string
	subscribe []string
	channels  []int
	slow      bool
}

// mixedProfile is the default instance profile (percent of connections).
var mixedProfile = []profileEntry{
	{name: "sse user", percent: 30, path: "/api/v1/streaming/user", channels: []int{mixHome, mixNotif}},
	{name: "sse user:notification", percent: 15, path: "/api/v1/streaming/user/notification", channels: []int{mixNotif}},
	{name: "ws user", percent: 27, ws: true, path: "?stream=user", channels: []int{mixHome, mixNotif}},
	{name: "ws user+local+hashtag", percent: 8, ws: true, path: "?stream=user",
		subscribe: []string{`{"type":"subscribe","stream":"public:local"}`, `{"type":"subscribe","stream":"hashtag","tag":"bench"}`},
		channels:  []int{mixHome, mixNotif, mixLocal, mixTag}},
	{name: "sse public", percent: 10, path: "/api/v1/streaming/public", channels: []int{mixPublic}},
	{name: "sse public:local", percent: 4, path: "/api/v1/streaming/public/local", channels: []int{mixLocal}},
	{name: "sse hashtag", percent: 4, path: "/api/v1/streaming/hashtag?tag=bench", channels: []int{mixTag}},
	{name: "sse public, slow reader", percent: 2, path: "/api/v1/streaming/public", channels: []int{mixPublic}, slow: true},
}

// mixedWeights is the share of published messages per channel.
var mixedWeights = []int{mixHome: 35, mixNotif: 15, mixPublic: 30, mixLocal: 10, mixTag: 10}

// mixedChannels is the channel table of the profile for an account.
func mixedChannels(account string) []Channel {
	home := "timeline:" + account
	return []Channel{
		mixHome:   {Name: home, Event: "update"},
		mixNotif:  {Name: home + ":notifications", Event: "notification"},
		mixPublic: {Name: "timeline:public", Event: "update"},
		mixLocal:  {Name: "timeline:public:local", Event: "update"},
		mixTag:    {Name: "timeline:hashtag:bench", Event: "update"},
	}
}

// mixedGroups splits n connections over the profile.
func mixedGroups(n int, wsPath string) []Group {
	weights := make([]int, len(mixedProfile))
	for i, p := range mixedProfile {
		weights[i] = int(math.Round(p.percent * 100))
	}
	counts := SplitProportional(n, weights)
	var out []Group
	for i, p := range mixedProfile {
		if counts[i] == 0 {
			continue
		}
		path := p.path
		if p.ws {
			path = wsPath + p.path
		}
		out = append(out, Group{Name: p.name, Count: counts[i], WS: p.ws, Path: path, Subscribe: p.subscribe, Channels: p.channels, Slow: p.slow})
	}
	return out
}

// RunMixed runs the mixed scenario with N = the largest of o.Counts.
func RunMixed(ctx context.Context, o Options) (*Report, error) {
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
	n := o.maxCount()
	groups := mixedGroups(n, o.WSPath)
	chans := mixedChannels(o.Account)
	r := newRunner(o, "mixed", "mixed instance profile")
	r.rep.param("n", n)
	r.rep.param("messages", o.Messages)
	r.rep.param("pub_rate", o.PubRate)
	r.rep.param("slow_rate", fmt.Sprintf("%dB/s", o.SlowRate))
	ctx, cancel := context.WithTimeout(ctx, o.MaxDuration)
	defer cancel()
	sys0 := ReadSys()
	t0, hasT := r.target()
	if err := r.open(groups, o.SlowRate); err != nil {
		return nil, err
	}
	defer r.close()
	r.startRSSSeries()
	r.phase("mixed connect")
	r.fleet.Grow(n)
	if err := r.waitResolved(ctx, int64(n), n, o.Rate); err != nil {
		return nil, err
	}
	names := make([]string, len(chans))
	for i, c := range chans {
		names[i] = c.RedisName(o.Namespace)
	}
	if !waitSubscribed(ctx, pub, names, 5*time.Second) {
		r.rep.note("PUBSUB NUMSUB did not show subscribers on every channel; is -namespace right?")
	}
	if err := sleepCtx(ctx, o.Settle); err != nil {
		return nil, err
	}
	full := r.snapshot()
	t1, _ := r.target()
	sys1 := ReadSys()
	r.phase("mixed publish")
	pr := publish(ctx, pub, pubPlan{Channels: chans, Weights: mixedWeights, Namespace: o.Namespace,
		Run: r.run, Messages: o.Messages, Rate: o.PubRate}, r.pubbed.Store)
	r.phase("mixed drain")
	r.drain(ctx, groups, pr.Published, func(g Group) bool { return !g.Slow })
	end := time.Now()
	t2, _ := r.target()
	res, err := r.close()
	if err != nil {
		r.rep.note("%v", err)
	}
	m := mixedReport{r: r, groups: groups, res: res, pr: pr, full: full, end: end}
	m.build()
	m.memory(t0, t1, t2, hasT, sys0, sys1)
	r.addReasons(res.Snapshot, "")
	notePublishing(r, n, pr, countDeliveries(res.Snapshot, groups, pr.Published, nil))
	return r.finish(), nil
}

// memory records the target's, the kernel's and the client's costs: t0
// before connecting, t1 with every stream open, t2 after publishing.
func (m *mixedReport) memory(t0, t1, t2 ProcSample, hasT bool, sys0, sys1 SysSample) {
	rep := m.r.rep
	open := max(1, m.full.Total().Open)
	if hasT {
		rep.metric("target.rss_per_conn", "target RSS per stream", float64(t1.RSS-t0.RSS)/float64(open), "B", true)
		rep.metric("target.rss_full", "target RSS with every stream open", float64(t1.RSS), "B", true)
		d := countDeliveries(m.res.Snapshot, m.groups, m.pr.Published, nil)
		if d.Unique > 0 {
			rep.metric("target.cpu_us_per_delivery", "target CPU per delivery", (t2.CPU-t1.CPU)/float64(d.Unique)*1e6, "µs", true)
		}
	}
	if sys1.Slab > 0 && sys0.Slab > 0 {
		rep.metric("kernel.slab_per_socket", "kernel slab per socket (system-wide Δ / 2 per stream)", float64(sys1.Slab-sys0.Slab)/float64(2*open), "B", true)
	}
	rep.metric("client.rss", "client RSS (all client processes)", float64(m.full.ClientRSS), "B", true)
	mem := rep.kvTable("Target, kernel and client", "target.")
	mem.Rows = append(mem.Rows, rep.kvTable("", "kernel.").Rows...)
	mem.Rows = append(mem.Rows, rep.kvTable("", "client.").Rows...)
	rep.Tables = append(rep.Tables, mem)
}

type mixedReport struct {
	r      *runner
	groups []Group
	res    Result
	pr     pubResult
	full   Snapshot
	end    time.Time
}

func (m *mixedReport) build() {
	rep := m.r.rep
	t := Table{Title: "Per client kind", Columns: []string{"Clients", "Streams", "Failed", "Drops", "Delivered / expected", "Lost", "Dup", "Out of order", "p50", "p99", "max"}}
	for gi, g := range m.groups {
		gs := m.res.Snapshot.Groups[gi]
		one := Snapshot{Groups: make([]GroupSnap, len(m.groups))}
		one.Groups[gi] = gs
		d := countDeliveries(one, m.groups, m.pr.Published, nil)
		lat := m.res.Latency[gi]
		t.Rows = append(t.Rows, []string{g.Name, fmtInt(gs.Established), fmtInt(gs.Failed), fmtInt(gs.Drops),
			fmtInt(d.Unique) + " / " + fmtInt(d.Expected), fmtInt(d.Lost), fmtInt(d.Dup), fmtInt(d.Late),
			fmtMS(nsToMS(lat.Quantile(0.5))), fmtMS(nsToMS(lat.Quantile(0.99))), fmtMS(nsToMS(lat.Max()))})
	}
	healthy := func(g Group) bool { return !g.Slow }
	d := countDeliveries(m.res.Snapshot, m.groups, m.pr.Published, healthy)
	lat := NewHist()
	for gi, g := range m.groups {
		if healthy(g) {
			lat.Merge(m.res.Latency[gi])
		}
	}
	tot := m.full.Total()
	rep.metric("mixed.streams", "streams open", float64(tot.Open), "conns", false)
	rep.metric("mixed.failed", "connection attempts failed", float64(tot.Failed), "conns", true)
	rep.metric("mixed.drops", "streams dropped by the server", float64(m.res.Total().Drops), "conns", true)
	rep.metric("mixed.published", "messages published", float64(sum(m.pr.Published)), "count", false)
	rep.metric("mixed.expected", "deliveries expected (excluding slow readers)", float64(d.Expected), "count", false)
	rep.metric("mixed.delivered", "deliveries received (excluding slow readers)", float64(d.Unique), "count", false)
	rep.metric("mixed.lost", "lost (excluding slow readers)", float64(d.Lost), "count", true)
	rep.metric("mixed.dup", "duplicated", float64(d.Dup), "count", true)
	rep.metric("mixed.late", "out of order", float64(d.Late), "count", true)
	m.r.latencyMetrics("mixed.latency_", "latency (excluding slow readers) ", lat)
	if sec := m.end.Sub(m.pr.Start).Seconds(); sec > 0 {
		rep.metric("mixed.deliveries_per_s", "deliveries per second", float64(d.Unique)/sec, "/s", false)
	}
	rep.Tables = append(rep.Tables, rep.kvTable("Totals", "mixed."), t)
}
