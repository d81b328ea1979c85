package netpoll_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// End-to-end tests of the RFC 6455 duties of WS-16 and WS-17 and of the
// close behaviour of §11.7: every close code a client can provoke, the close
// handshake, fragmentation with control frames in between, the server's
// pings and the reaping of half-open sockets, kill, the slow-consumer cut of
// X-4, and a misbehaving client never touching its neighbours (LIFE-4).

// testWSMax is SLUICE_WS_MAX_MESSAGE in these tests: small, so the limit
// is cheap to cross.
const testWSMax = 4 << 10

const binaryReason = "The mastodon streaming server does not support binary messages"

// frames concatenates client frames into what one write sends.
func frames(fs ...[]byte) string {
	var b strings.Builder
	for _, f := range fs {
		b.Write(f)
	}
	return b.String()
}

// masked is a masked client frame with first byte b0.
func masked(b0 byte, payload string) []byte { return clientFrame(b0, []byte(payload), false) }

// closePayload is a close frame's payload: the code then the reason.
func closePayload(code ws.StatusCode, reason string) string {
	return string(binary.BigEndian.AppendUint16(nil, uint16(code))) + reason
}

// WS-13, WS-16, §11.7: each way a client breaks the protocol gets its close
// code (the reason only for binary, as the reference), then the TCP close.
// Limits are checked on the frame header, before any payload arrives.
func TestWebSocketCloseCodes_WS16(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *serverConfig) { c.opts.WSMaxMessage = testWSMax })
	big := strings.Repeat("a", 3000)
	for _, tc := range []struct {
		name   string
		send   string
		code   ws.StatusCode
		reason string
	}{
		{"unmasked_text", frames(clientFrame(0x81, []byte(`{"type":"subscribe","stream":"public"}`), true)), ws.StatusProtocolError, ""},
		{"unmasked_ping", frames(clientFrame(0x89, nil, true)), ws.StatusProtocolError, ""},
		{"unmasked_header_only", "\x81\x05", ws.StatusProtocolError, ""},
		{"rsv1", frames(masked(0xC1, "{}")), ws.StatusProtocolError, ""},
		{"rsv2", frames(masked(0xA1, "{}")), ws.StatusProtocolError, ""},
		{"rsv3_header_only", "\x91\x82", ws.StatusProtocolError, ""},
		{"rsv_on_ping", frames(masked(0xC9, "")), ws.StatusProtocolError, ""},
		{"opcode_3", frames(masked(0x83, "{}")), ws.StatusProtocolError, ""},
		{"opcode_7", frames(masked(0x87, "")), ws.StatusProtocolError, ""},
		{"opcode_B", frames(masked(0x8B, "")), ws.StatusProtocolError, ""},
		{"opcode_F", frames(masked(0x8F, "")), ws.StatusProtocolError, ""},
		{"continuation_first", frames(masked(0x80, "{}")), ws.StatusProtocolError, ""},
		{"text_inside_fragmented", frames(masked(0x01, "{"), masked(0x81, "}")), ws.StatusProtocolError, ""},
		{"fragmented_ping", frames(masked(0x09, "a")), ws.StatusProtocolError, ""},
		{"ping_126_bytes", frames(masked(0x89, strings.Repeat("p", 126))), ws.StatusProtocolError, ""},
		{"length_msb_set", "\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00", ws.StatusProtocolError, ""},
		{"close_one_byte", frames(masked(0x88, "\x03")), ws.StatusProtocolError, ""},
		{"close_code_1005", frames(masked(0x88, closePayload(1005, ""))), ws.StatusProtocolError, ""},
		{"close_code_999", frames(masked(0x88, closePayload(999, ""))), ws.StatusProtocolError, ""},
		{"close_reason_not_utf8", frames(masked(0x88, closePayload(1000, "\xff"))), ws.StatusInvalidFramePayloadData, ""},
		{"binary", frames(masked(0x82, `{"type":"subscribe","stream":"public"}`)), ws.StatusUnsupportedData, binaryReason},
		{"binary_empty", frames(masked(0x82, "")), ws.StatusUnsupportedData, binaryReason},
		{"binary_fragmented", frames(masked(0x02, "a"), masked(0x80, "b")), ws.StatusUnsupportedData, binaryReason},
		{"utf8_invalid_byte", frames(masked(0x81, "{\"type\":\"\xff\"}")), ws.StatusInvalidFramePayloadData, ""},
		{"utf8_surrogate", frames(masked(0x81, "\xed\xa0\x80")), ws.StatusInvalidFramePayloadData, ""},
		{"utf8_overlong", frames(masked(0x81, "\xc0\xaf")), ws.StatusInvalidFramePayloadData, ""},
		{"utf8_truncated_at_end", frames(masked(0x81, "caf\xc3")), ws.StatusInvalidFramePayloadData, ""},
		{"utf8_split_invalid", frames(masked(0x01, "{\"tag\":\"\xe2\x82"), masked(0x80, `("}`)), ws.StatusInvalidFramePayloadData, ""},
		{"utf8_truncated_across_fragments", frames(masked(0x01, "caf"), masked(0x00, "\xc3"), masked(0x80, "")), ws.StatusInvalidFramePayloadData, ""},
		{"too_big_header_only_16", "\x81\xfe\x10\x01", ws.StatusMessageTooBig, ""},
		{"too_big_header_only_64", "\x81\xff\x00\x00\x00\x01\x00\x00\x00\x00", ws.StatusMessageTooBig, ""},
		{"too_big_whole", frames(masked(0x81, strings.Repeat("x", testWSMax+1))), ws.StatusMessageTooBig, ""},
		{"too_big_fragments", frames(masked(0x01, big), masked(0x80, big)), ws.StatusMessageTooBig, ""},
		// The second fragment's header alone says the message is too big.
		{"too_big_fragment_header_only", frames(masked(0x01, big)) + "\x80\xfe\x0b\xb8", ws.StatusMessageTooBig, ""},
		{"too_big_binary", "\x82\xfe\x10\x01", ws.StatusMessageTooBig, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			w := s.dialWSAs("alice-read-token", "")
			w.send(tc.send)
			w.expectCloseCode(tc.code, tc.reason)
		})
	}
	// Exactly the limit is fine (and ignored: not JSON, WS-12).
	w := s.dialWSAs("alice-read-token", "")
	w.sendText(strings.Repeat("x", testWSMax))
	w.send(frames(masked(0x01, strings.Repeat("y", testWSMax-1)), masked(0x80, "y")))
	w.sync()
}

