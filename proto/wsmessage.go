package proto

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// assemblerKeep is the buffer capacity an Assembler keeps between messages.
// Mastodon clients send subscribe messages well under 1 KiB and rarely
// fragment them; a buffer grown past this by a large message is dropped.
const assemblerKeep = 4 << 10

var (
	errContinuationUnexpected = protocolError("continuation frame without a message in progress")
	errContinuationExpected   = protocolError("new data frame while a fragmented message is in progress")
	errMessageTooBig          = &CloseError{Code: ws.StatusMessageTooBig, detail: "message over the limit"}
	errMessageUTF8            = &CloseError{Code: ws.StatusInvalidFramePayloadData, detail: "text message is not UTF-8"}
)

// Assembler joins the data frames of one client message (RFC 6455 §5.4,
// WS-16). One per connection; loop only. The zero value is ready.
//
// The caller handles control frames (ping, pong, close) itself before
// calling Push, because they may arrive between the fragments of a message
// and are answered at once; a control frame pushed anyway is handed back
// unchanged and leaves the message in progress alone.
//
// Text is checked for UTF-8 as fragments arrive, not only at the end: a
// fragment that contains a byte no valid text can continue with fails at once
// with 1007 (Autobahn's "fail fast"), while a character split between two
// fragments is judged when its last byte arrives, and an unfinished character
// at the end of the message fails with the final fragment. The reference
// checks only the complete message; the code is the same, only sooner.
type Assembler struct {
	buf    []byte    // fragments received so far; reused, dropped past assemblerKeep
	op     ws.OpCode // OpText or OpBinary while a message is in progress
	active bool
	valid  int // for text: length of buf's prefix already checked as UTF-8
}

// Push adds the data frame f (from ParseFrame) to the message in progress.
// It returns done=true with the complete message and its opcode (OpText or
// OpBinary), done=false while more fragments are due, or a *CloseError:
// 1002 for a continuation frame without a message in progress or a new
// text/binary frame while one is in progress, 1009 when the message grows
// past max bytes, 1007 for text that is not UTF-8. After an error the
// Assembler is reset.
//
// msg is borrowed: an unfragmented message is f.Payload itself (no copy),
// a fragmented one the Assembler's buffer. It is valid until the next Push or
// Reset and until the frame's bytes are discarded. To refuse an oversized
// fragmented message before its next fragment is in, pass max-a.Buffered() as
// ParseFrame's limit while a message is in progress.
func (a *Assembler) Push(f Frame, max int) (msg []byte, op ws.OpCode, done bool, err *CloseError) {
	switch {
	case f.Op.IsControl():
		return f.Payload, f.Op, true, nil
	case f.Op == ws.OpContinuation:
		if !a.active {
			return nil, 0, false, errContinuationUnexpected
		}
	case a.active:
		a.Reset()
		return nil, 0, false, errContinuationExpected
	case f.Fin: // a whole message in one frame: the common case
		if len(f.Payload) > max {
			return nil, 0, false, errMessageTooBig
		}
		if f.Op == ws.OpText && !utf8.Valid(f.Payload) {
			return nil, 0, false, errMessageUTF8
		}
		return f.Payload, f.Op, true, nil
	default:
		a.active, a.op, a.valid = true, f.Op, 0
		a.buf = a.buf[:0]
	}
	if len(a.buf)+len(f.Payload) > max {
		a.Reset()
		return nil, 0, false, errMessageTooBig
	}
	a.buf = append(a.buf, f.Payload...)
	if a.op == ws.OpText && !a.checkUTF8(f.Fin) {
		a.Reset()
		return nil, 0, false, errMessageUTF8
	}
	if !f.Fin {
		return nil, 0, false, nil
	}
	msg, op = a.buf, a.op
	a.active, a.valid = false, 0
	if cap(a.buf) > assemblerKeep {
		a.buf = nil // msg keeps the large buffer alive only as long as the caller holds it
	}
	return msg, op, true, nil
}

// Buffered returns the number of payload bytes of the message in progress.
func (a *Assembler) Buffered() int {
	if !a.active {
		return 0
	}
	return len(a.buf)
}

// Reset abandons the message in progress and drops a buffer grown past the
// cap.
func (a *Assembler) Reset() {
	a.active, a.op, a.valid = false, 0, 0
	if cap(a.buf) > assemblerKeep {
		a.buf = nil
	}
	a.buf = a.buf[:0]
}

// checkUTF8 checks the bytes of a.buf not checked yet. Unless final, an
// unfinished character at the end is left for the next fragment, provided its
// bytes so far could still start a valid character.
func (a *Assembler) checkUTF8(final bool) bool {
	b := a.buf
	end := len(b)
	if !final {
		end = unfinishedTail(b, a.valid)
	}
	if !utf8.Valid(b[a.valid:end]) {
		return false
	}
	a.valid = end
	if tail := b[end:]; len(tail) > 0 {
		// utf8Seq stops at the first byte that cannot continue the
		// sequence; reaching the end means the tail is a valid prefix.
		if n, _ := utf8Seq(tail, 0); n != len(tail) {
			return false
		}
	}
	return true
}

// unfinishedTail returns where an unfinished multi-byte character starts at
// the end of b (at or after from, a character boundary), or len(b) if the
// last character is complete or not a valid start at all (utf8.Valid then
// rejects it).
func unfinishedTail(b []byte, from int) int {
	for i := len(b) - 1; i >= from && i >= len(b)-3; i-- {
		c := b[i]
		if utf8.RuneStart(c) {
			need := 0
			switch {
			case c >= 0xC2 && c <= 0xDF:
				need = 2
			case c >= 0xE0 && c <= 0xEF:
				need = 3
			case c >= 0xF0 && c <= 0xF4:
				need = 4
			}
			if need > len(b)-i {
				return i
			}
			return len(b)
		}
	}
	return len(b)
}

