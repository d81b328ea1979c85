package proto

import (
	"os"
	"strings"
	"testing"
)

// readStatusFixture returns testdata/status.json: a remote status as Rails
// renders it for a public timeline (account, media with float aspects,
// mentions, tags, custom emojis, card, poll), about 4 KB of compact JSON.
func readStatusFixture(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/status.json")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// statusMessage wraps the fixture in an update message. With escaped, the
// status is written the way ActiveSupport encodes notifications (<, >, &
// as \u003c, \u003e, \u0026), which defeats the ENC-2 fast path.
func statusMessage(tb testing.TB, escaped bool) []byte {
	status := strings.TrimSpace(string(readStatusFixture(tb)))
	if escaped {
		status = strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(status)
	}
	return []byte(`{"event":"update","payload":` + status + `,"queued_at":1732125845123}`)
}

// BenchmarkParseEvent measures the once-per-message decode (RED-5) of a
// realistic update, canonical as Oj writes it (ENC-2 copy) and escaped as
// ActiveSupport writes it (full re-encode).
func BenchmarkParseEvent(b *testing.B) {
	for _, bc := range []struct {
		name    string
		escaped bool
	}{{"canonical", false}, {"escaped", true}} {
		b.Run(bc.name, func(b *testing.B) {
			raw := statusMessage(b, bc.escaped)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := ParseEvent(raw); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

func BenchmarkAppendCanonical(b *testing.B) {
	v, err := ParseJSON(readStatusFixture(b))
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendCanonical(dst[:0], &v)
	}
	b.SetBytes(int64(len(dst)))
}

func BenchmarkRepairUTF8(b *testing.B) {
	raw := statusMessage(b, false)
	bad := append(append([]byte{}, raw...), 0xff)
	dst := make([]byte, 0, 2*len(bad))
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"valid", raw}, {"invalid", bad}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.in)))
			b.ReportAllocs()
			for b.Loop() {
				dst = RepairUTF8(dst[:0], bc.in)
			}
		})
	}
}

func BenchmarkAppendSSEEvent(b *testing.B) {
	ev, _, _ := ParseEvent(statusMessage(b, false))
	dst := make([]byte, 0, 8192)
	b.SetBytes(int64(len(ev.Payload)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendSSEEvent(dst[:0], ev.Name, ev.Payload)
	}
}

func BenchmarkAppendWSEvent(b *testing.B) {
	ev, _, _ := ParseEvent(statusMessage(b, false))
	stream := []byte(`["public"]`)
	dst := make([]byte, 0, 8192)
	b.SetBytes(int64(len(ev.Payload)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendWSEvent(dst[:0], stream, &ev)
	}
}