// WS-16, §11.7: a client's close frame is answered with its code (and
// reason, as the ws library echoes it), then the server closes TCP; an
// empty close gets an empty close.
func TestWebSocketClientClose_WS16(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, tc := range []struct {
		name string
		send string
		want string // the close payload echoed
	}{
		{"normal", frames(masked(0x88, closePayload(1000, "bye"))), closePayload(1000, "bye")},
		{"going_away", frames(masked(0x88, closePayload(1001, ""))), closePayload(1001, "")},
		{"application_4000", frames(masked(0x88, closePayload(4000, "done"))), closePayload(4000, "done")},
		{"empty", frames(masked(0x88, "")), ""},
		{"between_fragments", frames(masked(0x01, `{"type":`), masked(0x88, closePayload(1000, ""))), closePayload(1000, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			w := s.dialWSAs("alice-read-token", "?stream=public")
			w.sync()
			w.send(tc.send)
			op, p := w.next(5 * time.Second)
			if op != ws.OpClose || string(p) != tc.want {
				t.Fatalf("answer op %v %q, want close %q", op, p, tc.want)
			}
			w.expectEOF(2 * time.Second)
		})
	}
}

// WS-16: a fragmented message with pings and a pong between its fragments:
// each ping is answered at once with a pong carrying its payload, and the
// message then applies. A character split across fragments is fine.
func TestWebSocketFragmentation_WS16(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.dialWSAs("alice-read-token", "")

	msg := `{"type":"subscribe","stream":"hashtag","tag":"Café"}`
	cut := strings.Index(msg, "é") + 1 // inside the two bytes of é
	w.send(frames(masked(0x01, msg[:10]), masked(0x89, "abc")))
	if op, p := w.next(2 * time.Second); op != ws.OpPong || string(p) != "abc" {
		t.Fatalf("got op %v %q, want pong \"abc\"", op, p)
	}
	w.send(frames(masked(0x00, msg[10:cut]), masked(0x8A, "unsolicited"), masked(0x89, ""), masked(0x00, ""), masked(0x89, strings.Repeat("p", 125))))
	if op, p := w.next(2 * time.Second); op != ws.OpPong || len(p) != 0 {
		t.Fatalf("got op %v %q, want an empty pong", op, p)
	}
	if op, p := w.next(2 * time.Second); op != ws.OpPong || string(p) != strings.Repeat("p", 125) {
		t.Fatalf("got op %v %q, want a 125-byte pong", op, p)
	}
	w.send(frames(masked(0x80, msg[cut:])))
	w.sync()
	s.waitSubscribed("timeline:hashtag:cafe")
	s.publish("timeline:hashtag:cafe", `{"event":"delete","payload":"1"}`)
	w.expectText(wsEvent(`["hashtag","Café"]`, "delete", `"1"`))

	// One byte per fragment, pings between some of them.
	msg = `{"type":"subscribe","stream":"public:remote"}`
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		op := byte(0x00)
		switch {
		case i == 0:
			op = 0x01
		case i == len(msg)-1:
			op = 0x80
		}
		b.Write(masked(op, msg[i:i+1]))
		if i%10 == 5 {
			b.Write(masked(0x89, itoa(i)))
		}
	}
	w.send(b.String())
	for i := 0; i < len(msg); i++ {
		if i%10 == 5 {
			if op, p := w.next(2 * time.Second); op != ws.OpPong || string(p) != itoa(i) {
				t.Fatalf("got op %v %q, want pong %q", op, p, itoa(i))
			}
		}
	}
	w.sync()
	s.waitSubscribed("timeline:public:remote")
	s.publish("timeline:public:remote", `{"event":"delete","payload":"2"}`)
	w.expectText(wsEvent(`["public:remote"]`, "delete", `"2"`))
}

