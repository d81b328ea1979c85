package metrics

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestFamily(t *testing.T) {
	var w Writer
	w.Family("connected_clients", "gauge", "The number of clients connected to the streaming server")
	w.Family("odd", "counter", `back\slash, "quotes" kept`+"\nsecond line")
	want := "# HELP connected_clients The number of clients connected to the streaming server\n" +
		"# TYPE connected_clients gauge\n" +
		`# HELP odd back\\slash, "quotes" kept\nsecond line` + "\n" +
		"# TYPE odd counter\n"
	if got := string(w.B); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSamples(t *testing.T) {
	var w Writer
	w.Int("redis_subscriptions", 0)
	w.Int("connected_clients", 3, "type", "websocket")
	w.Int("connected_channels", -2, "type", "eventsource", "channel", "public:local:media")
	w.Uint("messages_sent_total", math.MaxUint64, "type", "websocket")
	w.Float("ratio", 0.25, "k", "v")
	w.Int("esc", 1, "v", `a\b"c`+"\nd", "empty", "")
	want := "redis_subscriptions 0\n" +
		"connected_clients{type=\"websocket\"} 3\n" +
		"connected_channels{type=\"eventsource\",channel=\"public:local:media\"} -2\n" +
		"messages_sent_total{type=\"websocket\"} 18446744073709551615\n" +
		"ratio{k=\"v\"} 0.25\n" +
		`esc{v="a\\b\"c\nd",empty=""} 1` + "\n"
	if got := string(w.B); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFloat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{3, "3"},
		{-3, "-3"},
		{1.23, "1.23"},
		{0.0005, "0.0005"},
		{1e-05, "1e-05"},
		{1 << 53, "9007199254740992"},
		{-(1 << 53), "-9007199254740992"},
		{1<<53 + 2, "9.007199254740994e+15"},
		{1e20, "1e+20"},
		{1712345678.53, "1712345678.53"}, // as prom-client (JavaScript) writes it
		{123456789012345.5, "123456789012345.5"},
		{1e15 + 0.5, "1.0000000000000005e+15"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "+Inf"},
		{math.Inf(-1), "-Inf"},
	} {
		var w Writer
		w.Float("x", tc.v)
		if got, want := string(w.B), "x "+tc.want+"\n"; got != want {
			t.Errorf("Float(%v) = %q, want %q", tc.v, got, want)
		}
		if f, err := strconv.ParseFloat(tc.want, 64); err != nil || (f != tc.v && !math.IsNaN(tc.v)) {
			t.Errorf("%q does not read back as %v (%v, %v)", tc.want, tc.v, f, err)
		}
	}
}

func TestOddLabelsPanic(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "odd number of label arguments for x") {
			t.Errorf("recover() = %v", r)
		}
	}()
	var w Writer
	w.Int("x", 1, "type")
}

func TestWriterReuse(t *testing.T) {
	var w Writer
	w.Int("a", 1)
	w.B = w.B[:0]
	w.Int("b", 2)
	if got := string(w.B); got != "b 2\n" {
		t.Errorf("got %q", got)
	}
}
