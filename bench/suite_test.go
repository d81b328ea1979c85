package bench

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpliceKeepsMarkersAndSurroundings(t *testing.T) {
	doc := []byte("# Benchmarks\n\nintro\n\n" + SpliceBegin + "\nold table\n" + SpliceEnd + "\n\nhow to run\n")
	out, err := Splice(doc, []byte("\nnew table\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\nintro\n\n" + SpliceBegin + "\nnew table\n" + SpliceEnd + "\n\nhow to run\n"
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	if _, err := Splice([]byte("no markers"), nil); err == nil {
		t.Errorf("document without markers accepted")
	}
}

func sampleReports() []*Report {
	hold := &Report{Scenario: "hold", Title: "hold: SSE /api/v1/streaming/public", Label: "SSE public", Seconds: 30}
	hold.metric("step.10000.rss_per_conn", "target RSS per stream at 10,000", 812, "B", true)
	hold.metric("kernel.slab_per_socket", "kernel slab per socket", 4400, "B", true)
	hold.metric("projection.1m_bytes", "projected", 5.2e9, "B", true)
	hold.Tables = append(hold.Tables, projectionTable(hold))
	for i := 0; i <= 10; i++ {
		hold.RSS = append(hold.RSS, RSSPoint{Seconds: float64(i), Open: int64(i * 1000), TargetRSS: int64(20<<20 + i*800_000), ClientRSS: int64(8<<20 + i*300_000)})
	}
	fan := &Report{Scenario: "fanout", Title: "fanout: SSE /api/v1/streaming/public", Seconds: 20}
	fan.metric("fanout.10000.latency_p99", "p99", 21.5, "ms", true)
	fan.Latency = []LatencyPoint{
		{Label: "SSE public", Subscribers: 1000, P50: 2, P90: 4, P99: 6, P999: 8, Max: 9},
		{Label: "SSE public", Subscribers: 10000, P50: 9, P90: 15, P99: 21.5, P999: 30, Max: 31},
		{Label: "WS public", Subscribers: 1000, P50: 2.5, P90: 4.5, P99: 6.5, P999: 8.5, Max: 9.5},
		{Label: "WS public", Subscribers: 10000, P50: 10, P90: 16, P99: 23, P999: 33, Max: 35},
	}
	return []*Report{hold, fan}
}

func TestSuiteMarkdownHasCommandMachineHeadlineAndProjection(t *testing.T) {
	var b bytes.Buffer
	m := ReadMachine()
	WriteSuiteMarkdown(&b, "sluice-bench suite -target 127.0.0.1:4000", m, sampleReports(), nil, true)
	md := b.String()
	for _, want := range []string{
		"sluice-bench suite -target 127.0.0.1:4000", "RLIMIT_NOFILE", "`fs.nr_open`", m.Date.Format("2006-01-02"),
		"SSE: target RSS per idle stream at 10,000 | 812 B", "Projection to 1,000,000 streams", "not measured",
		"SSE: delivery p99 with 10,000 subscribers | 21.5 ms",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if len(DefaultSuite()) < 5 {
		t.Errorf("default suite too small")
	}
}

func TestWritePlotsSVGAndPNG(t *testing.T) {
	dir := t.TempDir()
	files, err := WritePlots(dir, sampleReports())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("wrote %v", files)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "latency.svg"))
	if !strings.Contains(string(svg), "<polyline") || !strings.Contains(string(svg), "WS public p99.9") {
		t.Errorf("latency.svg lacks lines or legend")
	}
	f, err := os.Open(filepath.Join(dir, "rss.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != chartW {
		t.Errorf("rss.png: %v %v", img.Bounds(), err)
	}
}

func TestFormatting(t *testing.T) {
	for got, want := range map[string]string{
		fmtInt(1234567):             "1,234,567",
		fmtInt(-1000):               "-1,000",
		fmtBytes(812):               "812 B",
		fmtBytes(3 << 20):           "3.0 MiB",
		fmtMS(0.25):                 "250 µs",
		fmtMS(21.54):                "21.5 ms",
		fmtMS(2500):                 "2.50 s",
		fmtValue(18597.3, "conn/s"): "18,597 conn/s",
		tickLabel(10000):            "10k",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
