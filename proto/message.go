package proto

import (
	"math"
	"strings"
)

// Event is one Redis message decoded once for every recipient (RED-4..RED-8,
// RED-5). It is immutable after ParseEvent and owns all its memory, so it can
// be shared by every loop.
type Event struct {
	// Name is the "event" value as a JavaScript string (generalized UTF-8,
	// see Value); it never contains CR or LF (RED-7).
	Name string
	// Payload is the payload text as SSE clients see it: for a string payload
	// the string itself as valid UTF-8 (ENC-4, RED-4); otherwise its
	// canonical JSON (ENC-1, ENC-5), which is the raw Redis text when that is
	// already canonical (ENC-2). The one exception follows the reference: an
	// overflowing number literal is Infinity or -Infinity here (and null in
	// the WebSocket envelope).
	Payload []byte
	// PayloadIsString is true when the payload is a JSON string. WebSocket
	// envelopes quote every payload except a number or true (WS-6, ENC-5);
	// see AppendWSEvent.
	PayloadIsString bool
	// Value is the parsed payload for per-recipient filtering. A string
	// payload stays a string even when its text is a JSON object (the legacy
	// Rails format): filtering decides what to do with it (FLT-1).
	Value Value
}

// ParseEvent decodes a message of a stream channel. err != nil means the
// message is not JSON after UTF-8 repair: log it and drop it (RED-4).
// ok == false without an error means drop silently: the message is not an
// object, its event or payload is falsy (RED-6), or the event is not a
// string or contains CR or LF (RED-7). Other keys are ignored. ParseEvent
// does not retain raw.
func ParseEvent(raw []byte) (ev Event, ok bool, err error) {
	p := newJSONParser(raw, "payload")
	root, err := p.parseDocument()
	if err != nil {
		return Event{}, false, err
	}
	name, _ := root.Get("event")
	payload, _ := root.Get("payload")
	if name == nil || payload == nil || !name.Truthy() || !payload.Truthy() ||
		name.Kind != KindString || strings.ContainsAny(name.Str, "\r\n") {
		return Event{}, false, nil
	}
	ev = Event{Name: name.Str, Value: *payload}
	switch {
	case payload.Kind == KindString:
		ev.PayloadIsString = true
		ev.Payload = appendWellFormed(make([]byte, 0, len(payload.Str)), payload.Str)
	case payload.Kind == KindNumber && math.IsInf(payload.Num, 0):
		// SSE writes the number with JavaScript's String(), which spells an
		// overflowed literal Infinity where JSON.stringify writes null (SSE-4).
		ev.Payload = []byte("Infinity")
		if payload.Num < 0 {
			ev.Payload = []byte("-Infinity")
		}
	case p.trackCanon:
		ev.Payload = []byte(p.s[p.trackStart:p.trackEnd])
	default:
		// Re-encoding rarely grows the text (\u003c shrinks, 1e2 grows).
		ev.Payload = AppendCanonical(make([]byte, 0, p.trackEnd-p.trackStart+16), payload)
	}
	return ev, true, nil
}

// SystemEventName returns the "event" string of a message on a system
// channel (timeline:access_token:<id>, timeline:system:<a>), such as "kill"
// or "filters_changed"; the payload is irrelevant there (SYS-2, SYS-4). It
// returns "" when the message is not a JSON object with a string event.
func SystemEventName(raw []byte) string {
	root, err := ParseJSON(raw)
	if err != nil {
		return ""
	}
	if name, ok := root.Get("event"); ok && name.Kind == KindString {
		return name.Str
	}
	return ""
}
