// Package proto turns bytes into requests and events into bytes. It never
// touches a socket: netpoll feeds it what gnet buffered and writes what it
// returns.
package proto

import (
	"bytes"
	"errors"
	"strconv"
)

// ErrNeedMore means the buffer holds an incomplete request head; call again
// with more bytes.
var ErrNeedMore = errors.New("proto: need more data")

// MaxHeaderBytes caps a request head: request line, headers and the final
// CRLF, like Node's http.maxHeaderSize. Past it the answer is 431 (HTTP-8).
const MaxHeaderBytes = 16 << 10

// Error is a request the server must refuse. Status and Reason are the status
// line of the connection-level answer (HTTP-8), after which the connection is
// closed:
//
//	400 Bad Request                      malformed or ambiguous head
//	431 Request Header Fields Too Large  head longer than MaxHeaderBytes
//	501 Not Implemented                  Transfer-Encoding other than one "chunked"
//	505 HTTP Version Not Supported       HTTP/d.d other than 1.0 and 1.1
//
// The values ParseRequest returns are shared: compare them, never modify them.
type Error struct {
	Status int
	Reason string
	detail string // which rule was broken; fixed text, never client bytes
}

// Error returns "proto: <status> <reason>: <rule broken>". It never contains
// client bytes, which may carry access tokens (STYLE 14).
func (e *Error) Error() string {
	s := "proto: " + strconv.Itoa(e.Status) + " " + e.Reason
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

func badRequest(detail string) *Error {
	return &Error{Status: 400, Reason: "Bad Request", detail: detail}
}

var (
	errMethod          = badRequest("method is not a token")
	errRequestLine     = badRequest("malformed request line")
	errTarget          = badRequest("malformed request target")
	errVersion         = badRequest("malformed HTTP version")
	errBareLF          = badRequest("line not terminated by CRLF")
	errObsFold         = badRequest("obsolete header line folding")
	errNoColon         = badRequest("header line without colon")
	errHeaderName      = badRequest("header name is not a token")
	errSpaceColon      = badRequest("whitespace in header name or before colon")
	errHeaderValue     = badRequest("control character in header value")
	errContentLength   = badRequest("Content-Length is not a decimal number")
	errTwoLengths      = badRequest("Content-Length headers disagree")
	errSmuggling       = badRequest("both Content-Length and Transfer-Encoding")
	errTransferHTTP10  = badRequest("Transfer-Encoding in an HTTP/1.0 request")
	errMissingHost     = badRequest("HTTP/1.1 request without Host")
	errTwoHosts        = badRequest("more than one Host header")
	errHeadTooLarge    = &Error{Status: 431, Reason: "Request Header Fields Too Large", detail: "request head exceeds 16 KiB"}
	errTransferCoding  = &Error{Status: 501, Reason: "Not Implemented", detail: "Transfer-Encoding other than a single chunked"}
	errVersionNotHTTP1 = &Error{Status: 505, Reason: "HTTP Version Not Supported", detail: "only HTTP/1.0 and HTTP/1.1 are served"}
)

// Request is one parsed request head. Every slice points into the buffer given
// to ParseRequest (the root path of an absolute-form target aside): the bytes
// are borrowed and die when the caller discards them, so anything kept longer
// (a token, a stream name) must be copied into a field the connection owns.
// A header that is absent is nil; one that is present but empty is non-nil
// and empty. The first line of a repeated header wins, as Node does for
// Authorization; Node joins repeats of the others with ", ", which needs a
// copy, and SecWebSocketProtocolRepeated flags the one repeat that changes an
// answer (WS-2).
type Request struct {
	Method []byte
	// Path is the raw request path, never percent-decoded (HTTP-1), without
	// the query. For absolute-form targets it is the path part ("/" if none);
	// for "OPTIONS *" it is "*".
	Path []byte
	// RawQuery is what follows the first '?', without it.
	RawQuery   []byte
	ProtoMinor int // 0 for HTTP/1.0, 1 for HTTP/1.1

	// KeepAlive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
	// "Connection: keep-alive" (and no "close"). Every Connection line counts.
	KeepAlive bool
	// ConnectionUpgrade is set when any Connection line lists "upgrade".
	ConnectionUpgrade bool

	Upgrade    []byte
	HasUpgrade bool

	Authorization    []byte
	HasAuthorization bool

	SecWebSocketProtocol    []byte
	HasSecWebSocketProtocol bool
	// SecWebSocketProtocolRepeated reports more than one such line. Node joins
	// them with ", ", so a caller wanting Node's view treats the value as a
	// list that is not a single token (AUTH-1, WS-2).
	SecWebSocketProtocolRepeated bool

	SecWebSocketKey        []byte
	SecWebSocketVersion    []byte
	SecWebSocketExtensions []byte

	AccessControlRequestHeaders []byte
	HasACRH                     bool

	// XForwardedFor is the last such line: proxies append to the end, and
	// the client address is found walking from the right (LOG-5).
	XForwardedFor []byte
	// XRequestID is only believed from trusted proxies (LOG-1).
	XRequestID  []byte
	LastEventID []byte
	Origin      []byte

	ContentLength int64 // -1 when absent
	// Chunked: "Transfer-Encoding: chunked" is present. The body framing is
	// the caller's to deal with (HTTP-10); the parser only reads the head.
	Chunked bool
}

// Reset clears r for the next request.
func (r *Request) Reset() {
	*r = Request{ContentLength: -1}
}

// rootPath is the Path of an absolute-form target without a path, as Node's
// url.parse gives it. Shared and read-only.
var rootPath = []byte{'/'}

// headState is what the header loop needs to remember but Request does not
// expose.
type headState struct {
	hosts         int
	hasLength     bool
	lengthValue   []byte
	transfer      bool
	connClose     bool
	connKeepAlive bool
}

// ParseRequest parses one request head from buf. On success n is the length
// of the head through its blank line; bytes after it (a body, a pipelined
// request) are left alone. r's slices point into buf (see Request).
//
// It returns ErrNeedMore while the head is incomplete and len(buf) <=
// MaxHeaderBytes, and an *Error as soon as the bytes seen already break a
// rule, or when more than MaxHeaderBytes are buffered without a complete head
// (431). Each complete line is checked when it arrives, so a bad request is
// refused before the client finishes sending it. ParseRequest never
// allocates, and is safe to call from any goroutine that owns buf and r.
//
// Where RFC 9112 lets a server choose, it refuses: bare LF line ends,
// obs-fold, Content-Length with Transfer-Encoding, Transfer-Encoding in
// HTTP/1.0, any coding but chunked. Like llhttp it skips empty lines before
// the request line. Unlike llhttp it takes any token as a method (the stream
// gate answers unknown ones, HTTP-13).
func ParseRequest(buf []byte, r *Request) (n int, err error) {
	r.Reset()
	b := buf
	if len(b) > MaxHeaderBytes {
		b = b[:MaxHeaderBytes]
	}
	n, err = parseHead(b, r)
	if err == ErrNeedMore && len(buf) > MaxHeaderBytes {
		err = errHeadTooLarge
	}
	if err != nil {
		r.Reset()
		return 0, err
	}
	return n, nil
}

func parseHead(b []byte, r *Request) (int, error) {
	off := 0
	for off < len(b) && (b[off] == '\r' || b[off] == '\n') {
		if b[off] == '\n' {
			return 0, errBareLF
		}
		if off+1 == len(b) {
			return 0, ErrNeedMore
		}
		if b[off+1] != '\n' {
			return 0, errBareLF
		}
		off += 2
	}
	off, err := parseRequestLine(b, off, r)
	if err != nil {
		return 0, err
	}
	var st headState
	for {
		line, next, err := readLine(b, off)
		if err != nil {
			return 0, err
		}
		off = next
		if len(line) == 0 {
			break
		}
		if err := r.parseHeaderLine(line, &st); err != nil {
			return 0, err
		}
	}
	return off, r.finish(&st)
}

// readLine returns the line starting at off without its CRLF, and the offset
// of the next line. llhttp in strict mode also refuses a bare LF; accepting it
// would let a proxy and Sluice disagree on where a header ends.
func readLine(b []byte, off int) (line []byte, next int, err error) {
	i := bytes.IndexByte(b[off:], '\n')
	if i < 0 {
		return nil, 0, ErrNeedMore
	}
	end := off + i
	if i == 0 || b[end-1] != '\r' {
		return nil, 0, errBareLF
	}
	return b[off : end-1], end + 1, nil
}

// parseRequestLine parses "METHOD SP request-target SP HTTP/1.x CRLF". The
// method is checked as bytes arrive, so a TLS hello or other binary noise on
// the plain port is refused at once instead of at the header timeout.
func parseRequestLine(b []byte, off int, r *Request) (int, error) {
	i := off
	for i < len(b) && tokenByte[b[i]] {
		i++
	}
	if i == len(b) {
		return 0, ErrNeedMore
	}
	if i == off || b[i] != ' ' {
		return 0, errMethod
	}
	r.Method = b[off:i]
	line, next, err := readLine(b, i+1)
	if err != nil {
		return 0, err
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return 0, errRequestLine
	}
	// The version first: "PRI * HTTP/2.0" deserves 505, not a target error.
	if r.ProtoMinor, err = parseVersion(line[sp+1:]); err != nil {
		return 0, err
	}
	if err := r.parseTarget(line[:sp]); err != nil {
		return 0, err
	}
	return next, nil
}

// parseVersion accepts HTTP/1.0 and HTTP/1.1. Any other well-formed
// HTTP/d.d, including the HTTP/2 preface, is 505.
func parseVersion(v []byte) (minor int, err error) {
	if len(v) != len("HTTP/1.1") || string(v[:5]) != "HTTP/" || v[6] != '.' ||
		!isASCIIDigit(v[5]) || !isASCIIDigit(v[7]) {
		return 0, errVersion
	}
	if v[5] != '1' || v[7] > '1' {
		return 0, errVersionNotHTTP1
	}
	return int(v[7] - '0'), nil
}

// parseTarget splits the request-target into Path and RawQuery. It accepts
// origin-form, absolute-form (what a forward proxy sends) and "*" for OPTIONS;
// authority-form (CONNECT) is refused: Sluice is no proxy.
func (r *Request) parseTarget(t []byte) error {
	for _, c := range t {
		// Bytes >= 0x80 pass: llhttp outside strict mode lets them through,
		// and the path is compared raw anyway.
		if c <= ' ' || c == 0x7f {
			return errTarget
		}
	}
	switch {
	case t[0] == '/':
	case len(t) == 1 && t[0] == '*':
		if string(r.Method) != "OPTIONS" {
			return errTarget
		}
		r.Path = t
		return nil
	default:
		rest, ok := cutScheme(t)
		if !ok {
			return errTarget
		}
		// The authority runs to the first '/' or '?'; it is not validated
		// because routing never reads it (like Host).
		i := bytes.IndexAny(rest, "/?")
		if i < 0 || rest[i] == '?' {
			r.Path = rootPath
			if i >= 0 {
				r.RawQuery = rest[i+1:]
			}
			return nil
		}
		t = rest[i:]
	}
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		r.Path, r.RawQuery = t[:q], t[q+1:]
	} else {
		r.Path = t
	}
	return nil
}

