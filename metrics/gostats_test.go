package metrics

import (
	"runtime"
	"testing"
)

func TestWriteGo(t *testing.T) {
	var w Writer
	WriteGo(&w)
	s := parseExposition(t, w.B)
	if n := s["go_goroutines"]; n <= 0 {
		t.Errorf("go_goroutines = %v in\n%s", n, w.B)
	}
	if v, ok := s[`go_info{version="`+runtime.Version()+`"}`]; !ok || v != 1 {
		t.Errorf("no go_info for %s in\n%s", runtime.Version(), w.B)
	}
	for _, name := range []string{"go_gc_cycles_total", "go_memstats_heap_alloc_bytes", "go_memstats_sys_bytes", "go_sched_gomaxprocs_threads", "go_threads"} {
		if _, ok := s[name]; !ok {
			t.Errorf("%s missing (runtime/metrics source gone from %s?)", name, runtime.Version())
		}
	}
	if heap, sys := s["go_memstats_heap_alloc_bytes"], s["go_memstats_sys_bytes"]; heap <= 0 || sys < heap {
		t.Errorf("heap %v, sys %v", heap, sys)
	}
}
