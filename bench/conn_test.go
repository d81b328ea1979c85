package bench

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// parserRig is one slot on a loop of a minimal engine, with the slot's
// socket being one end of a socketpair so the test can read what the
// client writes (pongs, close replies).
type parserRig struct {
	e    *Engine
	l    *loop
	s    *slot
	peer int
}

const rigRun = 77

func newParserRig(t *testing.T, g Group, state slotState, body bodyKind) *parserRig {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fds[0]); syscall.Close(fds[1]) })
	e := &Engine{run: rigRun, groups: make([]engineGroup, 1), fds: make([]atomic.Pointer[slot], 1<<16)}
	e.est.Store(NewHist())
	eg := &e.groups[0]
	eg.spec = g
	eg.accept = wsAccept(wsKey)
	eg.stats.active = make([]atomic.Int64, len(g.Channels))
	eg.stats.lat.Store(NewHist())
	s := &slot{fd: int32(fds[0]), liveIdx: -1, state: state}
	s.resetParser()
	s.body = body
	for _, ch := range g.Channels {
		s.trk = append(s.trk, tracker{ch: uint16(ch)})
	}
	e.fds[fds[0]].Store(s)
	return &parserRig{e: e, l: &loop{eng: e, buf: make([]byte, readBufSize)}, s: s, peer: fds[1]}
}

func (r *parserRig) feed(p []byte) {
	now := time.Now().UnixNano()
	if r.s.state == stHandshake {
		r.l.onHead(r.s, p, now)
		return
	}
	if r.s.state == stOpen {
		r.l.onBody(r.s, p, now)
	}
}

func (r *parserRig) stats() GroupSnap { return r.e.groups[0].stats.snap("") }

func markedPayload(ch, seq int, run uint32) []byte {
	m := marker{run: run, ch: uint16(ch), seq: uint32(seq), ns: time.Now().UnixNano()}
	msg := newPayloadBuilder().message("update", m)
	var env struct {
		Payload json.RawMessage `json:"payload"`
	}
	_ = json.Unmarshal(msg, &env)
	return env.Payload
}

func chunk(s string) string {
	return strconv.FormatInt(int64(len(s)), 16) + "\r\n" + s + "\r\n"
}

// sseStream is a chunked SSE body with a greeting, heartbeats, marked
// events (one duplicated, one from another run), an unmarked event and a
// comment-only event, and a chunk extension.
func sseStream() string {
	var b strings.Builder
	b.WriteString(chunk(":)\n"))
	b.WriteString(chunk(":thump\n\n"))
	for _, seq := range []int{1, 2, 2, 4, 3} {
		b.WriteString(chunk("event: update\ndata: " + string(markedPayload(0, seq, rigRun)) + "\n\n"))
	}
	b.WriteString(chunk("event: update\ndata: " + string(markedPayload(0, 9, rigRun+1)) + "\n\n"))
	b.WriteString("f;ext=1\r\nevent: delete\r\n\r\n") // CRLF line end inside, extension outside
	b.WriteString(chunk("data: 115600000000000001\n\n"))
	b.WriteString(chunk(":thump\n\n"))
	return b.String()
}

func checkSSECounts(t *testing.T, name string, g GroupSnap) {
	t.Helper()
	want := GroupSnap{Established: 1, Open: 1, Heartbeats: 2, Events: 7, Marked: 5, Unique: 4, Dup: 1, Late: 1, Foreign: 1}
	g.Name, g.Active, g.Slots = "", nil, 0
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("%s: counts %+v, want %+v", name, g, want)
	}
}

func TestSSEParserAtEverySplit(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	stream := head + sseStream()
	g := Group{Name: "sse", Path: "/api/v1/streaming/public", Channels: []int{0}}
	for cut := 0; cut <= len(stream); cut += 7 {
		r := newParserRig(t, g, stHandshake, bodySSE)
		r.feed([]byte(stream[:cut]))
		r.feed([]byte(stream[cut:]))
		checkSSECounts(t, "split at "+strconv.Itoa(cut), r.stats())
		if r.s.state != stOpen || r.s.body != bodySSEChunked {
			t.Fatalf("split at %d: state %v body %v", cut, r.s.state, r.s.body)
		}
	}
	r := newParserRig(t, g, stHandshake, bodySSE)
	for i := 0; i < len(stream); i++ {
		r.feed([]byte{stream[i]})
	}
	checkSSECounts(t, "byte by byte", r.stats())
	if r.e.est.Load().Count() != 1 {
		t.Errorf("establish time not recorded")
	}
	r = newParserRig(t, g, stOpen, bodySSE) // a close-delimited body: no chunking
	r.feed([]byte(strings.ReplaceAll(dechunkForTest(sseStream()), "\r\n", "\n")))
	st := r.stats()
	if st.Events != 7 || st.Unique != 4 || st.Heartbeats != 2 {
		t.Errorf("unchunked: %+v", st)
	}
}

func dechunkForTest(s string) string {
	var out strings.Builder
	for s != "" {
		line, rest, _ := strings.Cut(s, "\r\n")
		size, _, _ := strings.Cut(line, ";")
		n, _ := strconv.ParseInt(size, 16, 64)
		out.WriteString(rest[:n])
		s = rest[n+2:]
	}
	return out.String()
}