// cutScheme removes "scheme://" (RFC 3986 scheme syntax) from t.
func cutScheme(t []byte) (rest []byte, ok bool) {
	i := bytes.Index(t, []byte("://"))
	if i <= 0 || !isASCIIAlpha(t[0]) {
		return nil, false
	}
	for _, c := range t[1:i] {
		if !isASCIIAlpha(c) && !isASCIIDigit(c) && c != '+' && c != '-' && c != '.' {
			return nil, false
		}
	}
	return t[i+3:], true
}

// parseHeaderLine checks one "name: value" line and records the headers
// Sluice reads.
func (r *Request) parseHeaderLine(line []byte, st *headState) error {
	if line[0] == ' ' || line[0] == '\t' {
		// obs-fold (RFC 9112 §5.2): a server may refuse it, and Node
		// clients never send it.
		return errObsFold
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return errNoColon
	}
	name := line[:colon]
	for i, c := range name {
		if tokenByte[c] {
			continue
		}
		if (c == ' ' || c == '\t') && i > 0 {
			// RFC 9112 §5.1 requires a 400: proxies disagree on such names.
			return errSpaceColon
		}
		return errHeaderName
	}
	if len(name) == 0 {
		return errHeaderName
	}
	value := line[colon+1:]
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return errHeaderValue
		}
	}
	return r.setHeader(name, trimOWS(value), st)
}

