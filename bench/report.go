package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Report is the outcome of one scenario run: tables for people, a flat
// list of metrics for machines and for compare, and the series behind the
// charts.
type Report struct {
	Scenario string    `json:"scenario"`
	Title    string    `json:"title"`
	Label    string    `json:"label,omitempty"` // short name for chart legends
	Target   string    `json:"target"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Params   []Param   `json:"params"`
	Tables   []Table   `json:"tables"`
	Metrics  []Metric  `json:"metrics"`
	Notes    []string  `json:"notes,omitempty"`
	// RSS is target and client memory as connections were opened.
	RSS []RSSPoint `json:"rss_series,omitempty"`
	// Latency is one point per subscriber count (fanout sweeps).
	Latency []LatencyPoint `json:"latency_points,omitempty"`
}

// Param is one input of the run.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Table is a titled grid of formatted cells.
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// Metric is one number, named stably so two runs can be compared.
type Metric struct {
	Key   string  `json:"key"`
	Label string  `json:"label"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	// Lower says smaller is better (latency, memory); false means larger is
	// better or there is no direction.
	Lower bool `json:"lower_is_better,omitempty"`
}

// RSSPoint is one sample taken while connections were opened or held.
type RSSPoint struct {
	Seconds   float64 `json:"t"`
	Open      int64   `json:"open"`
	TargetRSS int64   `json:"target_rss"`
	ClientRSS int64   `json:"client_rss"`
	Slab      int64   `json:"slab"`
}

