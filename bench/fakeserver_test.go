package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer is a scripted stand-in for a Mastodon streaming server. It
// speaks just enough SSE (chunked) and WebSocket, and mistreats events on
// purpose according to its script, so the tests can check that
// sluice-bench reports each mistreatment exactly.
type fakeServer struct {
	t      testing.TB
	ln     net.Listener
	script fakeScript

	mu    sync.Mutex
	conns []*fakeConn

	accepted atomic.Int64
	pongs    atomic.Int64
	pings    atomic.Int64
	subs     atomic.Int64 // WebSocket subscribe messages received
	stop     chan struct{}
}

// fakeScript decides what happens to connection conn (numbered in accept
// order) and to message seq on it. Nil functions mean "behave".
type fakeScript struct {
	reject    func(conn int) int // HTTP status to refuse with; 0 accepts
	drop      func(conn int, seq uint32) bool
	dup       func(conn int, seq uint32) bool
	swapNext  func(conn int, seq uint32) bool // send seq after seq+1
	delay     func(conn int, seq uint32) time.Duration
	heartbeat time.Duration // SSE :thump / WebSocket ping period; 0: none
}

type fakeConn struct {
	id   int
	c    net.Conn
	ws   bool
	mu   sync.Mutex // serializes writes and guards held
	held []byte     // a swapped message waiting for the next one
}

func newFakeServer(t testing.TB, s fakeScript) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, ln: ln, script: s, stop: make(chan struct{})}
	go f.acceptLoop()
	if s.heartbeat > 0 {
		go f.heartbeats()
	}
	t.Cleanup(f.close)
	return f
}

func (f *fakeServer) target() Target {
	t, err := ParseTarget(f.ln.Addr().String())
	if err != nil {
		f.t.Fatal(err)
	}
	return t
}

func (f *fakeServer) close() {
	select {
	case <-f.stop:
		return
	default:
	}
	close(f.stop)
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.c.Close()
	}
}

func (f *fakeServer) acceptLoop() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		id := int(f.accepted.Add(1)) - 1
		go f.serve(id, c)
	}
}

func (f *fakeServer) serve(id int, c net.Conn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		c.Close()
		return
	}
	ws := strings.EqualFold(req.Header.Get("Upgrade"), "websocket")
	if f.script.reject != nil {
		if code := f.script.reject(id); code != 0 {
			fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", code, http.StatusText(code))
			c.Close()
			return
		}
	}
	fc := &fakeConn{id: id, c: c, ws: ws}
	if ws {
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			wsAccept(req.Header.Get("Sec-WebSocket-Key")))
	} else {
		// The greeting goes out as its own chunk, as Node does.
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n:)\n\r\n")
	}
	f.mu.Lock()
	f.conns = append(f.conns, fc)
	f.mu.Unlock()
	if ws {
		f.readClientFrames(br)
	} else {
		io.Copy(io.Discard, br)
	}
}

// readClientFrames counts pongs and subscribe messages from a WebSocket
// client, checking that every frame is masked.
func (f *fakeServer) readClientFrames(br *bufio.Reader) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return
		}
		if h[1]&0x80 == 0 {
			f.t.Errorf("fake server: unmasked client frame")
			return
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			io.ReadFull(br, b[:])
			n = int(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			io.ReadFull(br, b[:])
			n = int(binary.BigEndian.Uint64(b[:]))
		}
		var mask [4]byte
		io.ReadFull(br, mask[:])
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return
		}
		for i := range p {
			p[i] ^= mask[i&3]
		}
		switch h[0] & 0x0f {
		case opPong:
			f.pongs.Add(1)
		case opText:
			if strings.Contains(string(p), `"subscribe"`) {
				f.subs.Add(1)
			}
		case opClose:
			return
		}
	}
}

func (f *fakeServer) heartbeats() {
	t := time.NewTicker(f.script.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		for _, c := range f.snapshotConns() {
			if c.ws {
				f.pings.Add(1)
				c.write([]byte{0x89, 0x00})
			} else {
				c.write(sseChunk(":thump\n\n"))
			}
		}
	}
}

