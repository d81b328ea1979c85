package proto

import (
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// push is one frame given to an Assembler and what Push must answer.
type push struct {
	op      ws.OpCode
	fin     bool
	payload string

	done bool
	msg  string    // when done
	got  ws.OpCode // when done
	code ws.StatusCode
}

func data(op ws.OpCode, fin bool, payload string) push {
	return push{op: op, fin: fin, payload: payload}
}

func (p push) gives(msg string, op ws.OpCode) push {
	p.done, p.msg, p.got = true, msg, op
	return p
}

func (p push) fails(code ws.StatusCode) push {
	p.code = code
	return p
}

const (
	opT = ws.OpText
	opB = ws.OpBinary
	opC = ws.OpContinuation
)

var assemblerCases = []struct {
	name   string
	max    int
	pushes []push
}{
	{name: "single_text", max: 100, pushes: []push{data(opT, true, "hi").gives("hi", opT)}},
	{name: "single_binary_not_utf8", max: 100, pushes: []push{data(opB, true, "\xff").gives("\xff", opB)}},
	{name: "empty_text", max: 0, pushes: []push{data(opT, true, "").gives("", opT)}},
	{name: "fragmented_text", max: 100, pushes: []push{
		data(opT, false, `{"type":`),
		data(opC, false, `"subscribe",`),
		data(opC, true, `"stream":"public"}`).gives(`{"type":"subscribe","stream":"public"}`, opT),
	}},
	{name: "fragmented_binary", max: 100, pushes: []push{
		data(opB, false, "\xff"),
		data(opC, true, "\xfe").gives("\xff\xfe", opB),
	}},
	{name: "empty_fragments", max: 0, pushes: []push{
		data(opT, false, ""),
		data(opC, false, ""),
		data(opC, true, "").gives("", opT),
	}},
	{name: "interleaved_ping_passed_through", max: 100, pushes: []push{
		data(opT, false, "Hel"),
		data(ws.OpPing, true, "ka").gives("ka", ws.OpPing),
		data(ws.OpPong, true, "").gives("", ws.OpPong),
		data(opC, true, "lo").gives("Hello", opT),
	}},
	{name: "two_messages", max: 100, pushes: []push{
		data(opT, false, "ab"),
		data(opC, true, "c").gives("abc", opT),
		data(opT, true, "single").gives("single", opT),
		data(opB, false, "x"),
		data(opC, true, "y").gives("xy", opB),
	}},
	{name: "continuation_without_start_1002", max: 100, pushes: []push{data(opC, true, "x").fails(1002)}},
	{name: "continuation_after_end_1002", max: 100, pushes: []push{
		data(opT, false, "a"),
		data(opC, true, "b").gives("ab", opT),
		data(opC, true, "c").fails(1002),
	}},
	{name: "text_during_fragment_1002", max: 100, pushes: []push{
		data(opT, false, "a"),
		data(opT, true, "b").fails(1002),
	}},
	{name: "binary_during_fragment_1002", max: 100, pushes: []push{
		data(opT, false, "a"),
		data(opB, false, "b").fails(1002),
	}},
	{name: "recovers_after_error", max: 100, pushes: []push{
		data(opT, false, "a"),
		data(opT, true, "b").fails(1002),
		data(opT, true, "c").gives("c", opT),
	}},
	{name: "single_over_limit_1009", max: 4, pushes: []push{data(opT, true, "hello").fails(1009)}},
	{name: "fragments_at_limit", max: 4, pushes: []push{
		data(opT, false, "ab"),
		data(opC, true, "cd").gives("abcd", opT),
	}},
	{name: "fragments_over_limit_1009", max: 4, pushes: []push{
		data(opT, false, "ab"),
		data(opC, false, "cd"),
		data(opC, true, "e").fails(1009),
	}},
	{name: "binary_over_limit_1009", max: 1, pushes: []push{
		data(opB, false, "a"),
		data(opC, true, "b").fails(1009),
	}},
	{name: "invalid_utf8_1007", max: 100, pushes: []push{data(opT, true, "a\xffb").fails(1007)}},
	{name: "surrogate_1007", max: 100, pushes: []push{data(opT, true, "\xed\xa0\x80").fails(1007)}},
	{name: "overlong_1007", max: 100, pushes: []push{data(opT, true, "\xc0\xaf").fails(1007)}},
	{name: "utf8_split_2byte", max: 100, pushes: []push{
		data(opT, false, "caf\xc3"),
		data(opC, true, "\xa9").gives("café", opT),
	}},
	{name: "utf8_split_4byte_three_ways", max: 100, pushes: []push{
		data(opT, false, "\xf0"),
		data(opC, false, "\x9f\x98"),
		data(opC, true, "\x80!").gives("😀!", opT),
	}},
	{name: "utf8_split_after_ping", max: 100, pushes: []push{
		data(opT, false, "\xe2\x82"),
		data(ws.OpPing, true, "").gives("", ws.OpPing),
		data(opC, true, "\xac").gives("€", opT),
	}},
	// Fail fast: a fragment is refused as soon as its bytes cannot be text,
	// without waiting for the final fragment.
	{name: "invalid_in_first_fragment_1007", max: 100, pushes: []push{data(opT, false, "a\xff").fails(1007)}},
	{name: "impossible_prefix_1007", max: 100, pushes: []push{data(opT, false, "ok\xe0\x80").fails(1007)}},
	{name: "surrogate_prefix_1007", max: 100, pushes: []push{data(opT, false, "\xed\xa0").fails(1007)}},
	{name: "split_bad_continuation_1007", max: 100, pushes: []push{
		data(opT, false, "\xc3"),
		data(opC, true, "(").fails(1007),
	}},
	{name: "split_surrogate_1007", max: 100, pushes: []push{
		data(opT, false, "\xed"),
		data(opC, true, "\xa0\x80").fails(1007),
	}},
	{name: "unfinished_at_end_1007", max: 100, pushes: []push{
		data(opT, false, "a"),
		data(opC, true, "\xc3").fails(1007),
	}},
	{name: "unfinished_single_frame_1007", max: 100, pushes: []push{data(opT, true, "\xe2\x82").fails(1007)}},
}

func TestAssembler(t *testing.T) {
	for _, tc := range assemblerCases {
		t.Run(tc.name, func(t *testing.T) {
			var a Assembler
			for i, p := range tc.pushes {
				f := Frame{Fin: p.fin, Op: p.op, Payload: []byte(p.payload)}
				msg, op, done, err := a.Push(f, tc.max)
				switch {
				case p.code != 0:
					if err == nil || err.Code != p.code || done {
						t.Fatalf("push %d: done=%v err=%v, want close %d", i, done, err, p.code)
					}
					if a.Buffered() != 0 {
						t.Fatalf("push %d: %d bytes kept after an error", i, a.Buffered())
					}
				case err != nil:
					t.Fatalf("push %d: %v", i, err)
				case done != p.done || done && (string(msg) != p.msg || op != p.got):
					t.Fatalf("push %d: done=%v msg=%q op=%x, want done=%v msg=%q op=%x", i, done, msg, op, p.done, p.msg, p.got)
				}
			}
		})
	}
}

// TestAssemblerBuffer: the buffer is reused between messages, dropped once
// a message grew it past the cap, and an unfragmented message is not copied.
func TestAssemblerBuffer(t *testing.T) {
	var a Assembler
	small := func() []byte {
		a.Push(Frame{Op: opT, Payload: []byte("ab")}, testMaxMessage)
		msg, _, _, _ := a.Push(Frame{Fin: true, Op: opC, Payload: []byte("c")}, testMaxMessage)
		return msg
	}
	first := small()
	if second := small(); &first[0] != &second[0] {
		t.Error("a small buffer is not reused")
	}
	if a.Buffered() != 0 {
		t.Errorf("Buffered() = %d between messages", a.Buffered())
	}

	a.Push(Frame{Op: opB, Payload: make([]byte, assemblerKeep)}, testMaxMessage)
	if a.Buffered() != assemblerKeep {
		t.Errorf("Buffered() = %d, want %d", a.Buffered(), assemblerKeep)
	}
	msg, _, done, _ := a.Push(Frame{Fin: true, Op: opC, Payload: []byte("x")}, testMaxMessage)
	if !done || len(msg) != assemblerKeep+1 || a.buf != nil {
		t.Errorf("large message: done=%v len=%d, buffer kept with capacity %d", done, len(msg), cap(a.buf))
	}

	a.Push(Frame{Op: opB, Payload: make([]byte, 2*assemblerKeep)}, testMaxMessage)
	a.Reset()
	if a.buf != nil || a.Buffered() != 0 {
		t.Errorf("Reset kept %d bytes of capacity", cap(a.buf))
	}

	payload := []byte("whole")
	if msg, _, _, _ := a.Push(Frame{Fin: true, Op: opT, Payload: payload}, testMaxMessage); &msg[0] != &payload[0] {
		t.Error("an unfragmented message was copied")
	}
}

func TestParseClientMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  string
		ok   bool
		want ClientMessage
	}{
		// Appendix A.4 and WS-9.
		{name: "A4_subscribe_hashtag", msg: `{"type":"subscribe","stream":"hashtag","tag":"sunset"}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag", HasStream: true, Tag: "sunset", TagKind: KindString, HasTag: true}},
		{name: "subscribe_public", msg: `{"type":"subscribe","stream":"public"}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "public", HasStream: true}},
		{name: "unsubscribe", msg: `{"type":"unsubscribe","stream":"user:notification"}`, ok: true,
			want: ClientMessage{Type: "unsubscribe", Stream: "user:notification", HasStream: true}},
		{name: "whitespace", msg: " {\n\t\"type\" : \"subscribe\" , \"stream\" : \"direct\" }\r\n", ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "direct", HasStream: true}},
		{name: "unicode_tag_raw", msg: `{"type":"subscribe","stream":"hashtag:local","tag":"Caf\u00e9"}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag:local", HasStream: true, Tag: "Café", TagKind: KindString, HasTag: true}},
		// firstParam: an array gives its first element.
		{name: "stream_array", msg: `{"type":"subscribe","stream":["hashtag","x"],"tag":"y"}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag", HasStream: true, Tag: "y", TagKind: KindString, HasTag: true}},
		{name: "stream_array_number", msg: `{"type":"subscribe","stream":[1,"public"]}`, ok: true,
			want: ClientMessage{Type: "subscribe"}},
		{name: "stream_array_empty", msg: `{"type":"subscribe","stream":[]}`, ok: true,
			want: ClientMessage{Type: "subscribe"}},
		{name: "stream_array_nested", msg: `{"type":"subscribe","stream":[["public"]]}`, ok: true,
			want: ClientMessage{Type: "subscribe"}},
		{name: "stream_number_WS10", msg: `{"type":"subscribe","stream":5}`, ok: true,
			want: ClientMessage{Type: "subscribe"}},
		{name: "stream_absent_WS10", msg: `{"type":"subscribe"}`, ok: true,
			want: ClientMessage{Type: "subscribe"}},
		{name: "stream_empty_string", msg: `{"type":"subscribe","stream":""}`, ok: true,
			want: ClientMessage{Type: "subscribe", HasStream: true}},
		// WS-10: a truthy tag that is not a string is the caller's 500; a
		// falsy one is a missing tag.
		{name: "tag_number_WS10", msg: `{"type":"subscribe","stream":"hashtag","tag":123}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag", HasStream: true, TagKind: KindNumber, HasTag: true}},
		{name: "tag_object", msg: `{"type":"subscribe","stream":"hashtag","tag":{"a":1}}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag", HasStream: true, TagKind: KindObject, HasTag: true}},
		{name: "tag_empty_array_truthy", msg: `{"type":"subscribe","stream":"hashtag","tag":[]}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag", HasStream: true, TagKind: KindArray, HasTag: true}},
		{name: "tag_true", msg: `{"type":"subscribe","stream":"hashtag","tag":true}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag", HasStream: true, TagKind: KindTrue, HasTag: true}},
		{name: "tag_zero_missing", msg: `{"type":"subscribe","stream":"hashtag","tag":0}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag", HasStream: true, TagKind: KindNumber}},
		{name: "tag_empty_missing", msg: `{"type":"subscribe","stream":"hashtag","tag":""}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag", HasStream: true, TagKind: KindString}},
		{name: "tag_null_missing", msg: `{"type":"subscribe","stream":"hashtag","tag":null}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag", HasStream: true, TagKind: KindNull}},
		{name: "tag_false_missing", msg: `{"type":"subscribe","stream":"hashtag","tag":false}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "hashtag", HasStream: true, TagKind: KindFalse}},
		// WS-7: the list exactly as sent.
		{name: "list_number", msg: `{"type":"subscribe","stream":"list","list":1}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "list", HasStream: true, List: "1", ListJSON: []byte("1"), HasList: true}},
		{name: "list_string", msg: `{"type":"subscribe","stream":"list","list":"1"}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "list", HasStream: true, List: "1", ListJSON: []byte(`"1"`), HasList: true}},
		{name: "list_number_canonical", msg: `{"type":"subscribe","stream":"list","list":1.0e1}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "list", HasStream: true, List: "10", ListJSON: []byte("10"), HasList: true}},
		{name: "list_big_number", msg: `{"type":"subscribe","stream":"list","list":12345678901234567890}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "list", HasStream: true, List: "12345678901234567000", ListJSON: []byte("12345678901234567000"), HasList: true}},
		{name: "list_exponent", msg: `{"type":"subscribe","stream":"list","list":1e21}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "list", HasStream: true, List: "1e+21", ListJSON: []byte("1e+21"), HasList: true}},
		{name: "list_overflow", msg: `{"type":"subscribe","stream":"list","list":-1e999}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "list", HasStream: true, List: "-Infinity", ListJSON: []byte("null"), HasList: true}},
		{name: "list_string_escaped", msg: `{"type":"subscribe","stream":"list","list":"1\"2"}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "list", HasStream: true, List: `1"2`, ListJSON: []byte(`"1\"2"`), HasList: true}},
		{name: "list_object", msg: `{"type":"subscribe","stream":"list","list":{"id": 1}}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "list", HasStream: true, List: `{"id":1}`, ListJSON: []byte(`{"id":1}`), HasList: true}},
		{name: "list_zero_missing", msg: `{"type":"subscribe","stream":"list","list":0}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "list", HasStream: true}},
		{name: "list_empty_missing", msg: `{"type":"subscribe","stream":"list","list":""}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "list", HasStream: true}},
		// WS-12: the caller ignores these.
		{name: "unknown_type", msg: `{"type":"ping"}`, ok: true, want: ClientMessage{Type: "ping"}},
		{name: "type_absent", msg: `{"stream":"public"}`, ok: true, want: ClientMessage{Stream: "public", HasStream: true}},
		{name: "type_number", msg: `{"type":1,"stream":"public"}`, ok: true, want: ClientMessage{Stream: "public", HasStream: true}},
		{name: "empty_object", msg: `{}`, ok: true},
		{name: "duplicate_keys_last_wins", msg: `{"type":"unsubscribe","stream":"public","type":"subscribe","stream":"direct"}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "direct", HasStream: true}},
		{name: "A4_not_json", msg: `this is not json`},
		{name: "array", msg: `[{"type":"subscribe","stream":"public"}]`},
		{name: "string", msg: `"subscribe"`},
		{name: "null", msg: `null`},
		{name: "number", msg: `1`},
		{name: "empty", msg: ``},
		{name: "trailing_garbage", msg: `{"type":"subscribe","stream":"public"}x`},
		{name: "truncated", msg: `{"type":"subscribe","stream":"pub`},
		//
		{name: "replay", msg: `{"type":"subscribe","stream":"public","sluice_replay":true,"since":"ab12.42"}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "public", HasStream: true, SluiceReplay: true, Since: "ab12.42"}},
		{name: "replay_not_true", msg: `{"type":"subscribe","stream":"public","sluice_replay":1,"since":42}`, ok: true,
			want: ClientMessage{Type: "subscribe", Stream: "public", HasStream: true}},
	} {
		got, ok := ParseClientMessage([]byte(tc.msg))
		if ok != tc.ok || describeClientMessage(&got) != describeClientMessage(&tc.want) {
			t.Errorf("%s:\n got ok=%v %s\nwant ok=%v %s", tc.name, ok, describeClientMessage(&got), tc.ok, describeClientMessage(&tc.want))
		}
	}
}

func describeClientMessage(m *ClientMessage) string {
	var b strings.Builder
	b.WriteString("type=" + string(AppendQuoted(nil, m.Type)))
	if m.HasStream {
		b.WriteString(" stream=" + string(AppendQuoted(nil, m.Stream)))
	}
	if m.TagKind != KindNull || m.HasTag || m.Tag != "" {
		b.WriteString(" tag=" + string(AppendQuoted(nil, m.Tag)) + " kind=" + string('0'+rune(m.TagKind)))
		if m.HasTag {
			b.WriteString(" truthy")
		}
	}
	if m.HasList || m.List != "" || m.ListJSON != nil {
		b.WriteString(" list=" + string(AppendQuoted(nil, m.List)) + " json=" + string(m.ListJSON))
		if m.HasList {
			b.WriteString(" truthy")
		}
	}
	if m.SluiceReplay {
		b.WriteString(" replay")
	}
	if m.Since != "" {
		b.WriteString(" since=" + m.Since)
	}
	return b.String()
}

func TestAppendStreamNameWS7(t *testing.T) {
	for _, tc := range []struct {
		stream, tag, list string
		want              string
	}{
		{"public", "", "", `["public"]`},
		{"user", "", "", `["user"]`},
		{"public:remote:media", "", "", `["public:remote:media"]`},
		{"hashtag", "Café", "", `["hashtag","Café"]`},
		{"hashtag:local", "sunset", "", `["hashtag:local","sunset"]`},
		{"hashtag", "", "", `["hashtag"]`},
		{"hashtag", `a"b\`, "", `["hashtag","a\"b\\"]`},
		{"hashtag", "x\xed\xa0\x80", "", `["hashtag","x\ud800"]`},
		{"list", "", "1", `["list",1]`},
		{"list", "", `"1"`, `["list","1"]`},
		{"list", "ignored", "", `["list"]`},
		{"public", "ignored", "7", `["public"]`},
	} {
		if got := string(AppendStreamName([]byte("x"), tc.stream, tc.tag, []byte(tc.list))); got != "x"+tc.want {
			t.Errorf("AppendStreamName(%q, %q, %q) = %s, want %s", tc.stream, tc.tag, tc.list, got[1:], tc.want)
		}
	}
	// A list message round trip: ListJSON feeds the stream name.
	for msg, want := range map[string]string{
		`{"type":"subscribe","stream":"list","list":1}`:   `["list",1]`,
		`{"type":"subscribe","stream":"list","list":"1"}`: `["list","1"]`,
	} {
		m, _ := ParseClientMessage([]byte(msg))
		if got := string(AppendStreamName(nil, m.Stream, m.Tag, m.ListJSON)); got != want {
			t.Errorf("%s: %s, want %s", msg, got, want)
		}
	}
}

func TestAppendWSError(t *testing.T) {
	// The captured errors of Appendix A.4.
	for _, tc := range []struct {
		msg    string
		status int
		want   string
	}{
		{"Not authorized to stream this list", 401, `{"error":"Not authorized to stream this list","status":401}`},
		{"Unknown stream type", 400, `{"error":"Unknown stream type","status":400}`},
		{"Missing tag name parameter", 400, `{"error":"Missing tag name parameter","status":400}`},
		{"Access token does not have the required scopes", 401, `{"error":"Access token does not have the required scopes","status":401}`},
		{"An unexpected error occurred", 500, `{"error":"An unexpected error occurred","status":500}`},
		{"Too many subscriptions", 429, `{"error":"Too many subscriptions","status":429}`},
		{"Error unsubscribing from channel", 0, `{"error":"Error unsubscribing from channel"}`},
	} {
		if got := string(AppendWSError(nil, tc.msg, tc.status)); got != tc.want {
			t.Errorf("AppendWSError(%q, %d) = %s, want %s", tc.msg, tc.status, got, tc.want)
		}
	}
}
