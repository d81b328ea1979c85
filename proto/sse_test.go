package proto

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendSSEEventSSE3(t *testing.T) {
	tests := []struct{ name, event, payload, want string }{
		{"delete_SSE3", "delete", "115600000000000001", "event: delete\ndata: 115600000000000001\n\n"},
		{"notifications_merged_SSE3", "notifications_merged", "1", "event: notifications_merged\ndata: 1\n\n"},
		{"update_SSE3", "update", `{"id":"1","filtered":[]}`, "event: update\ndata: {\"id\":\"1\",\"filtered\":[]}\n\n"},
		{"lf_split_SSE5", "x", "line1\nline2", "event: x\ndata: line1\ndata: line2\n\n"},
		{"crlf_split_SSE5", "x", "a\r\nb", "event: x\ndata: a\ndata: b\n\n"},
		{"cr_split_SSE5", "x", "a\rb", "event: x\ndata: a\ndata: b\n\n"},
		{"cr_cr_lf_SSE5", "x", "a\r\r\nb", "event: x\ndata: a\ndata: \ndata: b\n\n"},
		{"lf_lf_SSE5", "x", "a\n\nb", "event: x\ndata: a\ndata: \ndata: b\n\n"},
		{"trailing_lf_SSE5", "x", "a\n", "event: x\ndata: a\ndata: \n\n"},
		{"leading_cr_SSE5", "x", "\ra", "event: x\ndata: \ndata: a\n\n"},
		{"empty_payload", "x", "", "event: x\ndata: \n\n"},
		{"unicode_kept", "x", "👍 \u2028", "event: x\ndata: 👍 \u2028\n\n"},
		{"lone_surrogate_name_SSE6", "a\xed\xa0\x80", "1", "event: a\uFFFD\ndata: 1\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendSSEEvent([]byte("prev"), tt.event, []byte(tt.payload)))
			if got != "prev"+tt.want {
				t.Errorf("AppendSSEEvent = %q, want %q", got, "prev"+tt.want)
			}
			if !utf8.ValidString(got) {
				t.Error("output is not valid UTF-8 (SSE-6)")
			}
		})
	}
}

// SSE-5: splitting then joining the data lines with LF, as EventSource
// does, gives the payload with every CRLF and CR turned into LF.
func TestAppendSSEEventReassemblesSSE5(t *testing.T) {
	for _, p := range []string{"", "\n", "\r\n", "\r", "a\r\n\rb\n", "\n\r", "x\r\ny\rz\n"} {
		out := string(AppendSSEEvent(nil, "x", []byte(p)))
		body, ok := strings.CutSuffix(strings.TrimPrefix(out, "event: x\n"), "\n\n")
		if !ok {
			t.Fatalf("%q: bad framing %q", p, out)
		}
		var data []string
		for _, line := range strings.Split(body, "\n") {
			d, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				t.Fatalf("%q: line %q is not a data line", p, line)
			}
			data = append(data, d)
		}
		want := strings.ReplaceAll(strings.ReplaceAll(p, "\r\n", "\n"), "\r", "\n")
		if got := strings.Join(data, "\n"); got != want {
			t.Errorf("%q reassembled as %q, want %q", p, got, want)
		}
	}
}

func TestAppendChunkSSE4(t *testing.T) {
	tests := []struct{ body, want string }{
		{"", ""},
		{"a", "1\r\na\r\n"},
		{":)\n", "3\r\n:)\n\r\n"},
		{strings.Repeat("x", 255), "ff\r\n" + strings.Repeat("x", 255) + "\r\n"},
		{strings.Repeat("x", 4096), "1000\r\n" + strings.Repeat("x", 4096) + "\r\n"},
	}
	for _, tt := range tests {
		if got := string(AppendChunk([]byte("p"), []byte(tt.body))); got != "p"+tt.want {
			t.Errorf("AppendChunk(%d bytes) = %.20q…, want %.20q…", len(tt.body), got, "p"+tt.want)
		}
	}
	if string(SSEPreamble) != ":)\n" || string(SSEHeartbeat) != ":thump\n\n" || string(ChunkedEnd) != "0\r\n\r\n" {
		t.Error("static SSE bytes changed (SSE-2, SSE-7, SSE-8)")
	}
}

// WS-6 envelopes: keys in order; string, object and array payloads as JSON
// strings; numbers and true bare (ENC-5). Examples from Appendix A.4.
func TestAppendWSEventWS6(t *testing.T) {
	tests := []struct{ name, stream, raw, want string }{
		{"A4_delete", `["public"]`, `{"event":"delete","payload":"115600000000000001"}`,
			`{"stream":["public"],"event":"delete","payload":"115600000000000001"}`},
		{"A4_hashtag_announcement_delete", `["hashtag","sunset"]`, `{"event":"announcement.delete","payload":"5"}`,
			`{"stream":["hashtag","sunset"],"event":"announcement.delete","payload":"5"}`},
		{"update_object_quoted", `["public:remote"]`, `{"event":"update","payload":{"id":"1156","content":"\u003cp\u003e"}}`,
			`{"stream":["public:remote"],"event":"update","payload":"{\"id\":\"1156\",\"content\":\"<p>\"}"}`},
		{"array_quoted", `["user"]`, `{"event":"x2","payload":[1,"a"]}`, `{"stream":["user"],"event":"x2","payload":"[1,\"a\"]"}`},
		{"number_bare_ENC5", `["user"]`, `{"event":"custom.thing","payload":12345}`, `{"stream":["user"],"event":"custom.thing","payload":12345}`},
		{"true_bare_ENC5", `["user"]`, `{"event":"x","payload":true}`, `{"stream":["user"],"event":"x","payload":true}`},
		{"infinity_null", `["user"]`, `{"event":"x","payload":1e999}`, `{"stream":["user"],"event":"x","payload":null}`},
		{"list_number_WS7", `["list",1]`, `{"event":"x","payload":"a"}`, `{"stream":["list",1],"event":"x","payload":"a"}`},
		{"string_with_newline", `["user"]`, `{"event":"x","payload":"a\nb"}`, `{"stream":["user"],"event":"x","payload":"a\nb"}`},
		{"lone_surrogate_kept", `["user"]`, `{"event":"x\udfff","payload":"a\ud800"}`, `{"stream":["user"],"event":"x\udfff","payload":"a\ud800"}`},
		{"hashtag_unicode", `["hashtag","Café"]`, `{"event":"delete","payload":"1"}`, `{"stream":["hashtag","Café"],"event":"delete","payload":"1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, ok, err := ParseEvent([]byte(tt.raw))
			if !ok || err != nil {
				t.Fatalf("ParseEvent: ok %v err %v", ok, err)
			}
			if got := string(AppendWSEvent([]byte("p"), []byte(tt.stream), &ev)); got != "p"+tt.want {
				t.Errorf("AppendWSEvent = %s\nwant            %s", got, "p"+tt.want)
			}
		})
	}
}
