package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act as a worker process: the fleet
// re-executes os.Executable() with WorkerEnv=1, which is this binary.
func TestMain(m *testing.M) {
	if os.Getenv(WorkerEnv) == "1" {
		if err := RunWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testOptions returns small, fast options aimed at f.
func testOptions(f *fakeServer, n int) Options {
	o := Defaults()
	o.Target = f.target()
	o.Token = "good-token"
	o.Counts = []int{n}
	o.Rate = 0
	o.Settle = 100 * time.Millisecond
	o.Hold = 300 * time.Millisecond
	o.Drain = time.Second
	o.MaxDuration = 60 * time.Second
	o.ConnectTimeout = 5 * time.Second
	o.Loops = 2
	o.Publisher = f
	return o
}

func metric(t *testing.T, r *Report, key string) float64 {
	t.Helper()
	m, ok := r.Metric(key)
	if !ok {
		var keys []string
		for _, m := range r.Metrics {
			keys = append(keys, m.Key)
		}
		t.Fatalf("no metric %q in report; have %v", key, keys)
	}
	return m.Value
}

// tableCell finds the row whose first cell is row in the first table whose
// title contains title, and returns its second cell.
func tableCell(r *Report, title, row string) string {
	for _, t := range r.Tables {
		if !strings.Contains(t.Title, title) {
			continue
		}
		for _, cells := range t.Rows {
			if cells[0] == row {
				return cells[1]
			}
		}
	}
	return ""
}

// The fake server drops, duplicates, swaps and delays messages by a fixed
// script; every one of those must show up exactly in the report.
func TestFanoutAccountingAgainstScriptedServer(t *testing.T) {
	for _, ws := range []bool{false, true} {
		name := "sse"
		if ws {
			name = "ws"
		}
		t.Run(name, func(t *testing.T) {
			const subs, msgs = 12, 200
			const delay = 300 * time.Millisecond
			f := newFakeServer(t, fakeScript{
				drop:     func(_ int, seq uint32) bool { return seq%20 == 3 },
				dup:      func(_ int, seq uint32) bool { return seq%20 == 5 },
				swapNext: func(_ int, seq uint32) bool { return seq%20 == 7 },
				delay: func(_ int, seq uint32) time.Duration {
					if seq == 50 || seq == 100 || seq == 150 {
						return delay
					}
					return 0
				},
			})
			o := testOptions(f, subs)
			o.WS = ws
			o.Messages, o.PubRate = msgs, 400
			rep, err := RunFanout(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("fanout.%d.", subs)
			want := map[string]float64{
				"subscribers": subs,
				"published":   msgs,
				"expected":    subs * msgs,
				"delivered":   subs * (msgs - msgs/20),
				"lost":        subs * msgs / 20,     // every seq ≡ 3 (mod 20)
				"dup":         subs * msgs / 20,     // every seq ≡ 5
				"late":        subs * (msgs/20 + 3), // every seq ≡ 7, and the 3 delayed ones
			}
			for k, v := range want {
				if got := metric(t, rep, key+k); got != v {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			// 3 of 190 deliveries per subscriber (1.6 %) were held back
			// 300 ms: p99 and max must show it, the median must not.
			if p99 := metric(t, rep, key+"latency_p99"); p99 < float64(delay.Milliseconds()) {
				t.Errorf("p99 = %.1f ms, want ≥ %d ms", p99, delay.Milliseconds())
			}
			if mx := metric(t, rep, key+"latency_max"); mx < float64(delay.Milliseconds()) || mx > 5000 {
				t.Errorf("max = %.1f ms, want in [%d, 5000]", mx, delay.Milliseconds())
			}
			if p50 := metric(t, rep, key+"latency_p50"); p50 >= 100 {
				t.Errorf("p50 = %.1f ms, want < 100 ms", p50)
			}
			if len(rep.Latency) != 1 || rep.Latency[0].Subscribers != subs {
				t.Errorf("latency points = %+v", rep.Latency)
			}
		})
	}
}

// hold: refused connections are failures with their status, heartbeats are
// counted, and streams the server ends are drops with the right reason.
func TestHoldReportsFailuresHeartbeatsAndDrops(t *testing.T) {
	for _, ws := range []bool{false, true} {
		name := "sse"
		if ws {
			name = "ws"
		}
		t.Run(name, func(t *testing.T) {
			const n = 30
			f := newFakeServer(t, fakeScript{
				reject:    func(id int) int { return map[bool]int{true: 401}[id%10 == 9] },
				heartbeat: 50 * time.Millisecond,
			})
			o := testOptions(f, n)
			o.WS = ws
			o.Hold = 700 * time.Millisecond
			go func() {
				// Once the hold is under way, end three streams.
				for f.accepted.Load() < n {
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(300 * time.Millisecond)
				f.endSlow(0)
				f.endSlow(1)
				f.reset(2)
			}()
			rep, err := RunHold(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if got := metric(t, rep, "hold.established"); got != 27 {
				t.Errorf("established = %v, want 27", got)
			}
			if got := metric(t, rep, "hold.failed"); got != 3 {
				t.Errorf("failed = %v, want 3", got)
			}
			if got := tableCell(rep, "failed connection attempts", "http-401"); got != "3" {
				t.Errorf("http-401 failures = %q, want 3", got)
			}
			if got := metric(t, rep, "hold.drops"); got != 3 {
				t.Errorf("drops = %v, want 3", got)
			}
			if got := tableCell(rep, "ended by the server", "slow-consumer"); got != "2" {
				t.Errorf("slow-consumer drops = %q, want 2", got)
			}
			if got := tableCell(rep, "ended by the server", "eof"); got != "1" {
				t.Errorf("eof drops = %q, want 1", got)
			}
			if got := metric(t, rep, "hold.open_end"); got != 24 {
				t.Errorf("open at end = %v, want 24", got)
			}
			// 700 ms of 50 ms heartbeats to ≥ 24 streams: well over 100.
			if hb := metric(t, rep, "hold.heartbeats"); hb < 100 {
				t.Errorf("heartbeats = %v, want ≥ 100", hb)
			}
			if ws && f.pongs.Load() == 0 {
				t.Errorf("the client answered none of %d pings", f.pings.Load())
			}
			if metric(t, rep, "client.rss") <= 0 {
				t.Errorf("client RSS not reported")
			}
		})
	}
}

// Forcing worker processes must give the same counts, merged, as one
// process: connections, deliveries and histograms.
func TestWorkersMergeCountsAndHistograms(t *testing.T) {
	const subs, msgs = 40, 50
	f := newFakeServer(t, fakeScript{drop: func(_ int, seq uint32) bool { return seq == 10 }})
	o := testOptions(f, subs)
	o.Workers, o.PerWorker = 3, 20
	o.Messages, o.PubRate = msgs, 200
	rep, err := RunFanout(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("fanout.%d.", subs)
	for k, v := range map[string]float64{"subscribers": subs, "expected": subs * msgs, "delivered": subs * (msgs - 1), "lost": subs, "dup": 0, "late": 0} {
		if got := metric(t, rep, key+k); got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if p50 := metric(t, rep, key+"latency_p50"); p50 <= 0 {
		t.Errorf("p50 = %v: latency histograms were not merged", p50)
	}
}

func TestMixedProfileAgainstFakeServer(t *testing.T) {
	f := newFakeServer(t, fakeScript{})
	o := testOptions(f, 200)
	o.Messages, o.PubRate = 40, 200
	o.Workers, o.PerWorker = 3, 67 // groups split unevenly over the workers
	rep, err := RunMixed(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := metric(t, rep, "mixed.streams"); got != 200 {
		t.Errorf("streams = %v, want 200", got)
	}
	// The fake server sends every message to every connection, whatever
	// it subscribed to: deliveries for channels a stream does not carry
	// must be reported, not counted as delivered.
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "should not carry them") {
		t.Errorf("misrouted deliveries not reported; notes: %v", rep.Notes)
	}
	if got := f.subs.Load(); got != 2*16 { // 8 % of 200 clients send two subscribe messages
		t.Errorf("subscribe messages = %d, want 32", got)
	}
}

func TestStormReconnectsEveryStream(t *testing.T) {
	const n = 50
	f := newFakeServer(t, fakeScript{})
	o := testOptions(f, n)
	o.StormRounds, o.ChurnRate, o.ChurnFor = 2, 100, 500*time.Millisecond
	rep, err := RunStorm(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, round := range []string{"round1", "round2"} {
		if got := metric(t, rep, "storm."+round+".reestablished"); got != n {
			t.Errorf("%s re-established = %v, want %d", round, got, n)
		}
		if got := metric(t, rep, "storm."+round+".failed"); got != 0 {
			t.Errorf("%s failed = %v", round, got)
		}
	}
	closed, reest := metric(t, rep, "storm.churn.closed"), metric(t, rep, "storm.churn.reestablished")
	if closed < 30 || reest != closed {
		t.Errorf("churn closed %v, re-established %v; want ≈ 50 and equal", closed, reest)
	}
	if got := int(f.accepted.Load()); got != n*3+int(closed) {
		t.Errorf("server accepted %d connections, want %d", got, n*3+int(closed))
	}
}

func TestCompareRunsBothTargetsAndLinesUpMetrics(t *testing.T) {
	a := newFakeServer(t, fakeScript{})
	b := newFakeServer(t, fakeScript{reject: func(id int) int { return map[bool]int{true: 503}[id%2 == 0] }})
	oa, ob := testOptions(a, 10), testOptions(b, 10)
	oa.Hold, ob.Hold = 50*time.Millisecond, 50*time.Millisecond
	reports, table, err := Compare(context.Background(), "hold", oa, ob, "good", "flaky")
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 || a.accepted.Load() != 10 || b.accepted.Load() != 10 {
		t.Fatalf("reports %d, accepted %d and %d", len(reports), a.accepted.Load(), b.accepted.Load())
	}
	var row []string
	for _, r := range table.Rows {
		if r[0] == "connection attempts failed" {
			row = r
		}
	}
	if row == nil || row[1] != "0" || row[2] != "5" || row[4] != "good" {
		t.Errorf("failed-attempts row = %v", row)
	}
}