// WS-17: the server pings every socket with \x89\x00 each interval; a
// socket that answers stays open, one that never answers is closed by the
// next tick without a close frame (the client sees 1006).
func TestWebSocketPing_WS17(t *testing.T) {
	t.Parallel()
	const interval = 300 * time.Millisecond
	s := startServer(t, func(c *serverConfig) { c.opts.WSPingInterval = interval })
	alive := s.dialWSAs("alice-read-token", "?stream=public")
	dead := s.dialWSAs("bob-read-token", "?stream=public")
	alive.sync()
	dead.sync()
	start := time.Now()

	// The live socket answers its first four pings, each exactly \x89\x00.
	answered := make(chan error, 1)
	go func() {
		for i := 0; i < 4; i++ {
			alive.c.SetReadDeadline(time.Now().Add(2 * interval))
			op, p, err := readFrame(alive.r)
			if err == nil && (op != ws.OpPing || len(p) != 0) {
				err = fmt.Errorf("got op %v %q, want an empty ping", op, p)
			}
			if err == nil {
				_, err = alive.c.Write(clientFrame(0x8A, nil, false))
			}
			if err != nil {
				answered <- fmt.Errorf("ping %d: %w", i, err)
				return
			}
		}
		answered <- nil
	}()

	// The dead socket: exactly one ping, then the TCP close, no close frame.
	if got := dead.readRaw(2, 2*interval); got != "\x89\x00" {
		t.Fatalf("first bytes %q, want the ping \\x89\\x00", got)
	}
	dead.c.SetReadDeadline(time.Now().Add(3 * interval))
	rest, err := io.ReadAll(dead.r)
	if err != nil && !isEOF(err) {
		t.Fatalf("half-open socket not reaped: %v (read %q)", err, rest)
	}
	if len(rest) != 0 {
		t.Fatalf("bytes before the close of a half-open socket: %q (want none: no close frame)", rest)
	}
	if d := time.Since(start); d < interval {
		t.Errorf("reaped after %v, before the next ping tick", d)
	}

	// The live socket is still open after several pings.
	if err := <-answered; err != nil {
		t.Fatalf("live socket: %v", err)
	}
	s.waitSubscribed("timeline:public")
	s.publish("timeline:public", `{"event":"delete","payload":"1"}`)
	alive.expectText(wsEvent(`["public"]`, "delete", `"1"`))
	if n := s.Srv.Stats.WebSocket.Load(); n != 1 {
		t.Errorf("open WebSockets = %d, want 1", n)
	}
}

