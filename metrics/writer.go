// Package metrics writes the Prometheus text exposition format 0.0.4 (MET-1)
// with no dependencies, plus process_* (MET-4) and go_* collectors.
//
// There is no registry: the /metrics handler calls Family and the sample
// methods in the order it wants the output, into a Writer it owns. That keeps
// series that must exist from start-up (MET-3) explicit in one place and lets
// a scrape run without allocating once the buffer has grown.
//
// A Writer belongs to one goroutine. A Histogram may be observed from any
// goroutine and written while being observed.
package metrics

import (
	"math"
	"strconv"
)

// Writer appends exposition text to B. The zero value is ready; reuse by
// B = B[:0]. Methods never allocate while B has room, so a scrape handler that
// keeps its Writer allocates only until B reaches its steady size.
//
// Metric and label names are written as given: they are program constants, so
// they are not validated. Label values are escaped.
type Writer struct{ B []byte }

// Family writes the "# HELP name help\n# TYPE name typ\n" lines that open a
// family. typ is "counter", "gauge" or "histogram". Backslashes and newlines
// in help are escaped as the format requires.
func (w *Writer) Family(name, typ, help string) {
	b := append(w.B, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = appendEscaped(b, help, false)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	w.B = append(b, '\n')
}

// Int writes one sample line: name{k1="v1",k2="v2"} v. labels are key, value
// pairs written in the order given; an odd count panics, as it is a
// programming error. There are no braces when there are no labels.
func (w *Writer) Int(name string, v int64, labels ...string) {
	w.head(name, "", labels, "")
	w.B = append(strconv.AppendInt(w.B, v, 10), '\n')
}

// Uint is Int for uint64, for counters that may pass 2^63.
func (w *Writer) Uint(name string, v uint64, labels ...string) {
	w.head(name, "", labels, "")
	w.B = append(strconv.AppendUint(w.B, v, 10), '\n')
}

// Float writes a float sample. Integral values within ±2^53 are written
// without a decimal point or exponent ("3", not "3e+00"), others in the
// shortest form that round-trips; NaN and ±Inf as Prometheus spells them.
func (w *Writer) Float(name string, v float64, labels ...string) {
	w.head(name, "", labels, "")
	w.B = append(appendFloat(w.B, v), '\n')
}

// head writes name+suffix, the label set (with le last when non-empty) and
// the space before the value.
func (w *Writer) head(name, suffix string, labels []string, le string) {
	if len(labels)%2 != 0 {
		panic("metrics: odd number of label arguments for " + name)
	}
	b := append(w.B, name...)
	b = append(b, suffix...)
	if len(labels) > 0 || le != "" {
		b = append(b, '{')
		for i := 0; i < len(labels); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, labels[i]...)
			b = append(b, '=', '"')
			b = appendEscaped(b, labels[i+1], true)
			b = append(b, '"')
		}
		if le != "" {
			if len(labels) > 0 {
				b = append(b, ',')
			}
			b = append(b, `le="`...)
			b = append(b, le...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	w.B = append(b, ' ')
}

// appendEscaped appends s with backslash and newline escaped, and the double
// quote too inside a label value (HELP text keeps quotes as they are).
func appendEscaped(b []byte, s string, quote bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch c := s[i]; {
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '"' && quote:
			esc = `\"`
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// maxExactInt is 2^53: every integer up to it is exact in a float64, so
// printing it as an integer loses nothing.
const maxExactInt = 1 << 53

// appendFloat appends v as the exposition format and the Go parser
// (strconv.ParseFloat) both read it.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case v == math.Trunc(v) && v >= -maxExactInt && v <= maxExactInt:
		return strconv.AppendInt(b, int64(v), 10)
	case math.Abs(v) >= 1e-4 && math.Abs(v) < 1e15:
		// Plain decimals as JavaScript prints them (prom-client): a start
		// time reads 1712345678.53, not 1.71234567853e+09.
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	default:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	}
}
