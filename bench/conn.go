package bench

import (
	"bytes"
	"strconv"
)

// Client connection state and the streaming parsers.
//
// A slot is one simulated client. Its socket may be closed and reopened
// (storm, churn); the slot, its trackers and its source address stay. The
// parsers are resumable state machines over whatever bytes one read()
// returned: the response head, HTTP chunked framing, SSE lines and
// WebSocket frames. Apart from a partial response head (rare: heads fit in
// one read) and control-frame payloads, they never buffer: an event's bytes
// are scanned for the marker as they pass and then forgotten, so an idle or
// busy connection costs the same ~300 bytes.
//
// Everything in this file runs on the slot's loop goroutine.

type slotState uint8

const (
	stIdle       slotState = iota // no socket: not started, closed, or queued to dial
	stConnecting                  // non-blocking connect in progress
	stHandshake                   // request sent, waiting for the response head
	stOpen                        // stream established
)

type bodyKind uint8

const (
	bodySSE        bodyKind = iota // close-delimited SSE (HTTP/1.0-style)
	bodySSEChunked                 // SSE in chunked transfer encoding (Node, Sluice)
	bodyWS                         // WebSocket frames
)

// What the server said before it ended a stream, to name the drop.
const (
	noteNone uint8 = iota
	noteSlowConsumer
)

// SSE line states.
const (
	sseLineStart uint8 = iota
	sseComment
	sseField
	sseDataSpace
	sseData
	sseSkipLine
)

// Chunked-encoding states.
const (
	chSize uint8 = iota
	chExt
	chData
	chDataEnd
)

// WebSocket frame states.
const (
	wsHeader uint8 = iota
	wsPayload
)

const maxHeadBytes = 16 << 10

type slot struct {
	id        int32
	fd        int32 // -1 when idle
	liveIdx   int32 // index in the loop's live list, -1 when not owned by the loop
	group     uint16
	loop      uint16
	state     slotState
	body      bodyKind
	note      uint8
	throttled bool
	budget    int32 // slow readers: bytes left in this tick

	startNS    int64 // this attempt's connect start, Unix ns
	deadlineNS int64

	chState  uint8
	chRemain int64

	sse     uint8
	capN    uint8
	capBuf  [16]byte // SSE comment / field name, or the start of a WS message
	hasData bool

	ws       uint8
	hdrN     uint8
	wsOp     uint8
	wsMsgOp  uint8
	wsFin    bool
	hdr      [14]byte
	wsRemain uint64

	mk   markerScanner
	head []byte // partial response head
	out  []byte // unsent request bytes
	ctrl []byte // payload of the control frame being read
	trk  []tracker

	activated bool // established at least once: its trackers count
}

// resetParser clears per-connection protocol state before a new attempt.
func (s *slot) resetParser() {
	s.body, s.note, s.chState, s.chRemain = bodySSE, noteNone, chSize, 0
	s.sse, s.capN, s.hasData = sseLineStart, 0, false
	s.ws, s.hdrN, s.wsOp, s.wsMsgOp, s.wsFin, s.wsRemain = wsHeader, 0, 0, 0, false, 0
	s.mk.reset()
	s.head, s.out, s.ctrl = nil, nil, nil
}

func (s *slot) tracker(ch uint16) *tracker {
	for i := range s.trk {
		if s.trk[i].ch == ch {
			return &s.trk[i]
		}
	}
	return nil
}

// onHead accumulates the response head and, once complete, decides whether
// the attempt became a stream; the bytes after the head go to the body.
func (l *loop) onHead(s *slot, p []byte, now int64) {
	var head []byte
	if s.head == nil {
		i := bytes.Index(p, crlfcrlf)
		if i < 0 {
			s.head = append(make([]byte, 0, len(p)+512), p...)
			return
		}
		head, p = p[:i+4], p[i+4:]
	} else {
		from := max(0, len(s.head)-3)
		s.head = append(s.head, p...)
		i := bytes.Index(s.head[from:], crlfcrlf)
		if i < 0 {
			if len(s.head) > maxHeadBytes {
				l.closeSlot(s, closeFail, "bad-response", false)
			}
			return
		}
		head, p = s.head[:from+i+4], s.head[from+i+4:]
	}
	s.head = nil
	h := parseHead(head)
	g := &l.eng.groups[s.group]
	switch {
	case !h.ok:
		l.closeSlot(s, closeFail, "bad-response", false)
		return
	case g.spec.WS && h.status == 101:
		if !bytes.Equal(h.accept, g.accept) {
			l.closeSlot(s, closeFail, "ws-bad-accept", false)
			return
		}
		s.body = bodyWS
	case !g.spec.WS && h.status == 200:
		s.body = bodySSE
		if h.chunked {
			s.body = bodySSEChunked
		}
	default:
		l.closeSlot(s, closeFail, "http-"+strconv.Itoa(h.status), false)
		return
	}
	l.established(s, now)
	if len(g.subscribe) > 0 && !l.send(s, g.subscribe) {
		return
	}
	if len(p) > 0 {
		l.onBody(s, p, now)
	}
}

var crlfcrlf = []byte("\r\n\r\n")

type respHead struct {
	ok      bool
	status  int
	chunked bool
	accept  []byte
}

