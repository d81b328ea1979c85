package proto

import "strconv"

// Meta is what every HTTP response head of the stream side carries (HTTP-5).
type Meta struct {
	RequestID []byte // UUID text (LOG-1)
	Date      []byte // IMF-fixdate
	// KeepAlive keeps the connection open after the response (HTTP-7).
	KeepAlive bool
	// HTTP10 selects close-delimited bodies: an HTTP/1.0 client cannot
	// read chunked encoding (HTTP-7).
	HTTP10 bool
	// HeadOnly omits the body (HEAD requests).
	HeadOnly bool
}

var reasons = map[int]string{
	101: "Switching Protocols",
	200: "OK",
	204: "No Content",
	400: "Bad Request",
	401: "Unauthorized",
	404: "Not Found",
	405: "Method Not Allowed",
	408: "Request Timeout",
	413: "Payload Too Large",
	429: "Too Many Requests",
	431: "Request Header Fields Too Large",
	500: "Internal Server Error",
	501: "Not Implemented",
	503: "Service Unavailable",
	505: "HTTP Version Not Supported",
}

// StatusText is Node's reason phrase for status.
func StatusText(status int) string {
	if r, ok := reasons[status]; ok {
		return r
	}
	return "Unknown"
}

func appendStatusLine(dst []byte, status int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(status)...)
	return append(dst, "\r\n"...)
}

// appendExpressHead writes the status line and the headers Express puts first.
func appendExpressHead(dst []byte, m *Meta, status int) []byte {
	dst = appendStatusLine(dst, status)
	dst = append(dst, "X-Powered-By: Express\r\nX-Request-Id: "...)
	dst = append(dst, m.RequestID...)
	return append(dst, "\r\nAccess-Control-Allow-Origin: *\r\n"...)
}

func appendDate(dst []byte, m *Meta) []byte {
	dst = append(dst, "Date: "...)
	dst = append(dst, m.Date...)
	return append(dst, "\r\n"...)
}

func appendConnection(dst []byte, m *Meta) []byte {
	if m.KeepAlive && !m.HTTP10 {
		return append(dst, "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n"...)
	}
	return append(dst, "Connection: close\r\n"...)
}

// appendChunkedBody ends the head and writes body as one chunk plus the
// terminator, or close-delimited for HTTP/1.0.
func appendChunkedBody(dst []byte, m *Meta, body []byte) []byte {
	if m.HTTP10 {
		dst = append(dst, "\r\n"...)
		if !m.HeadOnly {
			dst = append(dst, body...)
		}
		return dst
	}
	dst = append(dst, "Transfer-Encoding: chunked\r\n\r\n"...)
	if m.HeadOnly {
		return dst
	}
	dst = AppendChunk(dst, body)
	return append(dst, ChunkedEnd...)
}

// AppendJSONError appends the stream gate's error response (HTTP-3, HTTP-4):
// {"error":"<message>"} as application/json.
func AppendJSONError(dst []byte, m *Meta, status int, message string) []byte {
	dst = appendExpressHead(dst, m, status)
	dst = append(dst, "Content-Type: application/json\r\n"...)
	dst = appendDate(dst, m)
	dst = appendConnection(dst, m)
	var scratch [128]byte
	body := append(scratch[:0], `{"error":`...)
	body = AppendQuoted(body, message)
	body = append(body, '}')
	return appendChunkedBody(dst, m, body)
}

// AppendHealth appends the answer to /api/v1/streaming/health (HTTP-11).
func AppendHealth(dst []byte, m *Meta) []byte {
	dst = appendExpressHead(dst, m, 200)
	dst = append(dst, "Content-Type: text/plain\r\nCache-Control: private, no-store\r\n"...)
	dst = appendDate(dst, m)
	dst = appendConnection(dst, m)
	return appendChunkedBody(dst, m, []byte("OK"))
}

// appendContentLengthBody ends the head with Content-Length and writes the
// body, as Node does for res.end(body) (HEAD: the length without the body).
func appendContentLengthBody(dst []byte, m *Meta, body []byte) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	if m.HeadOnly {
		return dst
	}
	return append(dst, body...)
}

// MetricsContentType is the Prometheus text format 0.0.4 (MET-1).
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// AppendMetrics appends the /metrics answer (MET-1): the exposition text
// with a Content-Length, or, when body is nil (collection failed), a 500
// with an empty body.
func AppendMetrics(dst []byte, m *Meta, body []byte) []byte {
	if body == nil {
		dst = appendExpressHead(dst, m, 500)
		dst = append(dst, "Cache-Control: private, no-store\r\n"...)
	} else {
		dst = appendExpressHead(dst, m, 200)
		dst = append(dst, "Content-Type: "+MetricsContentType+"\r\nCache-Control: private, no-store\r\n"...)
	}
	dst = appendDate(dst, m)
	dst = appendConnection(dst, m)
	return appendContentLengthBody(dst, m, body)
}

// AppendJSON appends a 200 application/json answer with a Content-Length,
// for the status endpoints (§17.1).
func AppendJSON(dst []byte, m *Meta, body []byte) []byte {
	dst = appendExpressHead(dst, m, 200)
	dst = append(dst, "Content-Type: application/json\r\nCache-Control: private, no-store\r\n"...)
	dst = appendDate(dst, m)
	dst = appendConnection(dst, m)
	return appendContentLengthBody(dst, m, body)
}