// ClientMessage is a client's text message as the reference reads it
// (§11.5): JSON.parse, then `const { type, stream, ...params } = json`, with
// stream reduced by firstParam. Every string is a JavaScript string kept as
// generalized UTF-8 (see Value): write it back only through AppendQuoted or
// AppendStreamName, and treat a lone surrogate as not matching any name.
// It owns its memory.
type ClientMessage struct {
	// Type is "subscribe", "unsubscribe", any other string, or "" when type
	// is absent or not a string; only the first two do anything (WS-12).
	Type string

	// Stream is the stream name: the string, or the first element of an
	// array. HasStream is false when it is absent or not a string; the
	// caller answers "Unknown stream type" (WS-10).
	Stream    string
	HasStream bool

	// HasTag reports a truthy tag, the reference's `if (!params.tag)`:
	// absent, null, false, 0 and "" all count as missing (400 "Missing tag
	// name parameter"). TagKind is the JSON type of a present tag (KindNull
	// when absent); a truthy tag that is not KindString makes the reference
	// fail with 500 (WS-10, "tag":123). Tag is set for KindString only.
	Tag     string
	TagKind Kind
	HasTag  bool

	// HasList reports a truthy list, like HasTag. Then List is the text the
	// reference hands PostgreSQL (the string itself, or JavaScript's
	// String() of a number: 1.0 gives "1", 1e21 "1e+21"; for true, an object
	// or an array some text that is not an integer, which fails as the
	// reference does with 401) and ListJSON is the list as sent, for the
	// stream name (WS-7): a number stays a number (1), a string stays a
	// string ("1"). Both are empty when HasList is false.
	List     string
	ListJSON []byte
	HasList  bool

	// SluiceReplay is "sluice_replay":true exactly; Since is a string
	// "since". Parsed only.
	SluiceReplay bool
	Since        string
}

// ParseClientMessage reads a client text message. ok is false when the
// message must be ignored without reply because it is not JSON or not a JSON
// object (WS-12); a missing or unknown type still gives ok=true and the
// caller looks at Type. Duplicate keys keep the last value, as JSON.parse.
// It allocates (the message is rare and small); msg is not retained.
func ParseClientMessage(msg []byte) (m ClientMessage, ok bool) {
	root, err := ParseJSON(msg)
	if err != nil || root.Kind != KindObject {
		return ClientMessage{}, false
	}
	if v, found := root.Get("type"); found && v.Kind == KindString {
		m.Type = v.Str
	}
	if v, found := root.Get("stream"); found {
		if v.Kind == KindArray && len(v.Arr) > 0 {
			v = &v.Arr[0]
		}
		if v.Kind == KindString {
			m.Stream, m.HasStream = v.Str, true
		}
	}
	if v, found := root.Get("tag"); found {
		m.TagKind, m.HasTag = v.Kind, v.Truthy()
		if v.Kind == KindString {
			m.Tag = v.Str
		}
	}
	if v, found := root.Get("list"); found && v.Truthy() {
		m.HasList = true
		switch v.Kind {
		case KindString:
			m.List, m.ListJSON = v.Str, AppendQuoted(nil, v.Str)
		case KindNumber:
			m.ListJSON = appendNumber(nil, v.Num)
			m.List = string(m.ListJSON)
			// An overflowing literal: JSON.stringify writes null, String()
			// Infinity.
			if math.IsInf(v.Num, 1) {
				m.List = "Infinity"
			} else if math.IsInf(v.Num, -1) {
				m.List = "-Infinity"
			}
		default:
			m.ListJSON = AppendCanonical(nil, v)
			m.List = string(m.ListJSON)
		}
	}
	if v, found := root.Get("sluice_replay"); found && v.Kind == KindTrue {
		m.SluiceReplay = true
	}
	if v, found := root.Get("since"); found && v.Kind == KindString {
		m.Since = v.Str
	}
	return m, true
}

// AppendStreamName appends the stream-name array of WS-7, as the
// reference's streamNameFromChannelName builds it: [<stream>], plus the tag
// exactly as the client sent it for hashtag and hashtag:local when tag is
// not empty (["hashtag","Café"], not normalized), plus listJSON verbatim for
// list when it is not empty (["list",1] or ["list","1"]; a list from the URL
// is always a string, so pass AppendQuoted of it).
func AppendStreamName(dst []byte, stream string, tag string, listJSON []byte) []byte {
	dst = append(dst, '[')
	dst = AppendQuoted(dst, stream)
	switch {
	case (stream == "hashtag" || stream == "hashtag:local") && tag != "":
		dst = append(dst, ',')
		dst = AppendQuoted(dst, tag)
	case stream == "list" && len(listJSON) > 0:
		dst = append(dst, ',')
		dst = append(dst, listJSON...)
	}
	return append(dst, ']')
}

// AppendWSError appends an error message for the client:
// {"error":"<msg>","status":<status>} for a failed subscribe (WS-9, WS-10),
// or {"error":"<msg>"} when status is 0 (WS-11).
func AppendWSError(dst []byte, msg string, status int) []byte {
	dst = append(dst, `{"error":`...)
	dst = AppendQuoted(dst, msg)
	if status != 0 {
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(status), 10)
	}
	return append(dst, '}')
}