func (r *Request) setHeader(name, value []byte, st *headState) error {
	switch {
	case equalFoldLower(name, "host"):
		if st.hosts++; st.hosts > 1 {
			return errTwoHosts
		}
	case equalFoldLower(name, "connection"):
		st.connClose = st.connClose || HasToken(value, "close")
		st.connKeepAlive = st.connKeepAlive || HasToken(value, "keep-alive")
		r.ConnectionUpgrade = r.ConnectionUpgrade || HasToken(value, "upgrade")
	case equalFoldLower(name, "authorization"):
		if !r.HasAuthorization {
			r.Authorization, r.HasAuthorization = value, true
		}
	case equalFoldLower(name, "upgrade"):
		if !r.HasUpgrade {
			r.Upgrade, r.HasUpgrade = value, true
		}
	case equalFoldLower(name, "sec-websocket-key"):
		r.SecWebSocketKey = keepFirst(r.SecWebSocketKey, value)
	case equalFoldLower(name, "sec-websocket-version"):
		r.SecWebSocketVersion = keepFirst(r.SecWebSocketVersion, value)
	case equalFoldLower(name, "sec-websocket-protocol"):
		if r.HasSecWebSocketProtocol {
			r.SecWebSocketProtocolRepeated = true
		} else {
			r.SecWebSocketProtocol, r.HasSecWebSocketProtocol = value, true
		}
	case equalFoldLower(name, "sec-websocket-extensions"):
		r.SecWebSocketExtensions = keepFirst(r.SecWebSocketExtensions, value)
	case equalFoldLower(name, "origin"):
		r.Origin = keepFirst(r.Origin, value)
	case equalFoldLower(name, "x-forwarded-for"):
		r.XForwardedFor = value
	case equalFoldLower(name, "x-request-id"):
		r.XRequestID = keepFirst(r.XRequestID, value)
	case equalFoldLower(name, "last-event-id"):
		r.LastEventID = keepFirst(r.LastEventID, value)
	case equalFoldLower(name, "access-control-request-headers"):
		if !r.HasACRH {
			r.AccessControlRequestHeaders, r.HasACRH = value, true
		}
	case equalFoldLower(name, "content-length"):
		return r.setContentLength(value, st)
	case equalFoldLower(name, "transfer-encoding"):
		// Like net/http and nginx, only one field saying exactly "chunked":
		// anything else is where request smuggling lives.
		if st.transfer || !equalFoldLower(value, "chunked") {
			return errTransferCoding
		}
		st.transfer, r.Chunked = true, true
	}
	return nil
}