// AppendFavicon appends the 404 for /favicon.ico (HTTP-12).
func AppendFavicon(dst []byte, m *Meta) []byte {
	dst = appendExpressHead(dst, m, 404)
	dst = append(dst, "Content-Length: 0\r\n"...)
	dst = appendDate(dst, m)
	dst = appendConnection(dst, m)
	return append(dst, "\r\n"...)
}

// AppendPreflight appends the CORS preflight answer to OPTIONS (HTTP-6).
// allowHeaders is echoed verbatim when the request had
// Access-Control-Request-Headers (hasAllowHeaders).
func AppendPreflight(dst []byte, m *Meta, allowHeaders []byte, hasAllowHeaders bool) []byte {
	dst = appendExpressHead(dst, m, 204)
	dst = append(dst, "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\nVary: Access-Control-Request-Headers\r\n"...)
	if hasAllowHeaders && len(allowHeaders) > 0 { // cors omits an empty list
		dst = append(dst, "Access-Control-Allow-Headers: "...)
		dst = append(dst, allowHeaders...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "Content-Length: 0\r\n"...)
	dst = appendDate(dst, m)
	dst = appendConnection(dst, m)
	return append(dst, "\r\n"...)
}

// AppendCannot appends Express's 404 page for a method it has no route for
// (HTTP-13): "Cannot <METHOD> <path>" with the path percent-encoded as
// encodeurl does and HTML-escaped.
func AppendCannot(dst []byte, m *Meta, method, path []byte) []byte {
	var scratch [512]byte
	body := append(scratch[:0], "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot "...)
	body = appendHTMLEscaped(body, method)
	body = append(body, ' ')
	body = appendHTMLEscaped(body, appendEncodeURL(nil, path))
	body = append(body, "</pre>\n</body>\n</html>\n"...)

	dst = appendExpressHead(dst, m, 404)
	dst = append(dst, "Content-Security-Policy: default-src 'none'\r\nX-Content-Type-Options: nosniff\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n"...)
	dst = appendDate(dst, m)
	dst = appendConnection(dst, m)
	dst = append(dst, "\r\n"...)
	if !m.HeadOnly {
		dst = append(dst, body...)
	}
	return dst
}

// appendEncodeURL percent-encodes like the encodeurl package: characters
// outside its allowed set are encoded, existing %XX escapes are kept, and a
// lone % becomes %25. Node hands Express the request target as a latin1
// string, so a raw byte >= 0x80 is the code point U+00XX, UTF-8 encoded.
func appendEncodeURL(dst, path []byte) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(path); i++ {
		b := path[i]
		switch {
		case b == '%' && i+2 < len(path) && isHex(path[i+1]) && isHex(path[i+2]):
			dst = append(dst, b)
		case b < 0x80 && urlAllowed(b) && b != '%':
			dst = append(dst, b)
		case b >= 0x80:
			hi, lo := 0xC0|b>>6, 0x80|b&0x3F
			dst = append(dst, '%', hex[hi>>4], hex[hi&15], '%', hex[lo>>4], hex[lo&15])
		default:
			dst = append(dst, '%', hex[b>>4], hex[b&15])
		}
	}
	return dst
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

// urlAllowed is encodeurl's set [\x21\x23-\x3B\x3D\x3F-\x5F\x61-\x7A\x7C\x7E].
func urlAllowed(b byte) bool {
	switch {
	case b == 0x21, b >= 0x23 && b <= 0x3B, b == 0x3D, b >= 0x3F && b <= 0x5F,
		b >= 0x61 && b <= 0x7A, b == 0x7C, b == 0x7E:
		return true
	}
	return false
}

func appendHTMLEscaped(dst, s []byte) []byte {
	for _, b := range s {
		switch b {
		case '&':
			dst = append(dst, "&amp;"...)
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '"':
			dst = append(dst, "&quot;"...)
		case '\'':
			dst = append(dst, "&#39;"...)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

// AppendSSEHead appends the event-stream response head (SSE-1) and, unless
// HeadOnly, the ":)" greeting (SSE-2).
func AppendSSEHead(dst []byte, m *Meta) []byte {
	dst = appendExpressHead(dst, m, 200)
	dst = append(dst, "Content-Type: text/event-stream\r\nCache-Control: private, no-store\r\n"...)
	if !m.HTTP10 {
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	}
	dst = appendDate(dst, m)
	dst = appendConnection(dst, m)
	dst = append(dst, "\r\n"...)
	if m.HeadOnly {
		return dst
	}
	if m.HTTP10 {
		return append(dst, SSEPreamble...)
	}
	return AppendChunk(dst, SSEPreamble)
}

// AppendConnError appends the connection-level refusal of HTTP-8/HTTP-9
// ("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"); the caller
// closes the connection after it.
func AppendConnError(dst []byte, status int) []byte {
	dst = appendStatusLine(dst, status)
	return append(dst, "Connection: close\r\n\r\n"...)
}

// AppendUUID appends the RFC 4122 version 4 text form of 16 random bytes.
func AppendUUID(dst []byte, r [16]byte) []byte {
	const hex = "0123456789abcdef"
	r[6] = r[6]&0x0f | 0x40
	r[8] = r[8]&0x3f | 0x80
	for i, b := range r {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[b>>4], hex[b&15])
	}
	return dst
}