func TestSSEEndOfStreamNamesTheDrop(t *testing.T) {
	for body, want := range map[string]string{
		chunk(":)\n") + "0\r\n\r\n":                               "sse-end",
		chunk(":)\n") + chunk(":slow consumer\n\n") + "0\r\n\r\n": "slow-consumer",
	} {
		r := newParserRig(t, Group{Path: "/"}, stOpen, bodySSEChunked)
		r.feed([]byte(body))
		if r.s.state != stIdle || r.e.drops.snapshot()[want] != 1 {
			t.Errorf("drop reasons %v, want %s", r.e.drops.snapshot(), want)
		}
	}
}

func TestResponseHeadFailures(t *testing.T) {
	for head, want := range map[string]string{
		"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n": "http-401",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n":               "http-101", // SSE request upgraded: wrong
		"garbage\r\n\r\n": "bad-response",
	} {
		r := newParserRig(t, Group{Path: "/"}, stHandshake, bodySSE)
		r.feed([]byte(head))
		if got := r.e.failures.snapshot(); got[want] != 1 || r.s.state != stIdle {
			t.Errorf("%q: failures %v, want %s", head, got, want)
		}
	}
	r := newParserRig(t, Group{Path: "/", WS: true}, stHandshake, bodySSE)
	r.feed([]byte("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: wrong\r\n\r\n"))
	if r.e.failures.snapshot()["ws-bad-accept"] != 1 {
		t.Errorf("bad accept not refused: %v", r.e.failures.snapshot())
	}
}

// wsStream holds a fragmented marked message, a large (16-bit length)
// marked message, an error message, a ping with a payload, and a binary
// message.
func wsStream() []byte {
	msg := func(seq int) []byte {
		p, _ := json.Marshal(string(markedPayload(0, seq, rigRun)))
		return []byte(`{"stream":["public"],"event":"update","payload":` + string(p) + `}`)
	}
	var b []byte
	m1 := msg(1)
	b = append(b, 0x01, byte(40)) // text, not final
	b = append(b, m1[:40]...)
	b = append(b, wsServerFrame(opCont, m1[40:])...)
	b = append(b, wsServerFrame(opText, msg(2))...)
	b = append(b, wsServerFrame(opText, []byte(`{"error":"Unknown stream type","status":400}`))...)
	b = append(b, wsServerFrame(opPing, []byte("hi"))...)
	b = append(b, wsServerFrame(opBin, []byte{1, 2, 3})...)
	return b
}

func TestWSParserAtEverySplit(t *testing.T) {
	stream := wsStream()
	g := Group{Path: "/", WS: true, Channels: []int{0}}
	wantPong := appendClientFrame(nil, opPong, []byte("hi"))
	check := func(name string, r *parserRig) {
		t.Helper()
		st := r.stats()
		if st.Events != 2 || st.Unique != 2 || st.SubErrors != 1 || st.Heartbeats != 1 {
			t.Fatalf("%s: %+v", name, st)
		}
		got := make([]byte, 64)
		n, _ := syscall.Read(r.peer, got)
		if !bytes.Equal(got[:n], wantPong) {
			t.Fatalf("%s: client wrote %x, want pong %x", name, got[:n], wantPong)
		}
	}
	for cut := 0; cut <= len(stream); cut += 5 {
		r := newParserRig(t, g, stOpen, bodyWS)
		r.feed(stream[:cut])
		r.feed(stream[cut:])
		check("split at "+strconv.Itoa(cut), r)
	}
	r := newParserRig(t, g, stOpen, bodyWS)
	for i := range stream {
		r.feed(stream[i : i+1])
	}
	check("byte by byte", r)
}

func TestWSCloseIsEchoedAndNamed(t *testing.T) {
	for code, want := range map[uint16]string{1013: "slow-consumer", 1001: "ws-close-1001"} {
		r := newParserRig(t, Group{Path: "/", WS: true}, stOpen, bodyWS)
		r.feed(wsServerFrame(opClose, []byte{byte(code >> 8), byte(code)}))
		if r.e.drops.snapshot()[want] != 1 {
			t.Errorf("close %d: drops %v, want %s", code, r.e.drops.snapshot(), want)
		}
		got := make([]byte, 16)
		n, _ := syscall.Read(r.peer, got)
		if w := appendClientFrame(nil, opClose, []byte{byte(code >> 8), byte(code)}); !bytes.Equal(got[:n], w) {
			t.Errorf("close %d: client replied %x, want %x", code, got[:n], w)
		}
	}
	r := newParserRig(t, Group{Path: "/", WS: true}, stOpen, bodyWS)
	r.feed([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'}) // masked server frame
	if r.e.drops.snapshot()["ws-protocol-error"] != 1 {
		t.Errorf("masked server frame accepted: %v", r.e.drops.snapshot())
	}
}

func TestBuildRequest(t *testing.T) {
	sse := string(buildRequest(Group{Path: "/api/v1/streaming/user"}, "127.0.0.1:4000", "tok"))
	if !strings.HasPrefix(sse, "GET /api/v1/streaming/user HTTP/1.1\r\nHost: 127.0.0.1:4000\r\n") ||
		!strings.Contains(sse, "Authorization: Bearer tok\r\n") || !strings.HasSuffix(sse, "\r\n\r\n") {
		t.Errorf("SSE request:\n%s", sse)
	}
	ws := string(buildRequest(Group{WS: true, Path: "/api/v1/streaming?stream=user"}, "h", "tok"))
	for _, h := range []string{"Upgrade: websocket\r\n", "Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Protocol: tok\r\n", "Sec-WebSocket-Key: " + wsKey} {
		if !strings.Contains(ws, h) {
			t.Errorf("WS request lacks %q:\n%s", h, ws)
		}
	}
	if err := checkHeaderValue("token", "a\r\nX-Evil: 1"); err == nil {
		t.Errorf("token with CRLF accepted")
	}
}
