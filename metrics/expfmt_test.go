package metrics

import (
	"strconv"
	"strings"
	"testing"
)

// parseExposition checks b against the parts of format 0.0.4 Sluice writes
// (MET-1): every sample belongs to a family whose HELP and TYPE lines came
// first, each family is opened once, and every value parses. It returns the
// values keyed by the series as written, e.g. `go_info{version="go1.26"}`.
func parseExposition(t *testing.T, b []byte) map[string]float64 {
	t.Helper()
	text := string(b)
	if text != "" && !strings.HasSuffix(text, "\n") {
		t.Fatalf("exposition does not end in a newline: %q", text)
	}
	help := map[string]bool{}
	typ := map[string]string{}
	series := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, _, _ := strings.Cut(rest, " ")
			if help[name] {
				t.Errorf("second HELP for %s", name)
			}
			help[name] = true
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, kind, _ := strings.Cut(rest, " ")
			if _, dup := typ[name]; dup || !help[name] {
				t.Errorf("TYPE for %s repeated or before its HELP", name)
			}
			switch kind {
			case "counter", "gauge", "histogram":
			default:
				t.Errorf("%s: type %q", name, kind)
			}
			typ[name] = kind
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Errorf("not a sample line: %q", line)
			continue
		}
		key, value := line[:i], line[i+1:]
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Errorf("%s: value %q: %v", key, value, err)
		}
		name, _, _ := strings.Cut(key, "{")
		family := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && typ[base] == "histogram" {
				family = base
			}
		}
		if typ[family] == "" {
			t.Errorf("sample %s has no HELP/TYPE before it", key)
		}
		if _, dup := series[key]; dup {
			t.Errorf("series %s written twice", key)
		}
		series[key] = v
	}
	return series
}
