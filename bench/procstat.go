package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Reading a process's and the system's memory and CPU from /proc.

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat. It
// is 100 on every Linux architecture Go supports (the kernel exports a
// fixed value to user space whatever CONFIG_HZ is).
const clockTicks = 100

// ProcSample is one reading of a process.
type ProcSample struct {
	At      time.Time `json:"at"`
	RSS     int64     `json:"rss"`      // VmRSS, bytes
	RSSAnon int64     `json:"rss_anon"` // RssAnon, bytes
	HWM     int64     `json:"hwm"`      // VmHWM (peak RSS), bytes
	CPU     float64   `json:"cpu"`      // utime + stime, seconds
	Threads int       `json:"threads"`
}

// ReadProc samples process pid.
func ReadProc(pid int) (ProcSample, error) {
	s := ProcSample{At: time.Now()}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("bench: -pid %d: %v", pid, err)
	}
	if s.CPU, s.Threads, err = parseStat(st); err != nil {
		return s, fmt.Errorf("bench: /proc/%d/stat: %v", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("bench: -pid %d: %v", pid, err)
	}
	f := statusFields(status)
	s.RSS, s.RSSAnon, s.HWM = f["VmRSS"], f["RssAnon"], f["VmHWM"]
	return s, nil
}

// parseStat reads utime+stime (fields 14, 15) and num_threads (20). The
// command name (field 2) may contain spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(b []byte) (cpu float64, threads int, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("no ')' in stat line")
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 18 {
		return 0, 0, fmt.Errorf("stat line has %d fields after the name", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	stt, err2 := strconv.ParseUint(f[12], 10, 64)
	th, err3 := strconv.Atoi(f[17])
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, fmt.Errorf("unparsable utime/stime/num_threads")
	}
	return float64(ut+stt) / clockTicks, th, nil
}

// statusFields parses "Name:   123 kB" lines into bytes.
func statusFields(b []byte) map[string]int64 {
	out := make(map[string]int64)
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			v <<= 10
		}
		out[name] = v
	}
	return out
}

// selfRSS is this process's resident set in bytes (0 if unreadable).
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return statusFields(b)["VmRSS"]
}

// SysSample is a reading of system-wide memory that sockets use.
type SysSample struct {
	Slab         int64 `json:"slab"`       // bytes
	SUnreclaim   int64 `json:"sunreclaim"` // bytes
	MemAvailable int64 `json:"mem_available"`
	TCPInUse     int64 `json:"tcp_inuse"` // sockets
	TCPTimeWait  int64 `json:"tcp_tw"`
	TCPMemPages  int64 `json:"tcp_mem_pages"` // pages charged to socket buffers
}

// ReadSys reads /proc/meminfo and /proc/net/sockstat; missing files leave
// zeros.
func ReadSys() SysSample {
	var s SysSample
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := statusFields(b)
		s.Slab, s.SUnreclaim, s.MemAvailable = f["Slab"], f["SUnreclaim"], f["MemAvailable"]
	}
	if b, err := os.ReadFile("/proc/net/sockstat"); err == nil {
		s.TCPInUse, s.TCPTimeWait, s.TCPMemPages = parseSockstat(b)
	}
	return s
}

// parseSockstat reads "TCP: inuse N orphan N tw N alloc N mem N".
func parseSockstat(b []byte) (inuse, tw, mem int64) {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "TCP:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		for i := 0; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseInt(f[i+1], 10, 64)
			switch f[i] {
			case "inuse":
				inuse = v
			case "tw":
				tw = v
			case "mem":
				mem = v
			}
		}
	}
	return inuse, tw, mem
}
