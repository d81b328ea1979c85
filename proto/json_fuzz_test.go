package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// jsonFuzzSeeds feeds every fuzz target the unit-test inputs.
func jsonFuzzSeeds(f *testing.F) {
	for _, tt := range eventCases {
		f.Add([]byte(tt.raw))
	}
	f.Add(statusMessage(f, false))
	f.Add(statusMessage(f, true))
	for _, s := range []string{`{"1":1,"0":[],"a":{"b":"\ud800\udc00\udc00"}}`, `[1e400,-0,5e-324,1.50]`,
		"\"\xe2\x82\xff\"", `{"a":1,"a":2}`, `"\u2028\/"`, `not json`, `[`, `{"event":"x","payload":"a\r\nb"}`} {
		f.Add([]byte(s))
	}
}

// FuzzCanonical checks ParseJSON and AppendCanonical (ENC-1, RED-4) against
// encoding/json where the two agree, and against themselves:
//   - accept/reject matches json.Valid, except past MaxJSONDepth (we are
//     stricter than its 10000 levels on purpose);
//   - canonical output is valid UTF-8, re-parses, and is a fixed point;
//   - for valid UTF-8 input that encoding/json can decode, the input and
//     our output decode to equal values. encoding/json differs from
//     JSON.parse on ill-formed UTF-8 (one U+FFFD per byte) and rejects
//     overflowing numbers, so those inputs are left out of this check.
func FuzzCanonical(f *testing.F) {
	jsonFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseJSON(data)
		var je *JSONError
		if errors.As(err, &je) && je.Reason == reasonTooDeep {
			return
		}
		if valid := json.Valid(data); valid != (err == nil) {
			t.Fatalf("ParseJSON error %v, json.Valid %v", err, valid)
		}
		if err != nil {
			return
		}
		out := AppendCanonical(nil, &v)
		if !utf8.Valid(out) {
			t.Fatalf("canonical output is not valid UTF-8: %q", out)
		}
		v2, err := ParseJSON(out)
		if err != nil {
			t.Fatalf("canonical output %q does not parse: %v", out, err)
		}
		if out2 := AppendCanonical(nil, &v2); !bytes.Equal(out, out2) {
			t.Fatalf("not idempotent:\n%q\n%q", out, out2)
		}
		if !utf8.Valid(data) {
			return
		}
		var want, got any
		if json.Unmarshal(data, &want) != nil {
			return
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("encoding/json rejects canonical %q: %v", out, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("value changed:\nin  %q\nout %q", data, out)
		}
	})
}

// FuzzParseEvent checks the event decoder never panics and that whatever it
// delivers is well-formed on both transports (ENC-2, SSE-6, WS-6).
func FuzzParseEvent(f *testing.F) {
	jsonFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, ok, err := ParseEvent(data)
		if err != nil && ok {
			t.Fatal("ok with an error")
		}
		if !ok {
			return
		}
		if !ev.PayloadIsString && ev.Value.Kind != KindNumber {
			if want := AppendCanonical(nil, &ev.Value); !bytes.Equal(ev.Payload, want) {
				t.Fatalf("Payload %q, canonical %q", ev.Payload, want)
			}
		}
		if sse := AppendSSEEvent(nil, ev.Name, ev.Payload); !utf8.Valid(sse) {
			t.Fatalf("SSE output is not valid UTF-8: %q", sse)
		}
		ws := AppendWSEvent(nil, []byte(`["public"]`), &ev)
		var env struct {
			Stream  []string
			Event   string
			Payload json.RawMessage
		}
		if !utf8.Valid(ws) || json.Unmarshal(ws, &env) != nil || env.Stream[0] != "public" {
			t.Fatalf("WebSocket envelope is not valid JSON: %q", ws)
		}
	})
}

// FuzzRepairUTF8 compares RepairUTF8 with the definition of maximal
// subparts, and checks that ParseJSON's in-string repair is the same as
// repairing the whole message first (RED-4).
func FuzzRepairUTF8(f *testing.F) {
	jsonFuzzSeeds(f)
	f.Add([]byte("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got := RepairUTF8(nil, data)
		if want := repairUTF8Reference(data); !bytes.Equal(got, want) {
			t.Fatalf("RepairUTF8(%q) = %q, want %q", data, got, want)
		}
		v1, err1 := ParseJSON(data)
		v2, err2 := ParseJSON(got)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("raw parse error %v, repaired parse error %v", err1, err2)
		}
		if err1 == nil && !bytes.Equal(AppendCanonical(nil, &v1), AppendCanonical(nil, &v2)) {
			t.Fatalf("raw and repaired parses differ for %q", data)
		}
	})
}
