package bench

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Line charts, drawn by hand so that the tool needs no plotting module:
// the same model renders to SVG (vector, with real text) and to PNG (a
// small rasterizer with a built-in 5×7 bitmap font, in chartpng.go).

type chartSeries struct {
	Name   string
	Color  color.RGBA
	Dashed bool
	X, Y   []float64
}

type chart struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	Series                []chartSeries
}

const (
	chartW, chartH                       = 960, 560
	padLeft, padRight, padTop, padBottom = 90, 280, 50, 60
)

var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
}

// axis maps data values to pixels.
type axis struct {
	lo, hi   float64
	log      bool
	from, to float64 // pixel range
}

func (a axis) pos(v float64) float64 {
	if a.log {
		v, lo, hi := math.Log10(v), math.Log10(a.lo), math.Log10(a.hi)
		return a.from + (v-lo)/(hi-lo)*(a.to-a.from)
	}
	return a.from + (v-a.lo)/(a.hi-a.lo)*(a.to-a.from)
}

// ticks returns tick values: decades (with 2 and 5 when the range is
// short) on log axes, 1-2-5 steps on linear ones.
func (a axis) ticks() []float64 {
	var out []float64
	if a.log {
		decades := math.Log10(a.hi / a.lo)
		for e := math.Floor(math.Log10(a.lo)); math.Pow(10, e) <= a.hi*1.0001; e++ {
			for _, m := range []float64{1, 2, 5} {
				v := m * math.Pow(10, e)
				if (m == 1 || decades < 2.5) && v >= a.lo*0.9999 && v <= a.hi*1.0001 {
					out = append(out, v)
				}
			}
		}
		return out
	}
	step := niceStep((a.hi - a.lo) / 6)
	for v := math.Ceil(a.lo/step) * step; v <= a.hi+step/1e6; v += step {
		out = append(out, v)
	}
	return out
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// span computes an axis range from the data.
func span(vals []float64, log bool, from, to float64) axis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if log && v <= 0 {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	if log {
		lo = math.Pow(10, math.Floor(math.Log10(lo)))
		hi = math.Pow(10, math.Ceil(math.Log10(hi)))
		if hi <= lo {
			hi = lo * 10
		}
	} else {
		lo = min(0, lo)
		if hi <= lo {
			hi = lo + 1
		}
		step := niceStep((hi - lo) / 6)
		hi = math.Ceil(hi/step) * step
	}
	return axis{lo: lo, hi: hi, log: log, from: from, to: to}
}

func (c *chart) axes() (x, y axis) {
	var xs, ys []float64
	for _, s := range c.Series {
		xs = append(xs, s.X...)
		ys = append(ys, s.Y...)
	}
	x = span(xs, c.LogX, padLeft, chartW-padRight)
	y = span(ys, c.LogY, chartH-padBottom, padTop)
	return x, y
}

// tickLabel prints 1500 as "1.5k", 2000000 as "2M".
func tickLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// svg renders the chart.
func (c *chart) svg() string {
	x, y := c.axes()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="17" font-weight="bold">%s</text>`+"\n", padLeft, xmlEscape(c.Title))
	for _, v := range x.ticks() {
		p := x.pos(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", p, y.from, p, y.to)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", p, y.from+18, tickLabel(v))
	}
	for _, v := range y.ticks() {
		p := y.pos(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x.from, p, x.to, p)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", x.from-6, p+4, tickLabel(v))
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", x.from, y.to, x.to-x.from, y.from-y.to)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", (x.from+x.to)/2, chartH-15, xmlEscape(c.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(22 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", (y.from+y.to)/2, xmlEscape(c.YLabel))
	for i, s := range c.Series {
		var pts []string
		for k := range s.X {
			if (c.LogX && s.X[k] <= 0) || (c.LogY && s.Y[k] <= 0) {
				continue
			}
			px, py := x.pos(s.X[k]), y.pos(s.Y[k])
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
			if len(s.X) <= 50 {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px, py, hexColor(s.Color))
			}
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), hexColor(s.Color), dash)
		ly := padTop + 10 + i*22
		lx := chartW - padRight + 20
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", lx, ly, lx+28, ly, hexColor(s.Color), dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", lx+36, ly+4, xmlEscape(s.Name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// latencyChart plots delivery percentiles against subscriber count, one
// line per percentile and transport.
func latencyChart(reports []*Report) *chart {
	c := &chart{Title: "Delivery latency vs subscribers", XLabel: "subscribers", YLabel: "latency (ms)", LogX: true, LogY: true}
	byLabel := map[string][]LatencyPoint{}
	var labels []string
	for _, r := range reports {
		for _, p := range r.Latency {
			if _, ok := byLabel[p.Label]; !ok {
				labels = append(labels, p.Label)
			}
			byLabel[p.Label] = append(byLabel[p.Label], p)
		}
	}
	names := []string{"p50", "p90", "p99", "p99.9", "max"}
	for li, label := range labels {
		for pi, name := range names {
			s := chartSeries{Name: label + " " + name, Color: palette[pi%len(palette)], Dashed: li%2 == 1}
			for _, p := range byLabel[label] {
				v := []float64{p.P50, p.P90, p.P99, p.P999, p.Max}[pi]
				s.X, s.Y = append(s.X, float64(p.Subscribers)), append(s.Y, v)
			}
			c.Series = append(c.Series, s)
		}
	}
	return c
}

// rssChart plots target and client RSS against open connections while
// connections were being opened.
func rssChart(reports []*Report) *chart {
	c := &chart{Title: "Memory vs open connections", XLabel: "open connections", YLabel: "RSS (MiB)"}
	i := 0
	for _, r := range reports {
		if len(r.RSS) == 0 {
			continue
		}
		label := r.Label
		if label == "" {
			label = r.Scenario
		}
		target := chartSeries{Name: label + " target", Color: palette[i%len(palette)]}
		client := chartSeries{Name: label + " client", Color: palette[i%len(palette)], Dashed: true}
		var peak int64 = -1
		for _, p := range r.RSS {
			if p.Open < peak {
				break // connections are closing: the ramp is over
			}
			peak = p.Open
			if p.TargetRSS > 0 {
				target.X, target.Y = append(target.X, float64(p.Open)), append(target.Y, float64(p.TargetRSS)/(1<<20))
			}
			client.X, client.Y = append(client.X, float64(p.Open)), append(client.Y, float64(p.ClientRSS)/(1<<20))
		}
		if len(target.X) > 0 {
			c.Series = append(c.Series, target)
		}
		c.Series = append(c.Series, client)
		i++
	}
	return c
}

// WritePlots writes latency.{svg,png} and rss.{svg,png} into dir for the
// reports that have the data, and returns the paths written.
func WritePlots(dir string, reports []*Report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for name, c := range map[string]*chart{"latency": latencyChart(reports), "rss": rssChart(reports)} {
		if len(c.Series) == 0 {
			continue
		}
		svgPath := filepath.Join(dir, name+".svg")
		if err := os.WriteFile(svgPath, []byte(c.svg()), 0o644); err != nil {
			return written, err
		}
		pngPath := filepath.Join(dir, name+".png")
		if err := c.writePNG(pngPath); err != nil {
			return written, err
		}
		written = append(written, svgPath, pngPath)
	}
	return written, nil
}
