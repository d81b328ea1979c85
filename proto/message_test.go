package proto

import (
	"bytes"
	"strings"
	"testing"
)

// eventCases are the events of Appendix A.3 (bob's user stream) and the
// §7.1 catalogue, with the SSE data line the reference wrote for each.
var eventCases = []struct {
	name     string // test name, with the requirement it shows
	raw      string // Redis message
	event    string
	data     string // payload text as SSE clients see it
	isString bool
}{
	{"A3_update_fr_status_ENC1", `{"event":"update","payload":{"id":"115600000000000003","language":"fr","content":"\u003cp\u003eBonjour\u003c/p\u003e","media_attachments":[{"meta":{"small":{"aspect":1.0}}}]},"queued_at":1732000000000}`,
		"update", `{"id":"115600000000000003","language":"fr","content":"<p>Bonjour</p>","media_attachments":[{"meta":{"small":{"aspect":1}}}]}`, false},
	{"A3_notification_lt_unescaped_ENC1", `{"event":"notification","payload":{"id":"42","type":"mention","status":{"content":"\u003cp\u003e@bob hi \u0026amp; bye\u003c/p\u003e"}}}`,
		"notification", `{"id":"42","type":"mention","status":{"content":"<p>@bob hi &amp; bye</p>"}}`, false},
	{"A3_announcement_ENC1", `{"event":"announcement","payload":{"id":"5","content":"\u003cp\u003eMaintenance\u003c/p\u003e","all_day":false,"reactions":[]}}`,
		"announcement", `{"id":"5","content":"<p>Maintenance</p>","all_day":false,"reactions":[]}`, false},
	{"A3_announcement_reaction_emoji_ENC1", `{"event":"announcement.reaction","payload":{"name":"\ud83d\udc4d","count":3,"announcement_id":"5"}}`,
		"announcement.reaction", `{"name":"👍","count":3,"announcement_id":"5"}`, false},
	{"A3_announcement_reaction_raw_emoji_ENC2", `{"event":"announcement.reaction","payload":{"name":"👍","count":3,"announcement_id":"5"}}`,
		"announcement.reaction", `{"name":"👍","count":3,"announcement_id":"5"}`, false},
	{"A3_announcement_delete_string_ENC4", `{"event":"announcement.delete","payload":"5"}`, "announcement.delete", `5`, true},
	{"A3_notifications_merged_ENC4", `{"event":"notifications_merged","payload":"1"}`, "notifications_merged", `1`, true},
	{"A3_status_update_ENC1", `{"event":"status.update","payload":{"id":"115600000000000003","edited_at":"2025-11-20T18:10:00.000Z","poll":{"votes_count":1.50e1}}}`,
		"status.update", `{"id":"115600000000000003","edited_at":"2025-11-20T18:10:00.000Z","poll":{"votes_count":15}}`, false},
	{"A3_string_payload_update_passed_as_is_EVT2", `{"event":"update","payload":"{\"id\":\"115600000000000004\",\"content\":\"\\u003cp\\u003ehi\"}"}`,
		"update", `{"id":"115600000000000004","content":"\u003cp\u003ehi"}`, true},
	{"A3_custom_thing_number_RED8_ENC5", `{"event":"custom.thing","payload":12345}`, "custom.thing", `12345`, false},
	{"A3_x2_array_RED6", `{"event":"x2","payload":[1,"a"]}`, "x2", `[1,"a"]`, false},
	{"delete_A1", `{"event":"delete","payload":"115600000000000001"}`, "delete", `115600000000000001`, true},
	{"true_payload_ENC5", `{"event":"x","payload":true}`, "x", `true`, false},
	{"number_payload_reformatted_ENC5", `{"event":"x","payload":1e21}`, "x", `1e+21`, false},
	{"truthy_string_zero_RED6", `{"event":"x","payload":"0"}`, "x", `0`, true},
	{"empty_object_truthy_RED6", `{"event":"x","payload":{}}`, "x", `{}`, false},
	{"dup_payload_last_wins_RED4", `{"event":"x","payload":1,"payload":{"a":1}}`, "x", `{"a":1}`, false},
	{"dup_event_last_wins_RED4", `{"event":"a","payload":1,"event":"b"}`, "b", `1`, false},
	{"kill_on_stream_channel_SYS3", `{"event":"kill","payload":"x"}`, "kill", `x`, true},
	{"whitespace_around_ENC1", " {\n \"event\" : \"x\" ,\n \"payload\" : { \"a\" : [ 1 , 2 ] }\n}\n", "x", `{"a":[1,2]}`, false},
	{"string_payload_with_newline_SSE5", `{"event":"x","payload":"line1\nline2"}`, "x", "line1\nline2", true},
	{"string_payload_lone_surrogate_SSE6", `{"event":"x","payload":"a\ud800b"}`, "x", "a\uFFFDb", true},
	{"invalid_utf8_repaired_RED4", "{\"event\":\"x\",\"payload\":{\"a\":\"\xff\"}}", "x", "{\"a\":\"\uFFFD\"}", false},
	{"infinity_number_payload_SSE4", `{"event":"x","payload":-1e999}`, "x", `-Infinity`, false},
}

