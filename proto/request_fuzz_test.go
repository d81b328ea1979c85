package proto

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseRequest checks ParseRequest against net/http on every input:
// both accept (and agree on every field and on the head length), both
// refuse, or the difference is one listed in stricterThanStdlib or
// looserThanStdlib. It also feeds the input in two halves and asserts that an
// accepted input allocates nothing (STYLE 6, 16).
func FuzzParseRequest(f *testing.F) {
	for _, tc := range requestCases {
		f.Add(tc.input())
	}
	for _, tc := range hostileCases {
		if len(tc.raw) < 1024 {
			f.Add([]byte(tc.raw))
		}
	}
	// Corners where net/http and Sluice differ on purpose.
	for _, s := range []string{
		"GET http://h:port/a%zz?q HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http:opaque HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a?b? HTTP/1.1\r\nHost: h\r\nConnection: close, Upgrade\r\n\r\n",
		"\r\n\r\nPOST / HTTP/1.0\r\nContent-Length: 1\r\n\r\nxGET / HTTP/1.0\r\n\r\n",
		"CONNECT /rpc HTTP/1.1\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		n, err := ParseRequest(data, &r)
		var perr *Error
		if err != nil && err != ErrNeedMore {
			if perr, _ = err.(*Error); perr == nil {
				t.Fatalf("error of type %T: %v", err, err)
			}
		}

		// Two halves: the first is incomplete or already the final answer.
		var half Request
		hn, herr := ParseRequest(data[:len(data)/2], &half)
		if herr != ErrNeedMore && (herr != err || hn != n || describe(&half) != describe(&r)) {
			t.Fatalf("first half: n=%d err=%v; whole: n=%d err=%v", hn, herr, n, err)
		}

		if err == nil {
			checkBorrowed(t, data, n, &r)
			if allocs := testing.AllocsPerRun(5, func() { ParseRequest(data, &r) }); allocs != 0 {
				t.Fatalf("accepted input allocates %v times", allocs)
			}
		}

		std, stdN, stdErr := stdlibReadRequest(data)
		switch {
		case err == ErrNeedMore:
			if stdErr == nil {
				t.Fatalf("ErrNeedMore, net/http accepted %d bytes", stdN)
			}
		case err == nil && stdErr == nil:
			compareWithStdlib(t, n, &r, std, stdN)
		case err == nil:
			if why := looserThanStdlib(data, &r); why == "" {
				t.Fatalf("accepted %s; net/http: %v", describe(&r), stdErr)
			}
		case stdErr == nil:
			if why := stricterThanStdlib(data, perr, std); why == "" {
				t.Fatalf("refused (%v); net/http accepted %s %q", err, std.Method, std.RequestURI)
			}
		}
	})
}

// stdlibReadRequest runs http.ReadRequest plus the checks net/http's server
// adds in conn.readRequest (protocol version, Host), and returns how many bytes
// the head took.
func stdlibReadRequest(data []byte) (*http.Request, int, error) {
	src := bytes.NewReader(data)
	br := bufio.NewReader(src)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, 0, err
	}
	if req.ProtoMajor != 1 {
		return nil, 0, errVersionNotHTTP1
	}
	n := len(data) - src.Len() - br.Buffered()
	// ReadRequest deletes Host from the header map; read it again.
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	tp.ReadLine()
	header, _ := tp.ReadMIMEHeader()
	if req.ProtoAtLeast(1, 1) && len(header["Host"]) == 0 && req.Method != "CONNECT" {
		return nil, 0, errMissingHost
	}
	for name := range header {
		// textproto lets spaces through for MIME; the server refuses them.
		if name == "" || strings.Trim(name, tchars) != "" {
			return nil, 0, errHeaderName
		}
	}
	return req, n, nil
}

const tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// stricterThanStdlib names why refusing what net/http accepts is deliberate,
// or returns "".
func stricterThanStdlib(data []byte, err *Error, std *http.Request) string {
	switch err {
	case errBareLF:
		return "lines must end in CRLF (llhttp strict; net/http also takes LF)"
	case errObsFold:
		return "obs-fold refused (RFC 9112 §5.2); net/http unfolds"
	case errSmuggling:
		return "Content-Length with Transfer-Encoding refused (RFC 9112 §6.3); net/http drops Content-Length"
	case errTransferHTTP10:
		return "Transfer-Encoding in HTTP/1.0 refused (RFC 9112 §6.1); net/http ignores it"
	case errTransferCoding:
		if std.ProtoMinor == 0 {
			return "Transfer-Encoding checked in HTTP/1.0 too; net/http ignores it there"
		}
	case errHeadTooLarge:
		return "16 KiB head cap (Node's maxHeaderSize); net/http allows 1 MB"
	case errVersionNotHTTP1:
		return "only HTTP/1.0 and 1.1; net/http serves 1.2-1.9 as 1.1 and accepts PRI * HTTP/2.0"
	case errMissingHost:
		if std.Method == "CONNECT" {
			return "HTTP/1.1 CONNECT needs Host too (Node's requireHostHeader); net/http exempts it"
		}
	case errTarget:
		if !strings.HasPrefix(std.RequestURI, "/") {
			return "only origin-form, scheme:// absolute-form and OPTIONS *; net/http also takes authority, opaque and * for any method"
		}
	case errHeaderValue:
		// net/http trims trailing whitespace before it checks the value.
		if bytes.Contains(data, []byte("\r\r\n")) {
			return "CR before CRLF refused; net/http's line reader drops it"
		}
	}
	return ""
}

