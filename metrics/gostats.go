package metrics

import (
	"runtime"
	rtmetrics "runtime/metrics"
)

// goFamilies maps runtime/metrics sources to go_* families. Names and HELP
// texts follow client_golang where it has the family, so Go dashboards work;
// runtime/metrics is read instead of runtime.ReadMemStats, which stops the
// world. Families are in client_golang's (alphabetical) order.
var goFamilies = [...]struct {
	name, typ, help, source string
}{
	{"go_gc_cycles_total", "counter", "Count of all completed GC cycles. Sourced from /gc/cycles/total:gc-cycles.", "/gc/cycles/total:gc-cycles"},
	{"go_goroutines", "gauge", "Number of goroutines that currently exist.", "/sched/goroutines:goroutines"},
	{"go_info", "gauge", "Information about the Go environment.", ""}, // from runtime.Version
	{"go_memstats_heap_alloc_bytes", "gauge", "Number of heap bytes allocated and currently in use. Equals to /memory/classes/heap/objects:bytes.", "/memory/classes/heap/objects:bytes"},
	{"go_memstats_sys_bytes", "gauge", "Number of bytes obtained from system. Equals to /memory/classes/total:bytes.", "/memory/classes/total:bytes"},
	{"go_sched_gomaxprocs_threads", "gauge", "The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously. Sourced from /sched/gomaxprocs:threads.", "/sched/gomaxprocs:threads"},
	// client_golang counts threads ever created; this is the live count,
	// hence its own HELP text.
	{"go_threads", "gauge", "Number of OS threads owned by the Go runtime. Sourced from /sched/threads/total:threads.", "/sched/threads/total:threads"},
}

// WriteGo writes go_* families from runtime/metrics, plus go_info. A source
// the running toolchain does not have is left out rather than written as 0.
func WriteGo(w *Writer) {
	samples := make([]rtmetrics.Sample, len(goFamilies))
	for i := range goFamilies {
		samples[i].Name = goFamilies[i].source // "" reads as KindBad
	}
	rtmetrics.Read(samples)
	for i, f := range goFamilies {
		if f.source == "" {
			w.Family(f.name, f.typ, f.help)
			w.Int(f.name, 1, "version", runtime.Version())
			continue
		}
		v := samples[i].Value
		switch v.Kind() {
		case rtmetrics.KindUint64:
			w.Family(f.name, f.typ, f.help)
			w.Uint(f.name, v.Uint64())
		case rtmetrics.KindFloat64:
			w.Family(f.name, f.typ, f.help)
			w.Float(f.name, v.Float64())
		}
	}
}