func TestParseEventA3(t *testing.T) {
	for _, tt := range eventCases {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			ev, ok, err := ParseEvent(raw)
			if err != nil || !ok {
				t.Fatalf("ParseEvent = ok %v, err %v; want an event", ok, err)
			}
			if ev.Name != tt.event || string(ev.Payload) != tt.data || ev.PayloadIsString != tt.isString {
				t.Errorf("got event %q payload %q string %v\nwant event %q payload %q string %v",
					ev.Name, ev.Payload, ev.PayloadIsString, tt.event, tt.data, tt.isString)
			}
			// ParseEvent must not retain raw: Redis buffers are reused.
			for i := range raw {
				raw[i] = 'X'
			}
			if string(ev.Payload) != tt.data || ev.Name != tt.event {
				t.Errorf("event changed after raw was overwritten: %q %q", ev.Name, ev.Payload)
			}
		})
	}
}

// ENC-2: whenever the raw payload is taken as is, it must equal the
// canonical text; whenever it is not canonical, it must have been re-encoded.
func TestParseEventFastPathENC2(t *testing.T) {
	for _, tt := range eventCases {
		ev, ok, _ := ParseEvent([]byte(tt.raw))
		if !ok || ev.PayloadIsString || ev.Value.Kind == KindNumber {
			continue
		}
		if want := AppendCanonical(nil, &ev.Value); !bytes.Equal(ev.Payload, want) {
			t.Errorf("%s: Payload %q, canonical %q", tt.name, ev.Payload, want)
		}
	}
	canonical := []string{`{"a":"<p>&amp;</p>","b":[1,1.5,-2,1e+21,0.000001],"c":"\ud800","d":"\u001f\n"}`, `[1,"a"]`}
	nonCanonical := []string{`{"a":"\u003c"}`, `{"a":"\/"}`, `{"a":1.0}`, `{"a":-0}`, `{"a":1E2}`, `{"a":"\u00e9"}`,
		`{"a":"\uD800"}`, `{"a":"\u000a"}`, `{"a":"\ud83d\udc4d"}`, `{"a":1,"a":2}`, `{"1":1,"0":2}`, `{ "a":1}`, `[1 ]`,
		`{"a":12345678901234567890}`, `{"a":1e400}`, "{\"a\":\"\xff\"}"}
	for _, p := range append(canonical, nonCanonical...) {
		ev, ok, err := ParseEvent([]byte(`{"event":"x","payload":` + p + `}`))
		if !ok || err != nil {
			t.Fatalf("payload %s: ok %v err %v", p, ok, err)
		}
		want := AppendCanonical(nil, &ev.Value)
		if !bytes.Equal(ev.Payload, want) {
			t.Errorf("payload %s: got %q, canonical %q", p, ev.Payload, want)
		}
	}
	// The flag itself: canonical payloads are recognised as such.
	for _, p := range canonical {
		pr := newJSONParser([]byte(`{"event":"x","payload":`+p+`}`), "payload")
		if _, err := pr.parseDocument(); err != nil || !pr.trackCanon {
			t.Errorf("payload %s not recognised as canonical (err %v)", p, err)
		}
	}
	for _, p := range nonCanonical {
		pr := newJSONParser([]byte(`{"event":"x","payload":`+p+`}`), "payload")
		if _, err := pr.parseDocument(); err != nil || pr.trackCanon {
			t.Errorf("payload %s taken as canonical (err %v)", p, err)
		}
	}
}

