package proto

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// BenchmarkParseFrame decodes one masked client frame: a subscribe message
// (the typical one) and larger text frames. The payload is unmasked in place
// on every iteration, which costs the same as the first time.
func BenchmarkParseFrame(b *testing.B) {
	for _, bc := range []struct {
		name    string
		payload string
	}{
		{"subscribe", `{"type":"subscribe","stream":"hashtag","tag":"sunset"}`},
		{"4KiB", strings.Repeat("x", 4<<10)},
		{"64KiB", strings.Repeat("x", 64<<10)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := clientFrame(0x81, bc.payload, 0)
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, _, err := ParseFrame(buf, testMaxMessage); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAssembler reassembles a subscribe message sent in three fragments
// with UTF-8 checked as they arrive.
func BenchmarkAssembler(b *testing.B) {
	frags := []Frame{
		{Op: ws.OpText, Payload: []byte(`{"type":"subscribe",`)},
		{Op: ws.OpContinuation, Payload: []byte(`"stream":"hashtag",`)},
		{Fin: true, Op: ws.OpContinuation, Payload: []byte(`"tag":"café"}`)},
	}
	var a Assembler
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range frags {
			if _, _, _, err := a.Push(f, testMaxMessage); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkWSEventFrame renders a realistic update once per (event, stream
// name), as the fan-out does (STYLE 5): the message, then its text frame.
func BenchmarkWSEventFrame(b *testing.B) {
	ev, _, err := ParseEvent(statusMessage(b, false))
	if err != nil {
		b.Fatal(err)
	}
	stream := []byte(`["public"]`)
	msg := AppendWSEvent(nil, stream, &ev)
	scratch := make([]byte, 0, 2*len(msg))
	frame := make([]byte, 0, len(msg)+16)
	b.Run("AppendWSEvent", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(ev.Payload)))
		for b.Loop() {
			scratch = AppendWSEvent(scratch[:0], stream, &ev)
		}
	})
	b.Run("AppendTextFrame", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			frame = AppendTextFrame(frame[:0], msg)
		}
	})
}

func BenchmarkParseClientMessage(b *testing.B) {
	msg := []byte(`{"type":"subscribe","stream":"hashtag","tag":"sunset"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, ok := ParseClientMessage(msg); !ok {
			b.Fatal("refused")
		}
	}
}

// BenchmarkHandshake checks an upgrade and writes the 101, once per
// connection.
func BenchmarkHandshake(b *testing.B) {
	var r Request
	if _, err := ParseRequest([]byte(crlf(wsHead("GET", "Sec-WebSocket-Protocol: alice-read-token"))), &r); err != nil {
		b.Fatal(err)
	}
	id := []byte("3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a")
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if CheckUpgrade(&r) != nil {
			b.Fatal("refused")
		}
		dst = AppendSwitchingProtocols(dst[:0], r.SecWebSocketKey, FirstProtocol(r.SecWebSocketProtocol), id)
	}
	if !bytes.HasPrefix(dst, []byte("HTTP/1.1 101 ")) {
		b.Fatalf("%q", dst)
	}
}
