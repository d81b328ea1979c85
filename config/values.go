package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// IntError is the fatal start-up error of CFG-4a. Its text is Node's, byte
// for byte: `Invalid DB_PORT environment variable: abc`.
type IntError struct {
	Name  string
	Value string
}

func (e *IntError) Error() string {
	return "Invalid " + e.Name + " environment variable: " + e.Value
}

func isDecimal(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// jsInt parses an integer variable as CFG-4a says: parseInt(value, 10),
// default when empty or unset, IntError when there are no digits. lo and hi
// bound the result; they are Sluice's, the reference has none.
func (r *resolver) jsInt(name string, def, lo, hi int) int {
	raw := r.get(name)
	if raw == "" {
		return def
	}
	n, ok := parseJSInt(raw)
	if !ok {
		r.fail(&IntError{Name: name, Value: raw})
		return def
	}
	if n < int64(lo) || n > int64(hi) {
		r.failf("%s: %d is out of range (expected %s)", name, n, rangeText(lo, hi))
		return def
	}
	return int(n)
}

// jsIntOr is jsInt for a variable Node does not read in the current mode: a
// bad value is ignored, as there.
func (r *resolver) jsIntOr(name string, def int) int {
	if n, ok := parseJSInt(r.get(name)); ok && n >= math.MinInt32 && n <= math.MaxInt32 {
		return int(n)
	}
	return def
}

// parseJSInt is JavaScript's parseInt(s, 10): skip leading whitespace, take
// an optional sign and the longest run of decimal digits, ignore the rest.
// Values beyond int64 count as out of range (math.MaxInt64 / MinInt64).
func parseJSInt(s string) (int64, bool) {
	s = strings.TrimLeftFunc(s, jsSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	end := 0
	for end < len(s) && '0' <= s[end] && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		n = math.MaxInt64
	}
	if neg {
		n = -n
	}
	return n, true
}

func rangeText(lo, hi int) string {
	if hi == math.MaxInt32 {
		return fmt.Sprintf("%d or more", lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// durationRule bounds a duration variable; zero max means none. why names
// the requirement behind the bounds.
type durationRule struct {
	def, min, max time.Duration
	why           string
}

// duration reads a Go duration ("15s", "500ms") or a number of seconds.
func (r *resolver) duration(name string, rule durationRule) time.Duration {
	raw := strings.TrimSpace(r.get(name))
	if raw == "" {
		return rule.def
	}
	d, err := time.ParseDuration(raw)
	if f, ferr := strconv.ParseFloat(raw, 64); ferr == nil && f >= 0 && f < 1e9 {
		d, err = time.Duration(f*float64(time.Second)), nil
	}
	switch {
	case err != nil:
		r.failf("%s: invalid duration %q (expected e.g. 15s, 500ms, or a number of seconds)", name, raw)
	case d < rule.min:
		r.failf("%s: %s is too short (at least %s%s)", name, d, rule.min, why(rule.why))
	case rule.max > 0 && d > rule.max:
		r.failf("%s: %s is too long (at most %s%s)", name, d, rule.max, why(rule.why))
	default:
		return d
	}
	return rule.def
}

func why(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}

// integer reads a plain decimal integer (Sluice's own variables are not
// parsed the JavaScript way).
func (r *resolver) integer(name string, def, lo, hi int) int {
	raw := strings.TrimSpace(r.get(name))
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	switch {
	case err != nil && !isDecimal(raw):
		r.failf("%s: invalid number %q (expected a whole number, %s)", name, raw, rangeText(lo, hi))
	case err != nil || n < lo || n > hi:
		r.failf("%s: %s is out of range (expected %s)", name, raw, rangeText(lo, hi))
	default:
		return n
	}
	return def
}

// size reads a byte count: plain bytes, or a number with B, KiB, MiB or GiB.
func (r *resolver) size(name string, def, lo, hi int) int {
	raw := strings.TrimSpace(r.get(name))
	if raw == "" {
		return def
	}
	digits := strings.TrimRight(raw, "BbIiKkMmGg ")
	unit := strings.ToLower(strings.TrimSpace(raw[len(digits):]))
	mult := map[string]int{"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}[unit]
	n, err := strconv.Atoi(digits)
	switch {
	case err != nil || mult == 0 || n < 0:
		r.failf("%s: invalid size %q (expected a byte count or a number with KiB, MiB or GiB, e.g. 4MiB)", name, raw)
	case n > hi/mult || n*mult < lo:
		r.failf("%s: %s is out of range (expected %d to %d bytes)", name, raw, lo, hi)
	default:
		return n * mult
	}
	return def
}

// boolean reads true/false, 1/0, yes/no, on/off (any case).
func (r *resolver) boolean(name string, def bool) bool {
	raw := strings.TrimSpace(r.get(name))
	switch strings.ToLower(raw) {
	case "":
		return def
	case "true", "1", "yes", "on", "t":
		return true
	case "false", "0", "no", "off", "f":
		return false
	}
	r.failf("%s: invalid boolean %q (expected true or false)", name, raw)
	return def
}
