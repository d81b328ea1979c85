package proto

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// The WebSocket side of the wire (§11): the handshake answers of the npm ws
// library the reference runs on, a client-frame decoder for the event loop,
// and the server frames. Client messages and fragment reassembly are in
// wsmessage.go.

// UpgradeError is a handshake the server refuses after authentication (WS-2).
// AppendUpgradeRefusal writes it as the ws library's abortHandshake does; the
// connection closes after it. The values CheckUpgrade returns are shared:
// compare them, never modify them.
type UpgradeError struct {
	Status  int    // 400 or 405
	Message string // the response body, the ws library's exact text
	// ExtraHeader is one more header line without its CRLF, or "".
	ExtraHeader string
}

// Error returns "proto: websocket handshake refused: <status> <message>". It
// never contains client bytes.
func (e *UpgradeError) Error() string {
	return "proto: websocket handshake refused: " + strconv.Itoa(e.Status) + " " + e.Message
}

var (
	errUpgradeMethod   = &UpgradeError{Status: 405, Message: "Invalid HTTP method"}
	errUpgradeHeader   = &UpgradeError{Status: 400, Message: "Invalid Upgrade header"}
	errUpgradeKey      = &UpgradeError{Status: 400, Message: "Missing or invalid Sec-WebSocket-Key header"}
	errUpgradeVersion  = &UpgradeError{Status: 400, Message: "Missing or invalid Sec-WebSocket-Version header", ExtraHeader: "Sec-WebSocket-Version: 13, 8"}
	errUpgradeProtocol = &UpgradeError{Status: 400, Message: "Invalid Sec-WebSocket-Protocol header"}
)

// CheckUpgrade validates an upgrade request after authentication (WS-2) and
// returns nil or the refusal. The checks and their order are the ws
// library's handleUpgrade:
//
//  1. the method is exactly GET (405);
//  2. Upgrade is "websocket", ignoring ASCII case (400);
//  3. Sec-WebSocket-Key is 22 base64 characters then "==", i.e. 16 bytes
//     (400);
//  4. Sec-WebSocket-Version, read as JavaScript's +value reads it, is 13 or 8
//     (400, with the header "Sec-WebSocket-Version: 13, 8");
//  5. Sec-WebSocket-Protocol, when present (even empty), is a comma-separated
//     list of RFC 7230 tokens without duplicates or empty elements (400).
//
// Deliberately stricter than the reference: a request with more than one
// Sec-WebSocket-Protocol line is refused. Node joins the lines with ", " and
// the ws library would judge the joined list, but Request keeps only the
// first line, so the list cannot be checked whole; such requests come from no
// browser.
func CheckUpgrade(r *Request) *UpgradeError {
	switch {
	case string(r.Method) != "GET":
		return errUpgradeMethod
	case !r.HasUpgrade || !equalFoldLower(r.Upgrade, "websocket"):
		return errUpgradeHeader
	case !validKey(r.SecWebSocketKey):
		return errUpgradeKey
	case !versionAccepted(r.SecWebSocketVersion):
		return errUpgradeVersion
	case r.HasSecWebSocketProtocol && (r.SecWebSocketProtocolRepeated || !validProtocols(r.SecWebSocketProtocol)):
		return errUpgradeProtocol
	}
	return nil
}

// validKey is the ws library's /^[+/0-9A-Za-z]{22}==$/: the base64 text of
// 16 bytes (the padding bits of the last character are not checked, as in
// the library).
func validKey(k []byte) bool {
	if len(k) != 24 || k[22] != '=' || k[23] != '=' {
		return false
	}
	for _, c := range k[:22] {
		if !isASCIIDigit(c) && !isASCIIAlpha(c) && c != '+' && c != '/' {
			return false
		}
	}
	return true
}

