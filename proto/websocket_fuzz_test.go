package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// frameAllocChecks turns on the zero-allocation assertion of FuzzParseFrame;
// websocket_alloc_test.go sets it outside -race builds, where allocation
// counts are meaningful.
var frameAllocChecks bool

// FuzzParseFrame checks ParseFrame on every input against gobwas/ws's header
// reader and checks, feeds every prefix of the input (the answer must be
// ErrNeedMore or the whole input's answer, and never change once given),
// asserts that an accepted frame allocates nothing, and runs the decoded
// frames through an Assembler.
//
// Deliberately stricter than gobwas: a control frame whose 7-bit length is
// 126 or 127 is refused even when the extended length is at most 125, as the
// ws library refuses it.
func FuzzParseFrame(f *testing.F) {
	for _, tc := range frameCases {
		if len(tc.raw) < 1024 {
			f.Add(tc.raw, uint16(min(tc.max, math.MaxUint16)))
		}
	}
	f.Add(append(clientFrame(0x01, "caf\xc3", 0), clientFrame(0x80, "\xa9", 0)...), uint16(100))
	f.Add(append(clientFrame(0x02, "ab", 0), append(clientFrame(0x89, "", 0), clientFrame(0x80, "cd", 0)...)...), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		max := int(limit)
		frame, n, err := ParseFrame(bytes.Clone(data), max)
		checkFrameResult(t, data, max, frame, n, err)
		checkFramePrefixes(t, data, max, n, err)
		checkFrameAgainstGobwas(t, data, max, n, err)
		if err == nil && frameAllocChecks {
			buf := bytes.Clone(data)
			if allocs := testing.AllocsPerRun(5, func() { ParseFrame(buf, max) }); allocs != 0 {
				t.Fatalf("accepted frame allocates %v times", allocs)
			}
		}
		assembleAll(t, bytes.Clone(data), max)
	})
}

func checkFrameResult(t *testing.T, data []byte, max int, f Frame, n int, err error) {
	t.Helper()
	var ce *CloseError
	switch {
	case err == ErrNeedMore:
		if n != 0 {
			t.Fatalf("ErrNeedMore with n=%d", n)
		}
	case errors.As(err, &ce):
		if n != 0 || ce.Reason != "" || (ce.Code != 1002 && ce.Code != 1009) {
			t.Fatalf("n=%d err=%v reason %q", n, err, ce.Reason)
		}
	case err != nil:
		t.Fatalf("error of type %T: %v", err, err)
	default:
		if n < 6 || n > len(data) || len(f.Payload) > n-6 {
			t.Fatalf("n=%d for %d bytes, payload %d", n, len(data), len(f.Payload))
		}
		if f.Op.IsData() && len(f.Payload) > max {
			t.Fatalf("payload %d over the limit %d", len(f.Payload), max)
		}
		want := xorMask(bytes.Clone(data[n-len(f.Payload):n]), [4]byte(data[n-len(f.Payload)-4:]))
		if !bytes.Equal(f.Payload, want) {
			t.Fatalf("payload %q, want %q", f.Payload, want)
		}
	}
}

// checkFramePrefixes: every prefix gets ErrNeedMore or the final answer, and
// once a prefix gets the final answer every longer one does too.
func checkFramePrefixes(t *testing.T, data []byte, max int, n int, err error) {
	t.Helper()
	final := false
	for k := 0; k <= len(data); k++ {
		if len(data) > 300 && k%61 != 0 && k != len(data)/2 && k < len(data)-2 {
			continue
		}
		_, pn, perr := ParseFrame(bytes.Clone(data[:k]), max)
		switch {
		case perr == ErrNeedMore && !final:
		case perr == err && (err != nil || pn == n):
			final = true
		default:
			t.Fatalf("first %d bytes: n=%d err=%v; whole %d bytes: n=%d err=%v", k, pn, perr, len(data), n, err)
		}
	}
}

func checkFrameAgainstGobwas(t *testing.T, data []byte, max int, n int, err error) {
	t.Helper()
	h, herr := ws.ReadHeader(bytes.NewReader(data))
	if errors.Is(herr, io.EOF) || errors.Is(herr, io.ErrUnexpectedEOF) {
		if err == nil {
			t.Fatalf("accepted a frame gobwas finds incomplete")
		}
		return // our checks may decide before the header is complete
	}
	state := ws.StateServerSide
	if h.OpCode == ws.OpContinuation {
		state |= ws.StateFragmented // continuation rules are the Assembler's
	}
	var check error
	if herr == nil {
		check = ws.CheckHeader(h, state)
	}
	controlExtended := h.OpCode.IsControl() && len(data) > 1 && data[1]&0x7f > 125
	var ce *CloseError
	errors.As(err, &ce)
	switch {
	case err == nil:
		if herr != nil || check != nil || h.Fin != (data[0]&0x80 != 0) || h.Length != int64(n-headerLen(data)) {
			t.Fatalf("accepted; gobwas %+v: %v %v", h, herr, check)
		}
	case ce != nil && ce.Code == 1002:
		if herr == nil && check == nil && !controlExtended {
			t.Fatalf("1002 (%v); gobwas accepts %+v", err, h)
		}
	case ce != nil && ce.Code == 1009:
		if herr != nil || check != nil || h.Length <= int64(max) && h.Length <= math.MaxInt-maxFrameOverhead {
			t.Fatalf("1009; gobwas %+v: %v %v", h, herr, check)
		}
	case err == ErrNeedMore:
		if herr != nil || check != nil || int64(len(data)) >= int64(headerLen(data))+h.Length {
			t.Fatalf("ErrNeedMore; gobwas %+v: %v %v", h, herr, check)
		}
	}
}

