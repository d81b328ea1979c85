package metrics

import (
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A stat line whose command name holds ") (": naive splitting on the first
// ')' or on spaces would shift every field.
const statLine = "1234 (a) (b c) S 1 1234 1234 0 -1 4194560 2000 0 5 0 123 45 0 0 20 0 7 0 98765 1048576000 5000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

func TestParseStat(t *testing.T) {
	got, err := parseStat([]byte(statLine))
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{utime: 123, stime: 45, starttime: 98765, vsize: 1048576000}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for name, line := range map[string]string{
		"no_paren":     "1234 a S 1 2 3",
		"too_short":    "1234 (a) S 1 1234 1234 0 -1 4194560 2000 0 5 0 123 45",
		"not_a_number": "1234 (a) S 1 1234 1234 0 -1 4194560 2000 0 5 0 x 45 0 0 20 0 7 0 98765 1048576000 5000",
	} {
		if _, err := parseStat([]byte(line)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseBootTimeAndStatm(t *testing.T) {
	btime, err := parseBootTime([]byte("cpu  1 2 3\nintr 5 6\nctxt 99\nbtime 1700000000\nprocesses 12\n"))
	if err != nil || btime != 1700000000 {
		t.Errorf("parseBootTime = %d, %v", btime, err)
	}
	if _, err := parseBootTime([]byte("cpu 1 2 3\n")); err == nil {
		t.Error("parseBootTime: no error without a btime line")
	}
	pages, err := parseStatm([]byte("262144 5120 1024 100 0 20000 0\n"))
	if err != nil || pages != 5120 {
		t.Errorf("parseStatm = %d, %v", pages, err)
	}
	if _, err := parseStatm([]byte("262144\n")); err == nil {
		t.Error("parseStatm: no error on one field")
	}
}

func TestWriteProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process_* families read Linux /proc")
	}
	// Burn a little CPU so the counters are not all zero.
	for deadline := time.Now().Add(30 * time.Millisecond); time.Now().Before(deadline); {
	}
	var w Writer
	if err := WriteProcess(&w); err != nil {
		t.Fatal(err)
	}
	s := parseExposition(t, w.B)
	for _, name := range []string{
		"process_cpu_user_seconds_total", "process_cpu_system_seconds_total", "process_cpu_seconds_total",
		"process_start_time_seconds", "process_resident_memory_bytes", "process_virtual_memory_bytes",
		"process_open_fds", "process_max_fds",
	} {
		if _, ok := s[name]; !ok {
			t.Errorf("%s missing from\n%s", name, w.B)
		}
	}
	user, sys, total := s["process_cpu_user_seconds_total"], s["process_cpu_system_seconds_total"], s["process_cpu_seconds_total"]
	if total <= 0 || math.Abs(total-(user+sys)) > 1e-9 {
		t.Errorf("cpu: user %v + system %v != total %v", user, sys, total)
	}
	now := float64(time.Now().UnixNano()) / 1e9
	// btime is whole seconds and starttime whole ticks: allow a second.
	if start := s["process_start_time_seconds"]; start > now+1 || start < now-3600 {
		t.Errorf("process_start_time_seconds %v, now %v", start, now)
	}
	if rss, vsz := s["process_resident_memory_bytes"], s["process_virtual_memory_bytes"]; rss <= 0 || vsz < rss {
		t.Errorf("rss %v, vsize %v", rss, vsz)
	}
	if open, max := s["process_open_fds"], s["process_max_fds"]; open <= 0 || max < open {
		t.Errorf("open fds %v, max fds %v", open, max)
	}
}

func TestReadProcErrors(t *testing.T) {
	_, err := readProc("/proc/self/no-such-file", parseStatm)
	if err == nil || !strings.Contains(err.Error(), "no-such-file") || !strings.Contains(err.Error(), "need Linux with procfs") {
		t.Errorf("missing file: %v", err)
	}
	_, err = readProc(os.DevNull, parseStatm)
	if err == nil || !strings.Contains(err.Error(), os.DevNull+": unexpected format") {
		t.Errorf("bad format: %v", err)
	}
}
