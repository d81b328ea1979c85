package netpoll_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gobwas/ws"
)

// Raw-byte WebSocket helpers for the ws_e2e_*_test.go files (STYLE 17):
// the client side of RFC 6455 written out by hand, so tests can send any
// frame a hostile client could, and read exactly what the server wrote.

// wsKey is RFC 6455 §1.3's sample key; wsAccept is its accept value.
const (
	wsKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	wsAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// wsHeaders are the handshake headers of a well-formed upgrade.
var wsHeaders = []string{"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + wsKey, "Sec-WebSocket-Version: 13"}

// wsClient speaks RFC 6455 frames over a raw connection.
type wsClient struct {
	*client
}

// wsRequest is an upgrade request: the header lines given, then those of
// wsHeaders whose names were not given (so a test can replace or break one).
func wsRequest(method, target string, headers ...string) string {
	given := map[string]bool{}
	for _, h := range headers {
		name, _, _ := strings.Cut(h, ":")
		given[strings.ToLower(name)] = true
	}
	all := append([]string(nil), headers...)
	for _, h := range wsHeaders {
		if name, _, _ := strings.Cut(h, ":"); !given[strings.ToLower(name)] {
			all = append(all, h)
		}
	}
	return request(method, target, all...)
}

// upgradeHead sends wsRequest and returns the connection and the
// normalized response head.
func (s *server) upgradeHead(method, target string, headers ...string) (*client, string) {
	s.t.Helper()
	c := dial(s.t, s.Addr)
	c.send(wsRequest(method, target, headers...))
	return c, c.head()
}

// switchingProtocols is WS-3's 101 for the sample key, with the
// Sec-WebSocket-Protocol line when protocol is not empty.
func switchingProtocols(protocol string) string {
	h := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + wsAccept + "\r\n"
	if protocol != "" {
		h += "Sec-WebSocket-Protocol: " + protocol + "\r\n"
	}
	return h + "X-Request-Id: <uuid>\r\n\r\n"
}

// dialWS upgrades a connection to target with the extra header lines and
// asserts the 101 (WS-3).
func (s *server) dialWS(target string, headers ...string) *wsClient {
	s.t.Helper()
	c, got := s.upgradeHead("GET", target, headers...)
	if !strings.HasPrefix(got, "HTTP/1.1 101 Switching Protocols\r\n") || !strings.Contains(got, "Sec-WebSocket-Accept: "+wsAccept+"\r\n") {
		s.t.Fatalf("upgrade failed:\n%s", got)
	}
	return &wsClient{c}
}

// dialWSAs opens /api/v1/streaming (plus query, e.g. "?stream=public")
// with token as the subprotocol, the way browsers send it.
func (s *server) dialWSAs(token, query string) *wsClient {
	s.t.Helper()
	return s.dialWS("/api/v1/streaming"+query, "Sec-WebSocket-Protocol: "+token)
}

// clientFrame builds one client frame: b0 is the first byte as sent (FIN,
// RSV bits and opcode), the payload is masked unless unmasked is set.
func clientFrame(b0 byte, payload []byte, unmasked bool) []byte {
	b := []byte{b0, 0}
	n := len(payload)
	switch {
	case n < 126:
		b[1] = byte(n)
	case n < 1<<16:
		b[1] = 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] = 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if unmasked {
		return append(b, payload...)
	}
	b[1] |= 0x80
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, mask[:]...)
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	return b
}

// b0 returns a frame's first byte for fin and op.
func b0(fin bool, op ws.OpCode) byte {
	if fin {
		return 0x80 | byte(op)
	}
	return byte(op)
}

// sendFrame writes one masked client frame.
func (w *wsClient) sendFrame(fin bool, op ws.OpCode, payload []byte) {
	w.t.Helper()
	w.send(string(clientFrame(b0(fin, op), payload, false)))
}

func (w *wsClient) sendText(s string) { w.t.Helper(); w.sendFrame(true, ws.OpText, []byte(s)) }

// sendClose sends a close frame with code and reason (code 0: empty).
func (w *wsClient) sendClose(code ws.StatusCode, reason string) {
	w.t.Helper()
	var p []byte
	if code != 0 {
		p = binary.BigEndian.AppendUint16(nil, uint16(code))
		p = append(p, reason...)
	}
	w.sendFrame(true, ws.OpClose, p)
}

// heartbeat sends an unsolicited pong every period until the test ends.
// The server counts any frame as liveness (WS-17), so a socket that reads
// only now and then survives a short ping interval. Writes from two
// goroutines do not interleave: net.Conn writes each buffer whole.
func (w *wsClient) heartbeat(period time.Duration) {
	done := make(chan struct{})
	w.t.Cleanup(func() { close(done) })
	pong := clientFrame(0x8A, nil, false)
	go func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := w.c.Write(pong); err != nil {
					return
				}
			}
		}
	}()
}

// frame reads one server frame.
func (w *wsClient) frame(timeout time.Duration) (ws.OpCode, []byte, error) {
	w.c.SetReadDeadline(time.Now().Add(timeout))
	return readFrame(w.r)
}

