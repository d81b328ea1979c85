package proto

import (
	"bytes"
	"strconv"
)

// Static stream bytes, built once and shared by every connection. Never
// modify them.
var (
	// SSEPreamble is the first body text of every SSE stream (SSE-2).
	SSEPreamble = []byte(":)\n")
	// SSEHeartbeat is the comment written at least every 15 s (SSE-7).
	SSEHeartbeat = []byte(":thump\n\n")
	// ChunkedEnd terminates a chunked response body (SSE-8).
	ChunkedEnd = []byte("0\r\n\r\n")
)

// AppendSSEEvent appends one SSE event, "event: <name>\ndata: <payload>\n\n"
// (SSE-3). A payload containing CR, LF or CRLF is written as one "data: "
// line per piece, which EventSource joins back with LF (SSE-5). name must
// not contain CR or LF (ParseEvent guarantees it, RED-7); lone surrogates in
// it are written as U+FFFD, as Node does, so the output stays valid UTF-8
// for a valid payload (SSE-6).
func AppendSSEEvent(dst []byte, name string, payload []byte) []byte {
	dst = append(dst, "event: "...)
	dst = appendWellFormed(dst, name)
	dst = append(dst, '\n')
	for {
		i := bytes.IndexAny(payload, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, payload[:i]...)
		dst = append(dst, '\n')
		if payload[i] == '\r' && i+1 < len(payload) && payload[i+1] == '\n' {
			i++
		}
		payload = payload[i+1:]
	}
	dst = append(dst, "data: "...)
	dst = append(dst, payload...)
	return append(dst, '\n', '\n')
}

// AppendChunk appends body as one HTTP/1.1 chunk: the length in lowercase
// hex, CRLF, body, CRLF. An empty body appends nothing, because a zero-length
// chunk would end the response; ChunkedEnd does that explicitly.
func AppendChunk(dst, body []byte) []byte {
	if len(body) == 0 {
		return dst
	}
	dst = strconv.AppendUint(dst, uint64(len(body)), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, body...)
	return append(dst, '\r', '\n')
}

// AppendWSEvent appends the text of the WebSocket message for ev (WS-6):
// {"stream":<streamJSON>,"event":<name>,"payload":<payload>}. streamJSON is
// the already encoded stream-name array (WS-7), e.g. ["public"] or
// ["hashtag","Café"].
//
// Like the reference, which sends JSON.stringify({stream, event, payload})
// after turning object payloads into their JSON text, the payload is a JSON
// string for string, object and array payloads (a client parses an update's
// payload a second time), and the bare canonical text only for a number or
// true (ENC-5). A string payload is quoted from ev.Value.Str so that a lone
// surrogate is written as \udxxx, as JSON.stringify does.
func AppendWSEvent(dst []byte, streamJSON []byte, ev *Event) []byte {
	dst = append(dst, `{"stream":`...)
	dst = append(dst, streamJSON...)
	dst = append(dst, `,"event":`...)
	dst = AppendQuoted(dst, ev.Name)
	dst = append(dst, `,"payload":`...)
	switch {
	case ev.PayloadIsString && ev.Value.Kind == KindString:
		dst = AppendQuoted(dst, ev.Value.Str)
	case !ev.PayloadIsString && ev.Value.Kind == KindNumber:
		dst = appendNumber(dst, ev.Value.Num) // null for ±Inf, unlike Payload
	case !ev.PayloadIsString && ev.Value.Kind == KindTrue:
		dst = append(dst, "true"...)
	default:
		dst = appendQuoted(dst, ev.Payload)
	}
	return append(dst, '}')
}
