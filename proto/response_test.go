package proto

import (
	"strings"
	"testing"
)

var testMeta = Meta{RequestID: []byte("00000000-0000-4000-8000-000000000000"), Date: []byte("Mon, 23 Nov 2026 11:00:00 GMT"), KeepAlive: true}

// HTTP-13: Express's 404 page, 163 bytes for POST /api/v1/streaming/public.
func TestCannot_HTTP13(t *testing.T) {
	m := testMeta
	got := string(AppendCannot(nil, &m, []byte("POST"), []byte("/api/v1/streaming/public")))
	body := "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot POST /api/v1/streaming/public</pre>\n</body>\n</html>\n"
	if len(body) != 163 {
		t.Fatalf("fixture body is %d bytes, the spec says 163", len(body))
	}
	want := "HTTP/1.1 404 Not Found\r\nX-Powered-By: Express\r\nX-Request-Id: 00000000-0000-4000-8000-000000000000\r\n" +
		"Access-Control-Allow-Origin: *\r\nContent-Security-Policy: default-src 'none'\r\nX-Content-Type-Options: nosniff\r\n" +
		"Content-Type: text/html; charset=utf-8\r\nContent-Length: 163\r\nDate: Mon, 23 Nov 2026 11:00:00 GMT\r\n" +
		"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n" + body
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// HTTP-13: the path is percent-encoded like encodeurl, then HTML-escaped.
func TestEncodeURL(t *testing.T) {
	for in, want := range map[string]string{
		"/a b":         "/a%20b",
		"/%41":         "/%41",
		"/%zz":         "/%25zz",
		"/%4":          "/%254",
		"/<x>\"'":      "/%3Cx%3E%22'",
		"/caf\xc3\xa9": "/caf%C3%83%C2%A9", // latin1 code points, UTF-8 encoded
		"/a|b~c[d]":    "/a|b~c[d]",
	} {
		if got := string(appendEncodeURL(nil, []byte(in))); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
	if got := string(appendHTMLEscaped(nil, []byte(`&<>"'`))); got != "&amp;&lt;&gt;&quot;&#39;" {
		t.Errorf("escape: %q", got)
	}
}

// HTTP-4: header order and one-chunk framing of a gate error.
func TestJSONError_HTTP4(t *testing.T) {
	m := testMeta
	got := string(AppendJSONError(nil, &m, 401, "Missing access token"))
	want := "HTTP/1.1 401 Unauthorized\r\nX-Powered-By: Express\r\nX-Request-Id: 00000000-0000-4000-8000-000000000000\r\n" +
		"Access-Control-Allow-Origin: *\r\nContent-Type: application/json\r\nDate: Mon, 23 Nov 2026 11:00:00 GMT\r\n" +
		"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"20\r\n{\"error\":\"Missing access token\"}\r\n0\r\n\r\n"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	m.HTTP10 = true
	got = string(AppendJSONError(nil, &m, 400, "Unknown channel requested"))
	if !strings.Contains(got, "Connection: close\r\n\r\n{\"error\":\"Unknown channel requested\"}") || strings.Contains(got, "chunked") {
		t.Fatalf("HTTP/1.0 error must be close-delimited: %q", got)
	}
}

func TestUUIDv4(t *testing.T) {
	var r [16]byte
	for i := range r {
		r[i] = 0xff
	}
	if got := string(AppendUUID(nil, r)); got != "ffffffff-ffff-4fff-bfff-ffffffffffff" {
		t.Fatalf("got %s", got)
	}
}