// parseHead reads the status code and the two headers the client needs.
func parseHead(b []byte) respHead {
	var h respHead
	line, rest, _ := bytes.Cut(b, []byte("\r\n"))
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return h
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return h
	}
	h.ok, h.status = true, code
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "transfer-encoding"):
			h.chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case asciiEqualFold(name, "sec-websocket-accept"):
			h.accept = value
		}
	}
	return h
}

func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// onBody dispatches stream bytes to the framing parser.
func (l *loop) onBody(s *slot, p []byte, now int64) {
	switch s.body {
	case bodySSEChunked:
		l.onChunked(s, p, now)
	case bodyWS:
		l.onWS(s, p, now)
	default:
		l.onSSE(s, p, now)
	}
}

// onChunked removes chunked framing; a zero-size chunk ends the stream
// (SSE-8: kill, or a slow-consumer cut). It reports whether the slot is
// still open.
func (l *loop) onChunked(s *slot, p []byte, now int64) bool {
	for len(p) > 0 {
		switch s.chState {
		case chSize:
			c := p[0]
			if v := unhex(c); v >= 0 {
				if s.chRemain > 1<<40 {
					l.closeSlot(s, closeDrop, "protocol-error", false)
					return false
				}
				s.chRemain = s.chRemain<<4 | int64(v)
				p = p[1:]
				continue
			}
			s.chState = chExt
		case chExt:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return true
			}
			p = p[i+1:]
			if s.chRemain == 0 {
				l.closeSlot(s, closeDrop, l.endReason(s, "sse-end"), false)
				return false
			}
			s.chState = chData
		case chData:
			k := int(min(s.chRemain, int64(len(p))))
			if !l.onSSE(s, p[:k], now) {
				return false
			}
			s.chRemain -= int64(k)
			p = p[k:]
			if s.chRemain == 0 {
				s.chState = chDataEnd
			}
		case chDataEnd:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return true
			}
			p = p[i+1:]
			s.chState = chSize
		}
	}
	return true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func (l *loop) endReason(s *slot, otherwise string) string {
	if s.note == noteSlowConsumer {
		return "slow-consumer"
	}
	return otherwise
}

// onSSE parses event-stream lines (spec §10): comments are classified
// (":)" greeting, ":thump" heartbeat, ":slow consumer"), "data:" values go
// through the marker scanner, and a blank line completes an event. It
// reports whether the slot is still open.
func (l *loop) onSSE(s *slot, p []byte, now int64) bool {
	for len(p) > 0 {
		switch s.sse {
		case sseLineStart:
			switch p[0] {
			case '\n':
				if s.hasData {
					l.deliver(s, now)
				}
				s.hasData = false
			case '\r':
			case ':':
				s.sse, s.capN = sseComment, 0
			default:
				s.sse, s.capN = sseField, 0
				continue
			}
			p = p[1:]
		case sseComment, sseField:
			i := bytes.IndexByte(p, '\n')
			seg := p
			if s.sse == sseField {
				if j := bytes.IndexByte(p, ':'); j >= 0 && (i < 0 || j < i) {
					i = j
				}
			}
			if i >= 0 {
				seg = p[:i]
			}
			s.capN += uint8(copy(s.capBuf[s.capN:], seg))
			if i < 0 {
				return true
			}
			l.lineDone(s, p[i])
			p = p[i+1:]
		case sseDataSpace:
			if p[0] == ' ' {
				p = p[1:]
			}
			s.sse = sseData
		case sseData, sseSkipLine:
			i := bytes.IndexByte(p, '\n')
			seg := p
			if i >= 0 {
				seg = p[:i]
			}
			if s.sse == sseData && !s.mk.done() {
				s.mk.feed(seg)
			}
			if i < 0 {
				return true
			}
			s.sse = sseLineStart
			p = p[i+1:]
		}
	}
	return true
}

// lineDone handles the end of a comment line or of a field name (sep is
// the byte that ended it: '\n' or ':').
func (l *loop) lineDone(s *slot, sep byte) {
	text := bytes.TrimRight(s.capBuf[:s.capN], "\r")
	if s.sse == sseComment {
		switch {
		case bytes.Equal(text, []byte("thump")):
			l.eng.groups[s.group].stats.heartbeats.Add(1)
		case bytes.HasPrefix(text, []byte("slow consumer")):
			s.note = noteSlowConsumer
		}
		s.sse = sseLineStart
		return
	}
	if sep == '\n' {
		s.sse = sseLineStart // a field without a value
		return
	}
	if bytes.Equal(text, []byte("data")) {
		s.sse = sseDataSpace
		s.hasData = true
		return
	}
	s.sse = sseSkipLine
}

// deliver accounts one complete event or message.
func (l *loop) deliver(s *slot, now int64) {
	g := &l.eng.groups[s.group]
	st := &g.stats
	st.events.Add(1)
	m, ok := s.mk.result()
	s.mk.reset()
	if !ok {
		return
	}
	if m.run != l.eng.run {
		st.foreign.Add(1)
		return
	}
	st.marked.Add(1)
	t := s.tracker(m.ch)
	if t == nil {
		st.unexpected.Add(1)
		return
	}
	switch t.observe(m.seq) {
	case arrDup:
		st.dup.Add(1)
		return
	case arrLate:
		st.late.Add(1)
	}
	st.unique.Add(1)
	st.lat.Load().Record(now - m.ns)
}