var errMaskedServerFrame = errors.New("server frame is masked or fragmented (WS-6)")

// readFrame reads one server frame and checks WS-6: FIN set, no RSV bits,
// unmasked.
func readFrame(r *bufio.Reader) (ws.OpCode, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 || h[0]&0xf0 != 0x80 {
		return 0, nil, errMaskedServerFrame
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return ws.OpCode(h[0] & 0x0f), p, err
}

// next reads frames, skipping the server's pings, until a text, pong or
// close frame.
func (w *wsClient) next(timeout time.Duration) (ws.OpCode, []byte) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		op, p, err := w.frame(time.Until(deadline))
		if err != nil {
			w.t.Fatalf("reading a frame: %v", err)
		}
		if op != ws.OpPing {
			return op, p
		}
	}
}

// expectText reads frames, skipping pings, until a text frame, and compares.
func (w *wsClient) expectText(want string) {
	w.t.Helper()
	op, p := w.next(5 * time.Second)
	if op != ws.OpText || string(p) != want {
		w.t.Fatalf("frame op %v:\n got %s\nwant %s", op, p, want)
	}
}

// expectTexts reads len(want) text messages and compares them as a set:
// for events whose relative order the spec leaves open.
func (w *wsClient) expectTexts(want ...string) {
	w.t.Helper()
	left := append([]string(nil), want...)
	for range want {
		op, p := w.next(5 * time.Second)
		i := -1
		for j, s := range left {
			if op == ws.OpText && s == string(p) {
				i = j
			}
		}
		if i < 0 {
			w.t.Fatalf("unexpected frame op %v %s; still expecting %q", op, p, left)
		}
		left = append(left[:i], left[i+1:]...)
	}
}

// expectClose reads until a close frame and returns its code (0 = empty).
func (w *wsClient) expectClose() (ws.StatusCode, string) {
	w.t.Helper()
	for {
		op, p, err := w.frame(5 * time.Second)
		if err != nil {
			w.t.Fatalf("reading frame: %v (want close)", err)
		}
		if op != ws.OpClose {
			continue
		}
		if len(p) == 0 {
			return 0, ""
		}
		return ws.StatusCode(binary.BigEndian.Uint16(p)), string(p[2:])
	}
}

// expectCloseCode asserts that the next frame other than a ping is a close
// frame with code and reason, and that the server then closes TCP.
func (w *wsClient) expectCloseCode(code ws.StatusCode, reason string) {
	w.t.Helper()
	op, p := w.next(5 * time.Second)
	if op != ws.OpClose {
		w.t.Fatalf("got op %v %q, want close %d", op, p, code)
	}
	var got ws.StatusCode
	if len(p) >= 2 {
		got = ws.StatusCode(binary.BigEndian.Uint16(p))
	}
	if got != code || len(p) >= 2 && string(p[2:]) != reason || len(p) == 1 {
		w.t.Fatalf("close payload %q, want code %d reason %q", p, code, reason)
	}
	w.expectEOF(2 * time.Second)
}

// expectEOF asserts that the server closes TCP within d and sends nothing
// but pings before that: no close frame (the client sees 1006).
func (w *wsClient) expectEOF(d time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for {
		op, p, err := w.frame(time.Until(deadline))
		if isEOF(err) {
			return
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			w.t.Fatalf("server did not close the connection within %v", d)
		}
		if err != nil {
			w.t.Fatalf("waiting for the end of the connection: %v", err)
		}
		if op != ws.OpPing {
			w.t.Fatalf("got op %v %q, want the connection closed", op, p)
		}
	}
}

// quietWS asserts that no frame but pings arrives for d.
func (w *wsClient) quietWS(d time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for {
		op, p, err := w.frame(time.Until(deadline))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return
		}
		if err != nil {
			w.t.Fatalf("connection failed instead of staying quiet: %v", err)
		}
		if op != ws.OpPing {
			w.t.Fatalf("unexpected frame op %v %q", op, p)
		}
	}
}

// syncMessage is answered by an error whatever the token's scopes (WS-11),
// and messages are handled in order (WS-15): once its answer is in, every
// message sent before it has been applied, and any reply they produced came
// first.
const (
	syncMessage = `{"type":"unsubscribe","stream":"sluice-sync"}`
	syncReply   = `{"error":"Error unsubscribing from channel"}`
)

// sync waits until the server has applied everything sent so far, and
// asserts that none of it produced a message.
func (w *wsClient) sync() {
	w.t.Helper()
	w.sendText(syncMessage)
	w.expectText(syncReply)
}

// wsError is a failed subscribe's reply (WS-9).
func wsError(msg string, status int) string {
	return `{"error":"` + msg + `","status":` + itoa(status) + `}`
}

// wsEvent is one event message (WS-6): payload is its JSON text as it must
// appear, e.g. `"5"`, `12345` or wsQuote(objectText).
func wsEvent(stream, event, payload string) string {
	return `{"stream":` + stream + `,"event":"` + event + `","payload":` + payload + `}`
}

// wsQuote returns s as a JSON string the way JSON.stringify writes it (no
// escaping of <, > and &).
func wsQuote(s string) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