// §11.7, SYS-2: kill sends a close frame with an empty payload and stops
// delivery; the TCP connection closes when the client answers with its
// close frame, or after the close timeout (bounded by the ping interval
// here) when it does not. Other tokens' sockets are untouched.
func TestWebSocketKill_SYS2(t *testing.T) {
	t.Parallel()
	const interval = 400 * time.Millisecond
	s := startServer(t, func(c *serverConfig) { c.opts.WSPingInterval = interval })
	polite := s.dialWSAs("alice-read-token", "?stream=public")
	silent := s.dialWSAs("alice-statuses-token", "?stream=public")
	bob := s.dialWSAs("bob-read-token", "?stream=public")
	bob.heartbeat(interval / 4)
	for _, w := range []*wsClient{polite, silent, bob} {
		w.sync() // the initial subscriptions are in place
	}
	s.waitSubscribed("timeline:access_token:1")
	s.waitSubscribed("timeline:system:" + alice)
	s.waitSubscribed("timeline:public")

	s.publish("timeline:access_token:1", `{"event":"kill"}`) // polite's token only
	if got := polite.readRaw(2, time.Second); got != "\x88\x00" {
		t.Fatalf("polite: got %q, want the empty close frame \\x88\\x00", got)
	}
	s.publish("timeline:system:"+alice, `{"event":"kill","payload":"x"}`) // every socket of alice
	if got := silent.readRaw(2, time.Second); got != "\x88\x00" {
		t.Fatalf("silent: got %q, want the empty close frame \\x88\\x00", got)
	}
	killed := time.Now()
	// Nothing is delivered after the kill, and no pings either.
	s.publish("timeline:public", `{"event":"delete","payload":"1"}`)
	bob.expectText(wsEvent(`["public"]`, "delete", `"1"`))
	polite.quiet(100 * time.Millisecond)

	// The polite client closes: the server closes TCP, sending nothing more.
	polite.sendClose(ws.StatusNormalClosure, "")
	if rest := polite.closedByServer(time.Second); rest != "" {
		t.Fatalf("polite: bytes after the client's close: %q", rest)
	}
	// The silent one is dropped after the timeout, also without more bytes.
	if rest := silent.closedByServer(interval + 2*time.Second); rest != "" {
		t.Fatalf("silent: bytes before the TCP close: %q", rest)
	}
	if d := time.Since(killed); d < interval/2 {
		t.Errorf("silent socket closed %v after kill: before the close timeout", d)
	}
	// bob is still streaming and answering.
	bob.sync()
	s.publish("timeline:public", `{"event":"delete","payload":"2"}`)
	bob.expectText(wsEvent(`["public"]`, "delete", `"2"`))
	if n := s.Srv.Stats.WebSocket.Load(); n != 1 {
		t.Errorf("open WebSockets = %d, want 1", n)
	}
}

// §17.2 X-4, STYLE 17: a WebSocket that never reads is cut at the backlog
// cap with close 1013 "slow consumer" when the socket still takes it (or
// just closed), counted and logged; a healthy socket on the same stream gets
// every event, in order, promptly.
func TestWebSocketSlowConsumer_X4(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	s := startServer(t, func(c *serverConfig) {
		c.opts.MaxBacklogBytes = 64 << 10
		c.opts.Logger = newTestLogger(logs)
	})
	slowc := dialTinyRcvBuf(t, s.Addr, 1024)
	slowc.send(wsRequest("GET", "/api/v1/streaming?stream=public", "Sec-WebSocket-Protocol: alice-read-token"))
	if got, want := slowc.head(), switchingProtocols("alice-read-token"); got != want {
		t.Fatalf("slow 101 %q", got)
	}
	slow := &wsClient{slowc}
	healthy := s.dialWSAs("bob-read-token", "?stream=public")
	s.waitSubscribed("timeline:public")
	healthy.sync()
	slow.sync() // subscribed; from now on it never reads

	pad := strings.Repeat("x", 2000)
	cut := -1
	for i := 0; i < 20000; i++ {
		id := pad + "-" + itoa(i)
		published := time.Now()
		s.publish("timeline:public", `{"event":"delete","payload":"`+id+`"}`)
		healthy.expectText(wsEvent(`["public"]`, "delete", `"`+id+`"`))
		if d := time.Since(published); d > time.Second {
			t.Fatalf("healthy socket got event %d after %v", i, d)
		}
		if cut < 0 && s.Srv.Stats.SlowConsumers() > 0 {
			cut = i
		}
		if cut >= 0 && i >= cut+20 {
			break
		}
	}
	if cut < 0 {
		t.Fatal("the slow consumer was never disconnected")
	}
	t.Logf("slow consumer cut after %d events of ~2 KB", cut+1)
	if n := s.Srv.Stats.SlowConsumers(); n != 1 {
		t.Errorf("SlowConsumers = %d, want 1", n)
	}
	// The slow socket finds whole frames, maybe the last one cut short by
	// the close, maybe 1013 after them, then the end of the connection. A
	// larger buffer lets it read that quickly: a window of a few hundred
	// bytes makes the kernel drop and retransmit with backoff.
	_ = slow.c.(*net.TCPConn).SetReadBuffer(1 << 20)
	slow.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(slow.r)
	if err != nil && !isEOF(err) {
		t.Fatalf("slow socket: %v after %d bytes (want EOF)", err, len(rest))
	}
	r := bufio.NewReader(bytes.NewReader(rest))
	for {
		op, p, err := readFrame(r)
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF {
			t.Logf("slow socket: the last frame was cut short by the close")
			break
		}
		if err != nil {
			t.Fatalf("slow socket: %v", err)
		}
		if op == ws.OpClose {
			if string(p) != closePayload(1013, "slow consumer") {
				t.Errorf("slow socket close payload %q, want 1013 \"slow consumer\"", p)
			}
			if n, _ := io.Copy(io.Discard, r); n > 0 {
				t.Errorf("%d bytes after the close frame", n)
			}
			t.Logf("slow socket: close 1013 after the backlog")
			break
		}
		if op != ws.OpText && op != ws.OpPing {
			t.Fatalf("slow socket: unexpected op %v", op)
		}
	}
	if !strings.Contains(logs.String(), "reason=slow_consumer") {
		t.Errorf("no slow_consumer log line; logs:\n%s", logs.String())
	}
	s.publish("timeline:public", `{"event":"delete","payload":"after"}`)
	healthy.expectText(wsEvent(`["public"]`, "delete", `"after"`))
}

