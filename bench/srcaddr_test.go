package bench

import (
	"net/netip"
	"strings"
	"testing"
)

func mustTarget(t *testing.T, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestPlanSourcesAuto(t *testing.T) {
	tg := mustTarget(t, "127.0.0.1:4000")
	for _, c := range []struct{ n, ports, want int }{
		{1, 28232, 1},
		{14116, 28232, 1}, // half of one source's ports
		{14117, 28232, 2},
		{1_000_000, 28232, 71}, // 1M / 14,116
		{1_000_000, 64511, 32}, // with ip_local_port_range 1024 65535
	} {
		got, err := PlanSources(tg, c.n, c.ports, "auto")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want {
			t.Errorf("n=%d ports=%d: %d sources, want %d", c.n, c.ports, len(got), c.want)
		}
		for _, a := range got {
			b := a.As4()
			if !a.IsLoopback() || a == tg.IP || b[3] == 0 || b[3] == 255 {
				t.Errorf("bad source %v", a)
			}
		}
	}
	many := autoSources(netip.MustParseAddr("127.0.0.1"), 300)
	if many[252].String() != "127.0.0.254" || many[253].String() != "127.0.1.1" {
		t.Errorf("sources do not roll over to 127.0.1.x: %v … %v", many[252], many[253])
	}
	if got := autoSources(netip.MustParseAddr("127.0.0.3"), 2); got[1].String() != "127.0.0.4" {
		t.Errorf("target address not skipped: %v", got)
	}
}

func TestPlanSourcesExplicitAndLimits(t *testing.T) {
	tg := mustTarget(t, "127.0.0.1:4000")
	got, err := PlanSources(tg, 50_000, 28232, "127.0.0.10-127.0.0.12, 127.0.0.20")
	if err != nil || len(got) != 4 || got[3].String() != "127.0.0.20" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := PlanSources(tg, 100_000, 28232, "127.0.0.10-127.0.0.12"); err == nil || !strings.Contains(err.Error(), "84696") {
		t.Errorf("3 sources × 28,232 ports accepted for 100,000 connections (err %v)", err)
	}
	for _, bad := range []string{"10.0.0.1", "127.0.0.9-127.0.0.2", "::1", "nonsense"} {
		if _, err := PlanSources(tg, 10, 28232, bad); err == nil {
			t.Errorf("-src %q accepted", bad)
		}
	}
	if got, err := PlanSources(tg, 28232, 28232, "none"); err != nil || got != nil {
		t.Errorf("none: %v %v", got, err)
	}
	if _, err := PlanSources(tg, 28233, 28232, "none"); err == nil {
		t.Errorf("one source accepted for more connections than it has ports")
	}
	v6 := mustTarget(t, "[::1]:4000")
	if _, err := PlanSources(v6, 30_000, 28232, "auto"); err == nil {
		t.Errorf("::1 target accepted 30,000 connections from its only source")
	}
	if got, err := PlanSources(mustTarget(t, "unix:/tmp/x.sock"), 1_000_000, 28232, "auto"); err != nil || got != nil {
		t.Errorf("unix socket: %v %v", got, err)
	}
}

// Workers each start their round-robin where the previous one stopped, so
// the fleet loads every source address equally.
func TestSourceSpreadAcrossWorkersIsEven(t *testing.T) {
	const n, k = 1_000_003, 71
	plan, err := PlanWorkers(n, 19000, 0)
	if err != nil {
		t.Fatal(err)
	}
	load := make([]int, k)
	offset := 0
	for _, share := range plan {
		for i := 0; i < share; i++ {
			load[sourceIndex(offset, i, k)]++
		}
		offset += share
	}
	lo, hi := load[0], load[0]
	for _, v := range load {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi-lo > 1 {
		t.Errorf("per-source load ranges %d..%d", lo, hi)
	}
	if hi > 28232/2+1 {
		t.Errorf("a source carries %d connections, over half its ports", hi)
	}
}

func TestParsePortRange(t *testing.T) {
	if lo, hi, ok := parsePortRange("32768\t60999\n"); !ok || hi-lo+1 != 28232 {
		t.Errorf("got %d %d %v", lo, hi, ok)
	}
	if _, _, ok := parsePortRange("60999 32768"); ok {
		t.Errorf("backwards range accepted")
	}
	if LocalPortCount() <= 0 {
		t.Errorf("LocalPortCount = %d", LocalPortCount())
	}
}