// A string payload whose text is a JSON object (legacy Rails format) stays
// a string in Value; filtering decides what to do with it (FLT-1).
func TestParseEventLegacyStringPayloadFLT1(t *testing.T) {
	ev, ok, err := ParseEvent([]byte(`{"event":"update","payload":"{\"id\":\"1\"}"}`))
	if !ok || err != nil {
		t.Fatalf("ok %v err %v", ok, err)
	}
	if ev.Value.Kind != KindString || ev.Value.Str != `{"id":"1"}` || !ev.PayloadIsString {
		t.Errorf("Value = %+v, PayloadIsString %v; want the string", ev.Value, ev.PayloadIsString)
	}
}

// Messages that produce no output and no error (RED-6, RED-7, EVT-3), and
// the ones that are invalid JSON (RED-4).
func TestParseEventDroppedRED6(t *testing.T) {
	tests := []struct {
		name, raw string
		invalid   bool
	}{
		{"filters_changed_no_payload_EVT3", `{"event":"filters_changed"}`, false},
		{"payload_zero", `{"event":"x","payload":0}`, false},
		{"payload_minus_zero", `{"event":"x","payload":-0.0}`, false},
		{"payload_false", `{"event":"x","payload":false}`, false},
		{"payload_empty_string", `{"event":"x","payload":""}`, false},
		{"payload_null", `{"event":"x","payload":null}`, false},
		{"payload_absent", `{"event":"x"}`, false},
		{"event_absent", `{"payload":"1"}`, false},
		{"event_empty", `{"event":"","payload":"1"}`, false},
		{"event_null", `{"event":null,"payload":"1"}`, false},
		{"event_newline_RED7", `{"event":"a\nb","payload":"1"}`, false},
		{"event_cr_RED7", `{"event":"a\rb","payload":"1"}`, false},
		{"event_number_RED7", `{"event":1,"payload":"1"}`, false},
		{"event_object_RED7", `{"event":{},"payload":"1"}`, false},
		{"event_true_RED7", `{"event":true,"payload":"1"}`, false},
		{"top_level_array", `[1,2]`, false},
		{"top_level_string", `"update"`, false},
		{"top_level_null", `null`, false},
		{"not_json_RED4", `not json`, true},
		{"truncated_RED4", `{"event":"x","payload":{"a":1}`, true},
		{"empty_RED4", ``, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, ok, err := ParseEvent([]byte(tt.raw))
			if ok {
				t.Errorf("ParseEvent delivered %q %q; want dropped", ev.Name, ev.Payload)
			}
			if (err != nil) != tt.invalid {
				t.Errorf("err = %v, want invalid %v", err, tt.invalid)
			}
		})
	}
}

func TestSystemEventNameSYS2(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`{"event":"kill"}`, "kill"},
		{`{"event":"kill","payload":null}`, "kill"},
		{`{"event":"filters_changed"}`, "filters_changed"},
		{`{"event":"something.else","payload":{"a":1}}`, "something.else"},
		{`{"event":"kill"`, ""},
		{`{"event":1}`, ""},
		{`{"payload":"kill"}`, ""},
		{`["kill"]`, ""},
		{`kill`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		if got := SystemEventName([]byte(tt.raw)); got != tt.want {
			t.Errorf("SystemEventName(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// The fixture is what Rails publishes for a remote status; parsing it as an
// update must give its canonical text through the fast path (ENC-2).
func TestParseEventStatusFixtureENC2(t *testing.T) {
	raw := statusMessage(t, false)
	ev, ok, err := ParseEvent(raw)
	if !ok || err != nil {
		t.Fatalf("ok %v err %v", ok, err)
	}
	status := bytes.TrimSpace(readStatusFixture(t))
	if !bytes.Equal(ev.Payload, status) {
		t.Errorf("Payload differs from the (canonical) fixture")
	}
	escaped, _, _ := ParseEvent(statusMessage(t, true))
	if !bytes.Equal(escaped.Payload, status) {
		t.Errorf("ActiveSupport-escaped fixture did not re-encode to the canonical text")
	}
	if acct, ok := ev.Value.Get("account"); !ok || acct.Kind != KindObject {
		t.Error("Value has no account object")
	}
	if strings.Contains(string(ev.Payload), `\u003c`) {
		t.Error(`canonical payload contains \u003c`)
	}
}