// versionAccepted reports whether JavaScript's ToNumber of the header text
// is 13 or 8, the ws library's test (+req.headers['sec-websocket-version']):
// "13", "13.0", "+13", "1.3e1" and "0xd" pass; "13a", "", "-13" and an absent
// header (NaN) do not. Node decodes header bytes as latin1, so a 0xA0 byte
// is a no-break space that ToNumber trims.
func versionAccepted(v []byte) bool {
	if v == nil {
		return false
	}
	v = trimJSSpace(v)
	if string(v) == "13" || string(v) == "8" {
		return true
	}
	if len(v) > 2 && v[0] == '0' {
		base := 0
		switch lowerASCII(v[1]) {
		case 'x':
			base = 16
		case 'o':
			base = 8
		case 'b':
			base = 2
		}
		if base != 0 {
			n := 0
			for _, c := range v[2:] {
				d, ok := fromHex(c)
				if !ok || int(d) >= base {
					return false
				}
				// The value only grows, so stop before it can overflow.
				if n = n*base + int(d); n > 13 {
					return false
				}
			}
			return n == 13 || n == 8
		}
	}
	if !isDecimalLiteral(v) {
		return false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return err == nil && (f == 13 || f == 8)
}

// isDecimalLiteral reports whether v is ECMAScript's StrDecimalLiteral
// without Infinity: [+-] digits [. digits] [e [+-] digits], where either
// side of the point may be empty but not both.
func isDecimalLiteral(v []byte) bool {
	i := 0
	if i < len(v) && (v[i] == '+' || v[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(v) && isASCIIDigit(v[i]); i++ {
		digits++
	}
	if i < len(v) && v[i] == '.' {
		for i++; i < len(v) && isASCIIDigit(v[i]); i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(v) && lowerASCII(v[i]) == 'e' {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		start := i
		for i < len(v) && isASCIIDigit(v[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(v)
}

func trimJSSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == 0xA0 || c >= '\n' && c <= '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// validProtocols is the ws library's subprotocol.parse: tokens separated by
// commas, spaces and tabs allowed around the commas only, no empty element,
// no duplicate. Header values reach it trimmed, as Node trims them.
func validProtocols(h []byte) bool {
	var small [8][]byte
	elems := small[:0]
	start, end := -1, -1
	for i, c := range h {
		switch {
		case end == -1 && tokenByte[c]:
			if start == -1 {
				start = i
			}
		case i != 0 && (c == ' ' || c == '\t'):
			if end == -1 && start != -1 {
				end = i
			}
		case c == ',':
			if start == -1 {
				return false
			}
			if end == -1 {
				end = i
			}
			elems = append(elems, h[start:end])
			start, end = -1, -1
		default:
			return false
		}
	}
	if start == -1 || end != -1 {
		return false
	}
	elems = append(elems, h[start:])
	return !hasDuplicate(elems)
}

// hasDuplicate compares pairwise while that is cheap and through a map past
// dupMapAt elements, so a hostile 16 KiB list costs O(n).
func hasDuplicate(elems [][]byte) bool {
	if len(elems) <= dupMapAt {
		for i := range elems {
			for j := range i {
				if bytes.Equal(elems[i], elems[j]) {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]struct{}, len(elems))
	for _, e := range elems {
		if _, dup := seen[string(e)]; dup {
			return true
		}
		seen[string(e)] = struct{}{}
	}
	return false
}

// FirstProtocol returns the first value of a Sec-WebSocket-Protocol list,
// trimmed of spaces and tabs: the subprotocol the ws library selects and the
// 101 echoes (WS-3). It returns nil for an absent or empty header. The result
// aliases header.
func FirstProtocol(header []byte) []byte {
	if i := bytes.IndexByte(header, ','); i >= 0 {
		header = header[:i]
	}
	if header = trimOWS(header); len(header) == 0 {
		return nil
	}
	return header
}

// AppendUpgradeRefusal appends the ws library's refusal of a handshake
// (WS-2): "HTTP/1.1 <status> <reason>", Connection: close, Content-Type:
// text/html, Content-Length, then e.ExtraHeader if any, and the message as
// the body (abortHandshake's header order). The caller closes the connection
// once it is flushed.
func AppendUpgradeRefusal(dst []byte, e *UpgradeError) []byte {
	dst = appendStatusLine(dst, e.Status)
	dst = append(dst, "Connection: close\r\nContent-Type: text/html\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(e.Message)), 10)
	dst = append(dst, "\r\n"...)
	if e.ExtraHeader != "" {
		dst = append(dst, e.ExtraHeader...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, e.Message...)
}

// AppendUpgradeAuthRefusal appends the reference's hand-written answer to an
// upgrade whose authentication failed (WS-5): status 401 or 500 (429 for
// X-9), no body, the §3.3 message in X-Error-Message. The caller closes the
// connection once it is flushed.
func AppendUpgradeAuthRefusal(dst []byte, requestID []byte, status int, message string) []byte {
	dst = appendStatusLine(dst, status)
	dst = append(dst, "Connection: close\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nX-Request-Id: "...)
	dst = append(dst, requestID...)
	dst = append(dst, "\r\nX-Error-Message: "...)
	dst = append(dst, message...)
	return append(dst, "\r\n\r\n"...)
}

// AppendSwitchingProtocols appends the 101 answer (WS-3) in the ws library's
// order, with the X-Request-Id Mastodon adds: Upgrade, Connection,
// Sec-WebSocket-Accept computed from key, Sec-WebSocket-Protocol when
// protocol is not empty (pass FirstProtocol of the request's header), then
// X-Request-Id. No Date, X-Powered-By or CORS header.
func AppendSwitchingProtocols(dst []byte, key []byte, protocol []byte, requestID []byte) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = appendAcceptKey(dst, key)
	dst = append(dst, "\r\n"...)
	if len(protocol) > 0 {
		dst = append(dst, "Sec-WebSocket-Protocol: "...)
		dst = append(dst, protocol...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "X-Request-Id: "...)
	dst = append(dst, requestID...)
	return append(dst, "\r\n\r\n"...)
}

// wsGUID is RFC 6455's key suffix (§1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// appendAcceptKey appends base64(SHA-1(key + wsGUID)) (RFC 6455 §4.2.2).
// gobwas/ws keeps its version unexported. A valid key is 24 bytes, so the
// input fits a stack buffer and nothing is allocated.
func appendAcceptKey(dst, key []byte) []byte {
	var sum [sha1.Size]byte
	if len(key) <= 64-len(wsGUID) {
		var in [64]byte
		n := copy(in[:], key)
		n += copy(in[n:], wsGUID)
		sum = sha1.Sum(in[:n])
	} else {
		h := sha1.New()
		h.Write(key)
		h.Write([]byte(wsGUID))
		h.Sum(sum[:0])
	}
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// Static server frames, shared by every connection. Never modify them.
var (
	// PingFrame is the keep-alive ping with an empty payload (WS-17).
	PingFrame = []byte{0x89, 0x00}
	// CloseFrameEmpty is a close frame without status code, sent on kill
	// (§11.7); the client reports 1005.
	CloseFrameEmpty = []byte{0x88, 0x00}
)

// AppendFrameHeader appends the header of an unmasked, final server frame
// (WS-6) carrying length payload bytes, in the shortest length encoding.
// length must not be negative.
func AppendFrameHeader(dst []byte, op ws.OpCode, length int) []byte {
	b0 := 0x80 | byte(op)&0x0f
	switch {
	case length <= 125:
		return append(dst, b0, byte(length))
	case length <= math.MaxUint16:
		return append(dst, b0, 126, byte(length>>8), byte(length))
	}
	return binary.BigEndian.AppendUint64(append(dst, b0, 127), uint64(length))
}

// AppendTextFrame appends payload as one unmasked, unfragmented text frame
// (WS-6). It does not allocate when dst has room.
func AppendTextFrame(dst, payload []byte) []byte {
	dst = AppendFrameHeader(dst, ws.OpText, len(payload))
	return append(dst, payload...)
}

// AppendCloseFrame appends a close frame. Code 0 gives an empty payload
// (CloseFrameEmpty, the kill of §11.7); otherwise the payload is the code and
// reason, the reason cut at a character boundary to the 123 bytes a control
// frame leaves for it. Examples: 1003 with the text of WS-13, 1013 "slow
// consumer" (X-4), 1001 "server shutting down" (X-5), and a bare code for
// the protocol errors of ParseFrame, as the reference sends them.
func AppendCloseFrame(dst []byte, code ws.StatusCode, reason string) []byte {
	return appendCloseFrame(dst, code, reason)
}

// AppendCloseReply appends the answer to a client's close frame (WS-16)
// from what ParseClosePayload returned: an empty close for an empty one
// (code 0), else the client's code and reason, which is what the ws library
// echoes (receiverOnConclude calls close(code, reason)).
func AppendCloseReply(dst []byte, code ws.StatusCode, reason []byte) []byte {
	return appendCloseFrame(dst, code, reason)
}

func appendCloseFrame[T string | []byte](dst []byte, code ws.StatusCode, reason T) []byte {
	if code == 0 {
		return append(dst, CloseFrameEmpty...)
	}
	const room = ws.MaxControlFramePayloadSize - 2
	if len(reason) > room {
		n := room
		for n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		reason = reason[:n]
	}
	dst = append(dst, 0x80|byte(ws.OpClose), byte(2+len(reason)), byte(code>>8), byte(code))
	return append(dst, reason...)
}

// Frame is one decoded client frame. Payload is unmasked in place inside the
// buffer given to ParseFrame: it is borrowed and dies when the caller
// discards those bytes.
type Frame struct {
	Fin     bool
	Op      ws.OpCode
	Payload []byte
}

// CloseError is a reason to close a WebSocket connection, found while
// decoding what the client sent. Code is the close code; Reason is the close
// frame's reason text, empty for every error of this package because the
// reference (the ws library's receiverOnError) sends the code alone. Error()
// names the rule broken, for logs; it never contains client bytes. The
// values this package returns are shared: compare them, never modify them.
type CloseError struct {
	Code   ws.StatusCode
	Reason string
	detail string // the rule broken; fixed text
}

func (e *CloseError) Error() string {
	s := "proto: websocket close " + strconv.Itoa(int(e.Code))
	switch {
	case e.detail != "":
		s += ": " + e.detail
	case e.Reason != "":
		s += ": " + e.Reason
	}
	return s
}

func protocolError(detail string) *CloseError {
	return &CloseError{Code: ws.StatusProtocolError, detail: detail}
}

var (
	errFrameRSV        = protocolError("RSV bit set without a negotiated extension")
	errFrameOpcode     = protocolError("reserved opcode")
	errFrameControlFin = protocolError("fragmented control frame")
	errFrameControlLen = protocolError("control frame payload over 125 bytes")
	errFrameUnmasked   = protocolError("unmasked client frame")
	errFrameLengthMSB  = protocolError("64-bit payload length with the most significant bit set")
	errFrameTooBig     = &CloseError{Code: ws.StatusMessageTooBig, detail: "frame payload over the message limit"}
)

// maxFrameOverhead is the longest frame header: 2 bytes, a 64-bit length and
// the mask.
const maxFrameOverhead = 14

// ParseFrame decodes one client frame from buf (RFC 6455 §5.2). On success n
// is the frame's length; bytes after it are left alone. It returns
// ErrNeedMore while the frame is incomplete, and a *CloseError as soon as
// the bytes seen break a rule, before the rest arrives:
//
//	1002  an RSV bit set (no extension is ever negotiated, WS-4), a reserved
//	      opcode, a control frame that is fragmented or whose 7-bit length is
//	      over 125 (extended lengths included, as the ws library does), an
//	      unmasked frame, a 64-bit length with its top bit set;
//	1009  a data frame declaring more than maxPayload bytes, reported once
//	      the length field is in, without waiting for the payload.
//
// maxPayload bounds data frames only (control frames are bounded at 125 by
// the RFC); at most 0 admits only empty data frames. Non-minimal length
// encodings are accepted, as the RFC allows. Continuation rules need state
// and are the Assembler's.
//
// The payload is unmasked in place, once, when the whole frame is in buf, so
// the caller must discard the n bytes before parsing again. ParseFrame never
// allocates and keeps nothing.
func ParseFrame(buf []byte, maxPayload int) (f Frame, n int, err error) {
	if len(buf) < 2 {
		return Frame{}, 0, ErrNeedMore
	}
	b0, b1 := buf[0], buf[1]
	fin, op, len7 := b0&0x80 != 0, ws.OpCode(b0&0x0f), int(b1&0x7f)
	switch {
	case b0&0x70 != 0:
		return Frame{}, 0, errFrameRSV
	case op.IsReserved():
		return Frame{}, 0, errFrameOpcode
	case op.IsControl() && !fin:
		return Frame{}, 0, errFrameControlFin
	case op.IsControl() && len7 > ws.MaxControlFramePayloadSize:
		return Frame{}, 0, errFrameControlLen
	case b1&0x80 == 0:
		return Frame{}, 0, errFrameUnmasked
	}
	hdr, length := 2, uint64(len7)
	switch len7 {
	case 126:
		if len(buf) < 4 {
			return Frame{}, 0, ErrNeedMore
		}
		hdr, length = 4, uint64(binary.BigEndian.Uint16(buf[2:]))
	case 127:
		if len(buf) < 10 {
			return Frame{}, 0, ErrNeedMore
		}
		hdr, length = 10, binary.BigEndian.Uint64(buf[2:])
		if length>>63 != 0 {
			return Frame{}, 0, errFrameLengthMSB
		}
	}
	if op.IsData() && length > uint64(max(maxPayload, 0)) || length > math.MaxInt-maxFrameOverhead {
		return Frame{}, 0, errFrameTooBig
	}
	hdr += 4 // the masking key
	n = hdr + int(length)
	if len(buf) < n {
		return Frame{}, 0, ErrNeedMore
	}
	payload := buf[hdr:n:n]
	ws.Cipher(payload, [4]byte(buf[hdr-4:hdr]), 0)
	return Frame{Fin: fin, Op: op, Payload: payload}, n, nil
}

var (
	errCloseLength = protocolError("close payload of one byte")
	errCloseCode   = protocolError("close code not allowed on the wire")
	errCloseReason = &CloseError{Code: ws.StatusInvalidFramePayloadData, detail: "close reason is not UTF-8"}
)

// ParseClosePayload decodes the payload of a client's close frame (RFC 6455
// §5.5.1). An empty payload gives code 0 (the client sent no code; the peer
// reports 1005). Otherwise: one byte is 1002; a code not allowed on the wire
// is 1002 (valid are 1000-1003, 1007-1014 and 3000-4999, the ws library's
// isValidStatusCode); a reason that is not UTF-8 is 1007. reason aliases p.
// Answer with AppendCloseReply.
func ParseClosePayload(p []byte) (code ws.StatusCode, reason []byte, err *CloseError) {
	switch len(p) {
	case 0:
		return 0, nil, nil
	case 1:
		return 0, nil, errCloseLength
	}
	code = ws.StatusCode(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return 0, nil, errCloseCode
	}
	if reason = p[2:]; !utf8.Valid(reason) {
		return 0, nil, errCloseReason
	}
	return code, reason, nil
}

// validCloseCode excludes the codes RFC 6455 §7.4 reserves for reports
// (1005, 1006, 1015), 1004 and every unassigned protocol code.
func validCloseCode(c ws.StatusCode) bool {
	switch {
	case c >= ws.StatusNormalClosure && c <= ws.StatusUnsupportedData:
		return true
	case c >= ws.StatusInvalidFramePayloadData && c <= 1014: // 1012-1014 are IANA-registered
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}
