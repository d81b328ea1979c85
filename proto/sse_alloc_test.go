//go:build !race

package proto

import "testing"

// The per-event framing runs once per event and framing and must not
// allocate when dst has room (STYLE 6).
func TestFramingAllocsSSE(t *testing.T) {
	ev, _, _ := ParseEvent(statusMessage(t, true))
	num, _, _ := ParseEvent([]byte(`{"event":"x","payload":1.5}`))
	str, _, _ := ParseEvent([]byte(`{"event":"x","payload":"a\nb\ud800"}`))
	stream := []byte(`["hashtag","Café"]`)
	bad := []byte("a\xffb\xe2\x82")
	dst := make([]byte, 0, 16384)
	cases := []struct {
		name string
		fn   func()
	}{
		{"AppendSSEEvent", func() { dst = AppendSSEEvent(dst[:0], ev.Name, ev.Payload) }},
		{"AppendSSEEvent_split", func() { dst = AppendSSEEvent(dst[:0], "x\xed\xa0\x80", str.Payload) }},
		{"AppendChunk", func() { dst = AppendChunk(dst[:0], ev.Payload) }},
		{"AppendWSEvent_object", func() { dst = AppendWSEvent(dst[:0], stream, &ev) }},
		{"AppendWSEvent_number", func() { dst = AppendWSEvent(dst[:0], stream, &num) }},
		{"AppendWSEvent_string", func() { dst = AppendWSEvent(dst[:0], stream, &str) }},
		{"AppendCanonical", func() { dst = AppendCanonical(dst[:0], &ev.Value) }},
		{"AppendQuoted", func() { dst = AppendQuoted(dst[:0], "a<\"\n\xed\xa0\x80\xff") }},
		{"RepairUTF8_valid", func() { dst = RepairUTF8(dst[:0], ev.Payload) }},
		{"RepairUTF8_invalid", func() { dst = RepairUTF8(dst[:0], bad) }},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(100, c.fn); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", c.name, n)
		}
	}
}
