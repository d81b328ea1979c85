//go:build !race

package proto

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

func init() { frameAllocChecks = true }

// The WebSocket hot path allocates nothing (STYLE 6): decoding client
// frames on the loop, and framing each event once for every recipient.
func TestFrameAllocs(t *testing.T) {
	for _, tc := range frameCases {
		buf := bytes.Clone(tc.raw)
		if allocs := testing.AllocsPerRun(100, func() { ParseFrame(buf, tc.max) }); allocs != 0 {
			t.Errorf("ParseFrame %s: %v allocations per run, want 0", tc.name, allocs)
		}
	}
}

func TestFramingAllocsWS(t *testing.T) {
	ev, _, _ := ParseEvent(statusMessage(t, false))
	stream := []byte(`["hashtag","Café"]`)
	msg := AppendWSEvent(nil, stream, &ev)
	dst := make([]byte, 0, 4*len(msg)+64)
	var r Request
	if _, err := ParseRequest([]byte(crlf(wsHead("GET", "Sec-WebSocket-Protocol: alice-read-token, chat"))), &r); err != nil {
		t.Fatal(err)
	}
	id := []byte("3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a")
	closePayload := []byte("\x03\xe8bye")
	var a Assembler
	frag1 := []byte(`{"type":"subscribe",`)
	frag2 := []byte(`"stream":"public"}`)
	cases := []struct {
		name string
		fn   func()
	}{
		{"AppendTextFrame", func() { dst = AppendTextFrame(dst[:0], msg) }},
		{"AppendWSEvent", func() { dst = AppendWSEvent(dst[:0], stream, &ev) }},
		{"AppendFrameHeader_64bit", func() { dst = AppendFrameHeader(dst[:0], ws.OpBinary, 1<<20) }},
		{"AppendCloseFrame", func() { dst = AppendCloseFrame(dst[:0], 1013, "slow consumer") }},
		{"AppendCloseReply", func() {
			code, reason, _ := ParseClosePayload(closePayload)
			dst = AppendCloseReply(dst[:0], code, reason)
		}},
		{"AppendStreamName", func() { dst = AppendStreamName(dst[:0], "hashtag", "Café", nil) }},
		{"AppendWSError", func() { dst = AppendWSError(dst[:0], "Unknown stream type", 400) }},
		{"Assembler_fragmented", func() {
			a.Push(Frame{Op: ws.OpText, Payload: frag1}, testMaxMessage)
			a.Push(Frame{Fin: true, Op: ws.OpContinuation, Payload: frag2}, testMaxMessage)
		}},
		{"Assembler_whole", func() { a.Push(Frame{Fin: true, Op: ws.OpText, Payload: frag1}, testMaxMessage) }},
		// The handshake runs once per connection; it allocates nothing either.
		{"CheckUpgrade", func() { CheckUpgrade(&r) }},
		{"AppendSwitchingProtocols", func() {
			dst = AppendSwitchingProtocols(dst[:0], r.SecWebSocketKey, FirstProtocol(r.SecWebSocketProtocol), id)
		}},
		{"AppendUpgradeRefusal", func() { dst = AppendUpgradeRefusal(dst[:0], errUpgradeVersion) }},
		{"AppendUpgradeAuthRefusal", func() { dst = AppendUpgradeAuthRefusal(dst[:0], id, 401, "Missing access token") }},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(100, c.fn); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", c.name, n)
		}
	}
}