// LatencyPoint is the latency distribution at one subscriber count.
type LatencyPoint struct {
	Label       string  `json:"label"`
	Subscribers int64   `json:"subscribers"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	P999        float64 `json:"p999_ms"`
	Max         float64 `json:"max_ms"`
}

func (r *Report) param(name string, v any) {
	r.Params = append(r.Params, Param{name, fmt.Sprint(v)})
}

func (r *Report) metric(key, label string, v float64, unit string, lower bool) {
	r.Metrics = append(r.Metrics, Metric{Key: key, Label: label, Value: v, Unit: unit, Lower: lower})
}

func (r *Report) note(format string, a ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, a...))
}

// kvTable renders the metrics whose keys start with prefix as a two-column
// table.
func (r *Report) kvTable(title, prefix string) Table {
	t := Table{Title: title, Columns: []string{"Metric", "Value"}}
	for _, m := range r.Metrics {
		if strings.HasPrefix(m.Key, prefix) {
			t.Rows = append(t.Rows, []string{m.Label, fmtValue(m.Value, m.Unit)})
		}
	}
	return t
}

// fmtValue prints v in unit for tables.
func fmtValue(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	switch unit {
	case "B":
		return fmtBytes(v)
	case "ms":
		return fmtMS(v)
	case "", "count", "conns":
		if v == math.Trunc(v) {
			return fmtInt(int64(v))
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	case "%":
		return strconv.FormatFloat(v, 'f', 1, 64) + " %"
	}
	prec := 2
	if math.Abs(v) >= 100 {
		prec = 0
	} else if math.Abs(v) >= 10 {
		prec = 1
	}
	return fmtFloatGrouped(v, prec) + " " + unit
}

func fmtFloatGrouped(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	intPart, frac, hasFrac := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	n, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return s
	}
	out := fmtInt(n)
	if neg {
		out = "-" + out
	}
	if hasFrac {
		out += "." + frac
	}
	return out
}

// fmtInt groups thousands: 1234567 → "1,234,567".
func fmtInt(n int64) string {
	if n < 0 {
		return "-" + fmtInt(-n)
	}
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func fmtBytes(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1<<30:
		return strconv.FormatFloat(v/(1<<30), 'f', 2, 64) + " GiB"
	case a >= 1<<20:
		return strconv.FormatFloat(v/(1<<20), 'f', 1, 64) + " MiB"
	case a >= 10<<10:
		return strconv.FormatFloat(v/(1<<10), 'f', 1, 64) + " KiB"
	}
	return fmtInt(int64(math.Round(v))) + " B"
}

func fmtMS(ms float64) string {
	switch {
	case ms >= 1000:
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + " s"
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	case ms >= 1:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	}
	return strconv.FormatFloat(ms*1000, 'f', 0, 64) + " µs"
}

func nsToMS(ns int64) float64 { return float64(ns) / 1e6 }

// WriteText prints reports as aligned plain-text tables.
func WriteText(w io.Writer, reports []*Report) {
	for _, r := range reports {
		fmt.Fprintf(w, "\n== %s — %s (%.1f s)\n", r.Title, r.Target, r.Seconds)
		var ps []string
		for _, p := range r.Params {
			ps = append(ps, p.Name+"="+p.Value)
		}
		if len(ps) > 0 {
			fmt.Fprintf(w, "   %s\n", strings.Join(ps, "  "))
		}
		for _, t := range r.Tables {
			writeTextTable(w, t)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "   note: %s\n", n)
		}
	}
}

func writeTextTable(w io.Writer, t Table) {
	if len(t.Rows) == 0 {
		return
	}
	widths := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		widths[i] = runeLen(c)
	}
	for _, row := range t.Rows {
		for i, c := range row {
			if i < len(widths) {
				widths[i] = max(widths[i], runeLen(c))
			}
		}
	}
	fmt.Fprintf(w, "\n   %s\n", t.Title)
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("   ")
		for i, c := range cells {
			pad := strings.Repeat(" ", widths[i]-runeLen(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(t.Columns)
	seps := make([]string, len(widths))
	for i, n := range widths {
		seps[i] = strings.Repeat("-", n)
	}
	line(seps)
	for _, row := range t.Rows {
		line(row)
	}
}

func runeLen(s string) int { return len([]rune(s)) }

// WriteMarkdown prints reports as GitHub-flavoured markdown tables.
func WriteMarkdown(w io.Writer, reports []*Report) {
	for _, r := range reports {
		fmt.Fprintf(w, "\n#### %s\n\n", r.Title)
		var ps []string
		for _, p := range r.Params {
			ps = append(ps, "`"+p.Name+"="+p.Value+"`")
		}
		if len(ps) > 0 {
			fmt.Fprintf(w, "%s (%.0f s)\n", strings.Join(ps, " "), r.Seconds)
		}
		for _, t := range r.Tables {
			writeMarkdownTable(w, t)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "\n- %s", n)
		}
		if len(r.Notes) > 0 {
			fmt.Fprintln(w)
		}
	}
}

func writeMarkdownTable(w io.Writer, t Table) {
	if len(t.Rows) == 0 {
		return
	}
	if t.Title != "" {
		fmt.Fprintf(w, "\n%s\n", t.Title)
	}
	fmt.Fprintf(w, "\n| %s |\n|", strings.Join(t.Columns, " | "))
	for i := range t.Columns {
		if i == 0 {
			fmt.Fprint(w, " --- |")
		} else {
			fmt.Fprint(w, " ---: |")
		}
	}
	fmt.Fprintln(w)
	for _, row := range t.Rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
}

// WriteJSON prints reports, and any comparison tables, as one JSON
// document.
func WriteJSON(w io.Writer, reports []*Report, comparisons ...Table) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Reports     []*Report `json:"reports"`
		Comparisons []Table   `json:"comparisons,omitempty"`
	}{reports, comparisons})
}

// WriteTextTables prints tables without a report around them.
func WriteTextTables(w io.Writer, tables ...Table) {
	for _, t := range tables {
		writeTextTable(w, t)
	}
}

// Metric looks a metric up by key.
func (r *Report) Metric(key string) (Metric, bool) {
	for _, m := range r.Metrics {
		if m.Key == key {
			return m, true
		}
	}
	return Metric{}, false
}
