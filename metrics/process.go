package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// clockTicks is USER_HZ, the unit of utime, stime and starttime in
// /proc/self/stat. The kernel exports 100 to user space on every
// architecture Go supports, whatever CONFIG_HZ is, so it is not read from
// sysconf (which would need cgo).
const clockTicks = 100

// HELP texts of the process_* families, identical to prom-client's
// (lib/metrics/processCpuTotal.js, processStartTime.js, osMemoryHeapLinux.js,
// processOpenFileDescriptors.js, processMaxFileDescriptors.js) so that the
// exposition matches the Node server's (MET-4).
const (
	helpCPUUser   = "Total user CPU time spent in seconds."
	helpCPUSystem = "Total system CPU time spent in seconds."
	helpCPU       = "Total user and system CPU time spent in seconds."
	helpStart     = "Start time of the process since unix epoch in seconds."
	helpRSS       = "Resident memory size in bytes."
	helpVirtual   = "Virtual memory size in bytes."
	helpOpenFDs   = "Number of open file descriptors."
	helpMaxFDs    = "Maximum number of open file descriptors."
)

// procStat holds the fields of /proc/self/stat that WriteProcess uses.
type procStat struct {
	utime, stime uint64 // CPU in clock ticks
	starttime    uint64 // clock ticks after boot
	vsize        uint64 // bytes
}

// parseStat parses a /proc/<pid>/stat line. The command name (field 2) is
// in parentheses and may itself contain spaces and parentheses, so fields
// are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	var s procStat
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return s, errors.New("no ')' after the command name")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state); field n is f[n-3]
	if len(f) < 21 {
		return s, fmt.Errorf("%d fields after the command name, want at least 21", len(f))
	}
	for _, p := range []struct {
		dst   *uint64
		field int
	}{{&s.utime, 14}, {&s.stime, 15}, {&s.starttime, 22}, {&s.vsize, 23}} {
		v, err := strconv.ParseUint(string(f[p.field-3]), 10, 64)
		if err != nil {
			return s, fmt.Errorf("field %d: %v", p.field, err)
		}
		*p.dst = v
	}
	return s, nil
}

// parseBootTime returns the "btime" line of /proc/stat: boot time in
// seconds since the epoch.
func parseBootTime(b []byte) (uint64, error) {
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			return strconv.ParseUint(string(bytes.TrimSpace(rest)), 10, 64)
		}
	}
	return 0, errors.New("no btime line")
}

// parseStatm returns the resident page count, the second field of
// /proc/self/statm.
func parseStatm(b []byte) (uint64, error) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, fmt.Errorf("%d fields, want at least 2", len(f))
	}
	return strconv.ParseUint(string(f[1]), 10, 64)
}

// WriteProcess writes the process_* families of MET-4, read from /proc/self
// (Linux only). Every source is read before its families are written, so a
// family is either complete or absent: when a source fails, the families it
// feeds are left out, the others are written, and the error names each
// failure. A caller that wants all or nothing (MET-1: collection failure is a
// 500) truncates w.B to its length before the call.
func WriteProcess(w *Writer) error {
	var errs []error
	stat, statErr := readProc("/proc/self/stat", parseStat)
	if statErr != nil {
		errs = append(errs, statErr)
	} else {
		w.Family("process_cpu_user_seconds_total", "counter", helpCPUUser)
		w.Float("process_cpu_user_seconds_total", float64(stat.utime)/clockTicks)
		w.Family("process_cpu_system_seconds_total", "counter", helpCPUSystem)
		w.Float("process_cpu_system_seconds_total", float64(stat.stime)/clockTicks)
		w.Family("process_cpu_seconds_total", "counter", helpCPU)
		w.Float("process_cpu_seconds_total", float64(stat.utime+stat.stime)/clockTicks)
		if btime, err := readProc("/proc/stat", parseBootTime); err != nil {
			errs = append(errs, err)
		} else {
			w.Family("process_start_time_seconds", "gauge", helpStart)
			w.Float("process_start_time_seconds", float64(btime)+float64(stat.starttime)/clockTicks)
		}
	}
	if pages, err := readProc("/proc/self/statm", parseStatm); err != nil {
		errs = append(errs, err)
	} else {
		w.Family("process_resident_memory_bytes", "gauge", helpRSS)
		w.Uint("process_resident_memory_bytes", pages*uint64(os.Getpagesize()))
	}
	if statErr == nil {
		w.Family("process_virtual_memory_bytes", "gauge", helpVirtual)
		w.Uint("process_virtual_memory_bytes", stat.vsize)
	}
	if n, err := countFDs(); err != nil {
		errs = append(errs, err)
	} else {
		w.Family("process_open_fds", "gauge", helpOpenFDs)
		w.Int("process_open_fds", int64(n))
	}
	if n, err := maxFDs(); err != nil {
		errs = append(errs, err)
	} else {
		w.Family("process_max_fds", "gauge", helpMaxFDs)
		w.Uint("process_max_fds", n)
	}
	return errors.Join(errs...)
}

// readProc reads path and parses it, wording errors for the operator.
func readProc[T any](path string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	b, err := os.ReadFile(path)
	if err != nil {
		return zero, fmt.Errorf("metrics: %w (process_* families need Linux with procfs mounted at /proc)", err)
	}
	v, err := parse(b)
	if err != nil {
		return zero, fmt.Errorf("metrics: %s: unexpected format: %v (unknown kernel format: report it with the output of uname -r)", path, err)
	}
	return v, nil
}
