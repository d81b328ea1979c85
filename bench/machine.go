package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Machine is what BENCHMARKS.md records about the host of a run.
type Machine struct {
	Date       time.Time `json:"date"`
	Cores      int       `json:"cores"`
	CPU        string    `json:"cpu"`
	Kernel     string    `json:"kernel"`
	MemTotal   int64     `json:"mem_total"`
	NoFileSoft uint64    `json:"nofile_soft"`
	NoFileHard uint64    `json:"nofile_hard"`
	Go         string    `json:"go"`
	// Sysctls are the kernel settings that bound large runs.
	Sysctls []Param `json:"sysctls"`
}

var machineSysctls = []string{
	"fs.nr_open", "fs.file-max", "net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog",
	"net.ipv4.ip_local_port_range", "net.ipv4.tcp_mem", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
	"net.ipv4.tcp_tw_reuse",
}

// ReadMachine collects the machine facts.
func ReadMachine() Machine {
	m := Machine{Date: time.Now().UTC(), Cores: runtime.NumCPU(), Go: runtime.Version()}
	ostype, _ := os.ReadFile("/proc/sys/kernel/ostype")
	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	m.Kernel = strings.TrimSpace(strings.TrimSpace(string(ostype)) + " " + strings.TrimSpace(string(release)) + " " + runtime.GOARCH)
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal = statusFields(b)["MemTotal"]
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		m.NoFileSoft, m.NoFileHard = rl.Cur, rl.Max
	}
	for _, name := range machineSysctls {
		b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
		v := "unreadable"
		if err == nil {
			v = strings.Join(strings.Fields(string(b)), " ")
		}
		m.Sysctls = append(m.Sysctls, Param{name, v})
	}
	return m
}

// WriteMarkdown prints the facts as a markdown table.
func (m Machine) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "| Fact | Value |\n| --- | --- |\n")
	row := func(k, v string) { fmt.Fprintf(w, "| %s | %s |\n", k, v) }
	row("Date (UTC)", m.Date.Format("2006-01-02 15:04"))
	row("CPU", fmt.Sprintf("%d × %s", m.Cores, orDash(m.CPU)))
	row("Memory", fmtBytes(float64(m.MemTotal)))
	row("Kernel", orDash(m.Kernel))
	row("RLIMIT_NOFILE (soft / hard)", fmt.Sprintf("%s / %s", fmtInt(int64(m.NoFileSoft)), fmtInt(int64(m.NoFileHard))))
	row("Go", m.Go)
	for _, p := range m.Sysctls {
		row("`"+p.Name+"`", "`"+p.Value+"`")
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