func (f *fakeServer) snapshotConns() []*fakeConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakeConn(nil), f.conns...)
}

func (c *fakeConn) write(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.c.Write(b)
}

func sseChunk(s string) []byte {
	return []byte(strconv.FormatInt(int64(len(s)), 16) + "\r\n" + s + "\r\n")
}

// sseEvent frames one event as two chunks split inside the data, so the
// client's chunked decoder and SSE parser see a boundary mid-event.
func sseEvent(event string, data []byte) []byte {
	s := "event: " + event + "\ndata: " + string(data) + "\n\n"
	cut := len(s) / 3
	return append(sseChunk(s[:cut]), sseChunk(s[cut:])...)
}

func wsServerFrame(op byte, p []byte) []byte {
	b := []byte{0x80 | op}
	switch n := len(p); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, p...)
}

// render frames a Redis message the way a Mastodon server sends it.
func render(ws bool, msg []byte) (frame []byte, seq uint32, err error) {
	var m struct {
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		return nil, 0, err
	}
	var inner struct {
		Marker string `json:"sluice_bench"`
	}
	if err := json.Unmarshal(m.Payload, &inner); err != nil {
		return nil, 0, err
	}
	parts := strings.Split(inner.Marker, ".")
	if len(parts) != 4 {
		return nil, 0, fmt.Errorf("bad marker %q", inner.Marker)
	}
	s, _ := strconv.ParseUint(parts[2], 10, 32)
	if !ws {
		return sseEvent(m.Event, m.Payload), uint32(s), nil
	}
	payload, _ := json.Marshal(string(m.Payload))
	text := `{"stream":["public"],"event":"` + m.Event + `","payload":` + string(payload) + `}`
	return wsServerFrame(opText, []byte(text)), uint32(s), nil
}

// Publish delivers msg to every connection, applying the script. It is
// the fake server's Publisher, standing in for Redis.
func (f *fakeServer) Publish(_ context.Context, _ string, msg []byte) error {
	for _, c := range f.snapshotConns() {
		frame, seq, err := render(c.ws, msg)
		if err != nil {
			return err
		}
		f.deliver(c, seq, frame)
	}
	return nil
}

func (f *fakeServer) deliver(c *fakeConn, seq uint32, frame []byte) {
	s := f.script
	switch {
	case s.drop != nil && s.drop(c.id, seq):
		return
	case s.delay != nil && s.delay(c.id, seq) > 0:
		time.AfterFunc(s.delay(c.id, seq), func() { c.write(frame) })
		return
	case s.swapNext != nil && s.swapNext(c.id, seq):
		c.mu.Lock()
		c.held = frame
		c.mu.Unlock()
		return
	}
	out := frame
	if s.dup != nil && s.dup(c.id, seq) {
		out = append(append([]byte(nil), frame...), frame...)
	}
	c.mu.Lock()
	if c.held != nil {
		out = append(append([]byte(nil), out...), c.held...)
		c.held = nil
	}
	c.mu.Unlock()
	c.write(out)
}

func (f *fakeServer) Subscribers(_ context.Context, channels []string) (map[string]int64, error) {
	m := map[string]int64{}
	for _, c := range channels {
		m[c] = 1
	}
	return m, nil
}

func (f *fakeServer) Close() {}

// end finishes connection id's stream the way a server cutting a slow
// consumer does (SSE: comment and terminating chunk; WS: close 1013).
func (f *fakeServer) endSlow(id int) {
	for _, c := range f.snapshotConns() {
		if c.id != id {
			continue
		}
		if c.ws {
			c.write(wsServerFrame(opClose, []byte{0x03, 0xf5, 's', 'l', 'o', 'w'}))
		} else {
			c.write(append(sseChunk(":slow consumer\n\n"), "0\r\n\r\n"...))
		}
	}
}

// reset closes connection id's TCP connection without a word.
func (f *fakeServer) reset(id int) {
	for _, c := range f.snapshotConns() {
		if c.id == id {
			c.c.Close()
		}
	}
}