// LIFE-4, WS-16: on a single event loop, sockets that stall mid-frame, send
// garbage, flood pings without reading or break the protocol never delay
// or disturb a healthy socket on the same loop.
func TestWebSocketMisbehavingNeighbours_LIFE4(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *serverConfig) {
		c.opts.Loops = 1
		c.opts.WSMaxMessage = testWSMax
	})
	healthy := s.dialWSAs("bob-read-token", "?stream=public")
	healthy.sync()
	s.waitSubscribed("timeline:public")

	// Stalled mid-header, mid-payload and mid-fragmented message: held open,
	// costing the loop nothing.
	stalled := []*wsClient{
		s.dialWSAs("alice-read-token", ""),
		s.dialWSAs("alice-read-token", ""),
		s.dialWSAs("alice-read-token", ""),
	}
	stalled[0].send("\x81")
	stalled[1].send(frames(masked(0x81, strings.Repeat("z", 4000)))[:100])
	stalled[2].send(frames(masked(0x01, `{"type":"subscribe",`)))

	var wg sync.WaitGroup
	bad := []string{
		strings.Repeat("\x00\xff\x13\x37", 5000),                                        // garbage
		frames(masked(0x82, strings.Repeat("b", 100))),                                  // binary → 1003
		"\x81\xff\x7f\xff\xff\xff\xff\xff\xff\xff",                                      // 2^63-1 bytes announced → 1009
		strings.Repeat(string(masked(0x89, strings.Repeat("p", 125))), 2000),            // ping flood, never reads the pongs
		strings.Repeat(string(masked(0x81, `{"type":"subscribe","stream":"x"}`)), 3000), // error-reply flood
	}
	for _, b := range bad {
		wg.Add(1)
		w := s.dialWSAs("alice-read-token", "?stream=public")
		go func() {
			defer wg.Done()
			_, _ = io.WriteString(w.c, b)
		}()
	}
	for i := 0; i < 50; i++ {
		published := time.Now()
		s.publish("timeline:public", `{"event":"delete","payload":"`+itoa(i)+`"}`)
		healthy.expectText(wsEvent(`["public"]`, "delete", `"`+itoa(i)+`"`))
		if d := time.Since(published); d > time.Second {
			t.Fatalf("healthy socket got event %d after %v", i, d)
		}
	}
	wg.Wait()
	// The stalled sockets were not disturbed either: finishing their frames
	// works.
	stalled[0].send(string(masked(0x01, "")[1:]))
	stalled[0].sync()
	stalled[2].send(frames(masked(0x80, `"stream":"public:local"}`)))
	stalled[2].sync()
	healthy.sync()
}