// headerLen is the header length of the masked frame at data[0:].
func headerLen(data []byte) int {
	switch data[1] & 0x7f {
	case 126:
		return 8
	case 127:
		return 14
	}
	return 6
}

// assembleAll decodes frames until the input runs out or is refused and
// pushes the data frames through an Assembler.
func assembleAll(t *testing.T, buf []byte, max int) {
	t.Helper()
	var a Assembler
	for len(buf) > 0 {
		f, n, err := ParseFrame(buf, max)
		if err != nil {
			return
		}
		buf = buf[n:]
		if f.Op.IsControl() {
			continue
		}
		msg, op, done, cerr := a.Push(f, max)
		switch {
		case cerr != nil:
			return
		case done && len(msg) > max:
			t.Fatalf("message of %d bytes over the limit %d", len(msg), max)
		case done && op == ws.OpText && !utf8.Valid(msg):
			t.Fatalf("invalid UTF-8 text accepted: %q", msg)
		case done && op != ws.OpText && op != ws.OpBinary:
			t.Fatalf("message with opcode %x", op)
		}
	}
}

// FuzzClientMessage checks ParseClientMessage against encoding/json: both
// see an object or neither does, and they agree on type, stream and the
// truthiness and kind of tag and list. Strings are compared only for valid
// UTF-8 input without \u escapes, where the two decoders cannot differ (Go
// turns lone surrogates into U+FFFD, ParseJSON keeps them, see Value). The
// stream name built from the result must be JSON.
func FuzzClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","stream":"hashtag","tag":"sunset"}`,
		`{"type":"subscribe","stream":["hashtag","x"],"tag":123}`,
		`{"type":"subscribe","stream":"list","list":1.0}`,
		`{"type":"subscribe","stream":"list","list":"1"}`,
		`{"type":"unsubscribe","stream":"public","sluice_replay":true,"since":"a.1"}`,
		`{"type":"subscribe","stream":"hashtag","tag":"\ud800x"}`,
		`{"type":"x","type":"subscribe","list":-0,"tag":""}`,
		`this is not json`, `[1]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, ok := ParseClientMessage(msg)
		var obj map[string]json.RawMessage
		stdOK := json.Unmarshal(msg, &obj) == nil && obj != nil
		if ok != stdOK {
			if stdOK && bytes.Count(msg, []byte("["))+bytes.Count(msg, []byte("{")) > MaxJSONDepth {
				return // deeper than ParseJSON accepts
			}
			t.Fatalf("ok=%v, encoding/json ok=%v", ok, stdOK)
		}
		if !ok {
			return
		}
		name := AppendStreamName(nil, m.Stream, m.Tag, m.ListJSON)
		if v, err := ParseJSON(name); err != nil || v.Kind != KindArray || !utf8.Valid(name) {
			t.Fatalf("stream name %q: %v", name, err)
		}
		if m.HasList {
			if _, err := ParseJSON(m.ListJSON); err != nil {
				t.Fatalf("ListJSON %q: %v", m.ListJSON, err)
			}
		} else if m.List != "" || m.ListJSON != nil {
			t.Fatalf("list %q %q without HasList", m.List, m.ListJSON)
		}
		compareClientMessage(t, &m, obj, utf8.Valid(msg) && !bytes.Contains(msg, []byte(`\u`)))
	})
}

func compareClientMessage(t *testing.T, m *ClientMessage, obj map[string]json.RawMessage, exact bool) {
	t.Helper()
	str := func(raw json.RawMessage) (string, bool) {
		var s string
		return s, len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil
	}
	if s, isStr := str(obj["type"]); !isStr && m.Type != "" || exact && s != m.Type {
		t.Fatalf("type %q, encoding/json %s", m.Type, obj["type"])
	}
	stream := obj["stream"]
	var arr []json.RawMessage
	if len(stream) > 0 && stream[0] == '[' && json.Unmarshal(stream, &arr) == nil && len(arr) > 0 {
		stream = arr[0]
	}
	if s, isStr := str(stream); isStr != m.HasStream || exact && s != m.Stream {
		t.Fatalf("stream %q (%v), encoding/json %s", m.Stream, m.HasStream, obj["stream"])
	}
	tag := obj["tag"]
	if kindOf(tag) != m.TagKind || truthy(tag) != m.HasTag {
		t.Fatalf("tag kind %d truthy %v, encoding/json %s", m.TagKind, m.HasTag, tag)
	}
	if s, isStr := str(tag); exact && isStr && s != m.Tag {
		t.Fatalf("tag %q, encoding/json %q", m.Tag, s)
	}
	if truthy(obj["list"]) != m.HasList {
		t.Fatalf("list truthy %v, encoding/json %s", m.HasList, obj["list"])
	}
}

// kindOf is the Kind of a JSON text (KindNull when absent).
func kindOf(raw json.RawMessage) Kind {
	if len(raw) == 0 {
		return KindNull
	}
	switch raw[0] {
	case 'n':
		return KindNull
	case 'f':
		return KindFalse
	case 't':
		return KindTrue
	case '"':
		return KindString
	case '[':
		return KindArray
	case '{':
		return KindObject
	}
	return KindNumber
}

// truthy is JavaScript truthiness of a JSON text (absent is falsy).
func truthy(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	switch raw[0] {
	case 'n', 'f':
		return false
	case '"':
		return len(raw) > 2
	case '[', '{', 't':
		return true
	}
	x, _ := strconv.ParseFloat(string(raw), 64)
	return x != 0
}