func keepFirst(have, value []byte) []byte {
	if have != nil {
		return have
	}
	return value
}

// setContentLength accepts repeated Content-Length lines only if they are
// byte-identical (RFC 9110 §8.6, as net/http does).
func (r *Request) setContentLength(value []byte, st *headState) error {
	if st.hasLength {
		if !bytes.Equal(value, st.lengthValue) {
			return errTwoLengths
		}
		return nil
	}
	if len(value) == 0 {
		return errContentLength
	}
	var n int64
	for _, c := range value {
		if !isASCIIDigit(c) {
			return errContentLength
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return errContentLength
		}
		n = n*10 + d
	}
	st.hasLength, st.lengthValue, r.ContentLength = true, value, n
	return nil
}

// finish applies the rules that need the whole head.
func (r *Request) finish(st *headState) error {
	if st.transfer {
		if st.hasLength {
			// RFC 9112 §6.3 lets a server refuse this classic smuggling
			// vector; Node does too.
			return errSmuggling
		}
		if r.ProtoMinor == 0 {
			// RFC 9112 §6.1: the framing of such a message is faulty.
			return errTransferHTTP10
		}
	}
	if r.ProtoMinor == 1 && st.hosts == 0 {
		// RFC 9112 §3.2; Node's requireHostHeader does the same.
		return errMissingHost
	}
	if r.ProtoMinor == 1 {
		r.KeepAlive = !st.connClose
	} else {
		r.KeepAlive = st.connKeepAlive && !st.connClose
	}
	return nil
}

// HasToken reports whether the comma-separated list (a Connection or Upgrade
// value) contains token, compared ignoring ASCII case after trimming spaces
// and tabs around each element.
func HasToken(list []byte, token string) bool {
	for {
		i := bytes.IndexByte(list, ',')
		if i < 0 {
			return equalFold(trimOWS(list), token)
		}
		if equalFold(trimOWS(list[:i]), token) {
			return true
		}
		list = list[i+1:]
	}
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFoldLower reports whether b equals lower ignoring ASCII case; lower
// must already be lower case.
func equalFoldLower(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		if lowerASCII(b[i]) != lower[i] {
			return false
		}
	}
	return true
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lowerASCII(b[i]) != lowerASCII(s[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCIIDigit(c byte) bool { return '0' <= c && c <= '9' }

func isASCIIAlpha(c byte) bool { return 'a' <= lowerASCII(c) && lowerASCII(c) <= 'z' }

// tokenByte marks the tchar bytes of RFC 9110 §5.6.2.
var tokenByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isASCIIDigit(byte(c)) || isASCIIAlpha(byte(c))
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] = true
	}
	return t
}()