// looserThanStdlib names why accepting what net/http refuses is deliberate,
// or returns "".
func looserThanStdlib(data []byte, r *Request) string {
	if bytes.HasPrefix(data, []byte("\r\n")) {
		return "empty lines before the request line skipped (RFC 9112 §2.2, llhttp)"
	}
	if _, err := url.PathUnescape(string(r.Path)); err != nil {
		return "bad %-escape in the path: Sluice never decodes it (HTTP-1); net/http does"
	}
	if target := requestTarget(data); len(target) > 0 && target[0] != '/' && target[0] != '*' {
		return "absolute-form authority not validated: routing never reads it"
	}
	return ""
}

// requestTarget returns the second field of the first line of an accepted
// request.
func requestTarget(data []byte) []byte {
	line, _, _ := bytes.Cut(bytes.TrimLeft(data, "\r\n"), []byte("\r\n"))
	fields := bytes.Split(line, []byte(" "))
	return fields[1]
}

func compareWithStdlib(t *testing.T, n int, r *Request, std *http.Request, stdN int) {
	t.Helper()
	if n != stdN {
		t.Errorf("head length %d, net/http %d", n, stdN)
	}
	if string(r.Method) != std.Method || r.ProtoMinor != std.ProtoMinor || r.KeepAlive == std.Close {
		t.Errorf("got %s; net/http %s proto 1.%d close=%v", describe(r), std.Method, std.ProtoMinor, std.Close)
	}
	target := string(r.Path)
	if r.RawQuery != nil {
		target += "?" + string(r.RawQuery)
	}
	if strings.HasPrefix(std.RequestURI, "/") && target != std.RequestURI || string(r.RawQuery) != std.URL.RawQuery {
		t.Errorf("target %q, net/http %q (query %q)", target, std.RequestURI, std.URL.RawQuery)
	}
	for _, h := range []struct {
		name string
		v    []byte
		has  bool
	}{
		{"Upgrade", r.Upgrade, r.HasUpgrade},
		{"Authorization", r.Authorization, r.HasAuthorization},
		{"Sec-WebSocket-Protocol", r.SecWebSocketProtocol, r.HasSecWebSocketProtocol},
		{"Sec-WebSocket-Key", r.SecWebSocketKey, r.SecWebSocketKey != nil},
		{"Sec-WebSocket-Version", r.SecWebSocketVersion, r.SecWebSocketVersion != nil},
		{"Sec-WebSocket-Extensions", r.SecWebSocketExtensions, r.SecWebSocketExtensions != nil},
		{"Access-Control-Request-Headers", r.AccessControlRequestHeaders, r.HasACRH},
		{"X-Forwarded-For", r.XForwardedFor, r.XForwardedFor != nil},
		{"Last-Event-ID", r.LastEventID, r.LastEventID != nil},
		{"Origin", r.Origin, r.Origin != nil},
	} {
		vv := std.Header.Values(h.name)
		if h.has != (len(vv) > 0) || h.has && string(h.v) != vv[0] {
			t.Errorf("%s: got %q (present %v), net/http %q", h.name, h.v, h.has, vv)
		}
	}
	if r.SecWebSocketProtocolRepeated != (len(std.Header.Values("Sec-WebSocket-Protocol")) > 1) {
		t.Errorf("SecWebSocketProtocolRepeated = %v", r.SecWebSocketProtocolRepeated)
	}
	upgrade := false
	for _, v := range std.Header.Values("Connection") {
		upgrade = upgrade || HasToken([]byte(v), "upgrade")
	}
	if r.ConnectionUpgrade != upgrade {
		t.Errorf("ConnectionUpgrade = %v, net/http Connection %q", r.ConnectionUpgrade, std.Header.Values("Connection"))
	}
	chunked := len(std.TransferEncoding) == 1 && std.TransferEncoding[0] == "chunked"
	wantLength := std.ContentLength
	if wantLength == 0 && std.Header.Get("Content-Length") == "" {
		wantLength = -1 // net/http says 0 for a request without a body
	}
	if r.Chunked != chunked || r.ContentLength != wantLength {
		t.Errorf("length %d chunked %v; net/http %d %q", r.ContentLength, r.Chunked, std.ContentLength, std.TransferEncoding)
	}
}
