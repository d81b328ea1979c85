package proto

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// requestCase is a request head written with "\n" line ends (sent as CRLF)
// and the Request it must give, as rendered by describe. body, if any, follows
// the head verbatim and must not be consumed.
type requestCase struct {
	name string
	raw  string
	body string
	want string
}

// requestCases drives TestParseRequest, TestParseRequestSplit,
// TestParseRequestPipelined, FuzzParseRequest's seeds and the benchmark.
var requestCases = []requestCase{
	{
		name: "mastodon_sse_browser", // the benchmark's typical request
		raw: `GET /api/v1/streaming/user?access_token=ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0 HTTP/1.1
Host: mastodon.example
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0
Accept: text/event-stream
Accept-Language: en-US,en;q=0.5
Accept-Encoding: gzip, deflate, br, zstd
Referer: https://mastodon.example/home
Origin: https://mastodon.example
Connection: keep-alive
Cookie: _session_id=2f1e0d8c7b6a59483726150fedcba987
Sec-Fetch-Dest: empty
Sec-Fetch-Mode: cors
Sec-Fetch-Site: same-origin
Pragma: no-cache
Cache-Control: no-cache
X-Forwarded-For: 203.0.113.7

`,
		want: `GET "/api/v1/streaming/user" query="access_token=ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0" 1.1 keep-alive xff="203.0.113.7" origin="https://mastodon.example"`,
	},
	{
		name: "mastodon_ws_upgrade", // WS-1, WS-3: token in Sec-WebSocket-Protocol
		raw: `GET /api/v1/streaming?stream=public%3Alocal HTTP/1.1
Host: mastodon.example
Connection: Upgrade
Upgrade: websocket
Sec-WebSocket-Version: 13
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
Sec-WebSocket-Protocol: ZA-Yj3aBD8U8Cm7lKUp
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits
Origin: https://mastodon.example

`,
		want: `GET "/api/v1/streaming" query="stream=public%3Alocal" 1.1 keep-alive conn-upgrade upgrade="websocket" protocol="ZA-Yj3aBD8U8Cm7lKUp" key="dGhlIHNhbXBsZSBub25jZQ==" version="13" extensions="permessage-deflate; client_max_window_bits" origin="https://mastodon.example"`,
	},
	{
		name: "firefox_connection_list", // §3.1: Connection is a token list
		raw: `GET /api/v1/streaming HTTP/1.1
Host: h
connection: keep-alive, Upgrade
UPGRADE: WebSocket
Authorization: Bearer tok

`,
		want: `GET "/api/v1/streaming" 1.1 keep-alive conn-upgrade upgrade="WebSocket" auth="Bearer tok"`,
	},
	{
		name: "health_http10", // HTTP-7: HTTP/1.0 closes by default, no Host needed
		raw: `GET /api/v1/streaming/health HTTP/1.0

`,
		want: `GET "/api/v1/streaming/health" 1.0`,
	},
	{
		name: "http10_keep_alive",
		raw: `HEAD /api/v1/streaming/health HTTP/1.0
Connection: Keep-Alive

`,
		want: `HEAD "/api/v1/streaming/health" 1.0 keep-alive`,
	},
	{
		name: "http11_close", // HTTP-7
		raw: `GET /api/v1/streaming/public HTTP/1.1
Host: h
Connection: close

`,
		want: `GET "/api/v1/streaming/public" 1.1`,
	},
	{
		name: "close_wins_over_keep_alive",
		raw: `GET / HTTP/1.0
Connection: keep-alive
Connection: close

`,
		want: `GET "/" 1.0`,
	},
	{
		name: "options_preflight", // HTTP-6: ACRH echoed verbatim
		raw: `OPTIONS /api/v1/streaming/public HTTP/1.1
Host: h
Access-Control-Request-Method: GET
Access-Control-Request-Headers: authorization,x-csrf-token

`,
		want: `OPTIONS "/api/v1/streaming/public" 1.1 keep-alive acrh="authorization,x-csrf-token"`,
	},
	{
		name: "options_acrh_empty",
		raw: `OPTIONS /x HTTP/1.1
Host: h
Access-Control-Request-Headers:

`,
		want: `OPTIONS "/x" 1.1 keep-alive acrh=""`,
	},
	{
		name: "options_star",
		raw: `OPTIONS * HTTP/1.1
Host: h

`,
		want: `OPTIONS "*" 1.1 keep-alive`,
	},
	{
		name: "absolute_form",
		raw: `GET http://mastodon.example/api/v1/streaming/public?only_media=1 HTTP/1.1
Host: mastodon.example

`,
		want: `GET "/api/v1/streaming/public" query="only_media=1" 1.1 keep-alive`,
	},
	{
		name: "absolute_form_without_path",
		raw: `GET https://mastodon.example:443 HTTP/1.1
Host: mastodon.example

`,
		want: `GET "/" 1.1 keep-alive`,
	},
	{
		name: "absolute_form_query_without_path",
		raw: `GET http://h?tag=a HTTP/1.1
Host: h

`,
		want: `GET "/" query="tag=a" 1.1 keep-alive`,
	},
	{
		name: "raw_path_not_decoded", // HTTP-1
		raw: `GET /api/v1/streaming/%70ublic?x=%zz HTTP/1.1
Host: h

`,
		want: `GET "/api/v1/streaming/%70ublic" query="x=%zz" 1.1 keep-alive`,
	},
	{
		name: "empty_query",
		raw: `GET /api/v1/streaming/public? HTTP/1.1
Host: h

`,
		want: `GET "/api/v1/streaming/public" query="" 1.1 keep-alive`,
	},
	{
		name: "fragment_kept_in_path",
		raw: `GET /a#b?c#d HTTP/1.1
Host: h

`,
		want: `GET "/a#b" query="c#d" 1.1 keep-alive`,
	},
	{
		name: "utf8_in_target",
		raw:  "GET /api/v1/streaming/hashtag?tag=caf\xc3\xa9 HTTP/1.1\nHost: h\n\n",
		want: `GET "/api/v1/streaming/hashtag" query="tag=café" 1.1 keep-alive`,
	},
	{
		name: "header_case_and_ows",
		raw:  "GET / HTTP/1.1\nhOsT:h\naUtHoRiZaTiOn: \t Bearer tok \t\nlast-event-id:1.2\n\n",
		want: `GET "/" 1.1 keep-alive auth="Bearer tok" last-event-id="1.2"`,
	},
	{
		name: "authorization_first_wins", // Node discards duplicates
		raw: `GET / HTTP/1.1
Host: h
Authorization: Bearer first
Authorization: Bearer second

`,
		want: `GET "/" 1.1 keep-alive auth="Bearer first"`,
	},
	{
		name: "empty_authorization", // AUTH-1: present but empty
		raw: `GET / HTTP/1.1
Host: h
Authorization:

`,
		want: `GET "/" 1.1 keep-alive auth=""`,
	},
	{
		name: "protocol_repeated", // WS-2, AUTH-1
		raw: `GET /api/v1/streaming HTTP/1.1
Host: h
Sec-WebSocket-Protocol: tok
Sec-WebSocket-Protocol: chat

`,
		want: `GET "/api/v1/streaming" 1.1 keep-alive protocol="tok" protocol-repeated`,
	},
	{
		name: "content_length_body_left",
		raw: `POST /api/v1/streaming/public HTTP/1.1
Host: h
Content-Length: 5

`,
		body: "hello",
		want: `POST "/api/v1/streaming/public" 1.1 keep-alive length=5`,
	},
	{
		name: "content_length_identical_twice",
		raw: `POST / HTTP/1.1
Host: h
Content-Length: 0
Content-Length:  0

`,
		want: `POST "/" 1.1 keep-alive length=0`,
	},
	{
		name: "chunked",
		raw: `POST / HTTP/1.1
Host: h
Transfer-Encoding: Chunked

`,
		body: "0\r\n\r\n",
		want: `POST "/" 1.1 keep-alive chunked`,
	},
	{
		name: "leading_empty_lines", // RFC 9112 §2.2, like llhttp
		raw: `

GET / HTTP/1.1
Host: h

`,
		want: `GET "/" 1.1 keep-alive`,
	},
	{
		name: "obs_text_and_colons_in_values",
		raw:  "GET / HTTP/1.1\nHost: h:80\nX-Forwarded-For: 203.0.113.7, 10.0.0.1\nUser-Agent: caf\xe9\nOrigin: https://h:8443\n\n",
		want: `GET "/" 1.1 keep-alive xff="203.0.113.7, 10.0.0.1" origin="https://h:8443"`,
	},
	{
		name: "unknown_method_token", // routed to the gate's 404 (HTTP-13)
		raw: `M-SEARCH /api/v1/streaming/public HTTP/1.1
Host: h

`,
		want: `M-SEARCH "/api/v1/streaming/public" 1.1 keep-alive`,
	},
	{
		name: "empty_host",
		raw: `GET / HTTP/1.1
Host:

`,
		want: `GET "/" 1.1 keep-alive`,
	},
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func (tc requestCase) head() string  { return crlf(tc.raw) }
func (tc requestCase) input() []byte { return []byte(tc.head() + tc.body) }

// describe renders the fields of r that are set, in a fixed order.
func describe(r *Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", r.Method, r.Path)
	if r.RawQuery != nil {
		fmt.Fprintf(&b, " query=%q", r.RawQuery)
	}
	fmt.Fprintf(&b, " 1.%d", r.ProtoMinor)
	flag := func(name string, set bool) {
		if set {
			b.WriteString(" " + name)
		}
	}
	field := func(name string, v []byte, has bool) {
		if has {
			fmt.Fprintf(&b, " %s=%q", name, v)
		}
	}
	flag("keep-alive", r.KeepAlive)
	flag("conn-upgrade", r.ConnectionUpgrade)
	field("upgrade", r.Upgrade, r.HasUpgrade)
	field("auth", r.Authorization, r.HasAuthorization)
	field("protocol", r.SecWebSocketProtocol, r.HasSecWebSocketProtocol)
	flag("protocol-repeated", r.SecWebSocketProtocolRepeated)
	field("key", r.SecWebSocketKey, r.SecWebSocketKey != nil)
	field("version", r.SecWebSocketVersion, r.SecWebSocketVersion != nil)
	field("extensions", r.SecWebSocketExtensions, r.SecWebSocketExtensions != nil)
	field("acrh", r.AccessControlRequestHeaders, r.HasACRH)
	field("xff", r.XForwardedFor, r.XForwardedFor != nil)
	field("last-event-id", r.LastEventID, r.LastEventID != nil)
	field("origin", r.Origin, r.Origin != nil)
	if r.ContentLength >= 0 {
		fmt.Fprintf(&b, " length=%d", r.ContentLength)
	}
	flag("chunked", r.Chunked)
	return b.String()
}

// checkBorrowed asserts the invariants of an accepted Request: each Has flag
// matches its slice, and every slice lies inside the head (STYLE 4).
func checkBorrowed(t *testing.T, buf []byte, n int, r *Request) {
	t.Helper()
	for _, h := range []struct {
		name string
		v    []byte
		has  bool
	}{
		{"Upgrade", r.Upgrade, r.HasUpgrade},
		{"Authorization", r.Authorization, r.HasAuthorization},
		{"Sec-WebSocket-Protocol", r.SecWebSocketProtocol, r.HasSecWebSocketProtocol},
		{"Access-Control-Request-Headers", r.AccessControlRequestHeaders, r.HasACRH},
	} {
		if (h.v != nil) != h.has {
			t.Errorf("%s: Has=%v but value nil=%v", h.name, h.has, h.v == nil)
		}
	}
	if r.SecWebSocketProtocolRepeated && !r.HasSecWebSocketProtocol {
		t.Error("SecWebSocketProtocolRepeated without HasSecWebSocketProtocol")
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	for i, s := range [][]byte{r.Method, r.Path, r.RawQuery, r.Upgrade, r.Authorization,
		r.SecWebSocketProtocol, r.SecWebSocketKey, r.SecWebSocketVersion, r.SecWebSocketExtensions,
		r.AccessControlRequestHeaders, r.XForwardedFor, r.LastEventID, r.Origin} {
		if len(s) == 0 || i == 1 && &s[0] == &rootPath[0] {
			continue
		}
		p := uintptr(unsafe.Pointer(&s[0]))
		if p < lo || p+uintptr(len(s)) > lo+uintptr(n) {
			t.Errorf("field %d (%q) does not point into the request head", i, s)
		}
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			buf := tc.input()
			var r Request
			n, err := ParseRequest(buf, &r)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if want := len(tc.head()); n != want {
				t.Errorf("n = %d, want %d (the head only, body left alone)", n, want)
			}
			if got := describe(&r); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			checkBorrowed(t, buf, n, &r)
		})
	}
}

// TestParseRequestSplit feeds every prefix: shorter than the head it is
// ErrNeedMore, from the head on it is the same result (STYLE 3, 16).
func TestParseRequestSplit(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			buf := tc.input()
			head := len(tc.head())
			var want Request
			if _, err := ParseRequest(buf, &want); err != nil {
				t.Fatal(err)
			}
			for i := range len(buf) {
				var r Request
				n, err := ParseRequest(buf[:i], &r)
				switch {
				case i < head && err != ErrNeedMore:
					t.Fatalf("prefix %d of %d: n=%d err=%v, want ErrNeedMore", i, head, n, err)
				case i >= head && (err != nil || n != head || describe(&r) != tc.want):
					t.Fatalf("prefix %d: n=%d err=%v %s", i, n, err, describe(&r))
				}
			}
		})
	}
}

// TestParseRequestPipelined concatenates random table requests (with their
// bodies) and delivers the stream in random chunks, the way gnet buffers it:
// each head must come out intact and n must say exactly where it ends.
func TestParseRequestPipelined(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var stream []byte
		var order []requestCase
		for range 1 + rng.IntN(8) {
			tc := requestCases[rng.IntN(len(requestCases))]
			order = append(order, tc)
			stream = append(stream, tc.input()...)
		}
		var buf []byte
		var r Request
		for len(order) > 0 {
			n, err := ParseRequest(buf, &r)
			if err == ErrNeedMore {
				if len(stream) == 0 {
					t.Fatalf("round %d: ran out of input with %d requests to go", round, len(order))
				}
				k := min(len(stream), 1+rng.IntN(64))
				buf, stream = append(buf, stream[:k]...), stream[k:]
				continue
			}
			tc := order[0]
			if err != nil {
				t.Fatalf("round %d, %s: %v", round, tc.name, err)
			}
			if got := describe(&r); got != tc.want {
				t.Fatalf("round %d, %s:\ngot  %s\nwant %s", round, tc.name, got, tc.want)
			}
			// The caller skips the body; here it is whole in the stream.
			skip := n + len(tc.body)
			for len(buf) < skip {
				k := min(len(stream), skip-len(buf))
				buf, stream = append(buf, stream[:k]...), stream[k:]
			}
			buf, order = buf[skip:], order[1:]
		}
	}
}

// hostileCases are inputs the server must refuse, each named for its attack.
// raw is sent verbatim (line ends explicit).
var hostileCases = []struct {
	name string
	raw  string
	want *Error
}{
	{"two_content_length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", errTwoLengths},
	{"two_content_length_same_number", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n", errTwoLengths},
	{"content_length_list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", errContentLength},
	{"content_length_negative", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", errContentLength},
	{"content_length_plus", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", errContentLength},
	{"content_length_hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", errContentLength},
	{"content_length_empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", errContentLength},
	{"content_length_overflow", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n", errContentLength},
	{"smuggling_cl_te", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", errSmuggling},
	{"smuggling_te_cl", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", errSmuggling},
	{"smuggling_te_twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", errTransferCoding},
	{"smuggling_te_list", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", errTransferCoding},
	{"smuggling_te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", errTransferHTTP10},
	{"te_chunked_in_name", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", errTransferCoding},
	{"te_empty", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", errTransferCoding},
	{"space_before_colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", errSpaceColon},
	{"tab_before_colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", errSpaceColon},
	{"space_in_name", "GET / HTTP/1.1\r\nHost: h\r\nX Y: z\r\n\r\n", errSpaceColon},
	{"empty_header_name", "GET / HTTP/1.1\r\nHost: h\r\n: z\r\n\r\n", errHeaderName},
	{"nul_in_header_name", "GET / HTTP/1.1\r\nHo\x00st: h\r\n\r\n", errHeaderName},
	{"utf8_in_header_name", "GET / HTTP/1.1\r\nHöst: h\r\n\r\n", errHeaderName},
	{"header_without_colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", errNoColon},
	{"nul_in_header", "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer a\x00b\r\n\r\n", errHeaderValue},
	{"bare_cr_in_header", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", errHeaderValue},
	{"cr_before_crlf", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\r\n\r\n", errHeaderValue},
	{"del_in_header", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", errHeaderValue},
	{"escape_in_header", "GET / HTTP/1.1\r\nHost: h\r\nX: \x1b[31m\r\n\r\n", errHeaderValue},
	{"obs_fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", errObsFold},
	{"obs_fold_tab", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", errObsFold},
	{"space_before_first_header", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", errObsFold},
	{"bare_lf", "GET / HTTP/1.1\nHost: h\n\n", errBareLF},
	{"bare_lf_header", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", errBareLF},
	{"bare_lf_end_of_head", "GET / HTTP/1.1\r\nHost: h\r\n\n", errBareLF},
	{"leading_bare_lf", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", errBareLF},
	{"leading_bare_cr", "\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", errBareLF},
	{"header_over_limit_431", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", MaxHeaderBytes) + "\r\n\r\n", errHeadTooLarge},
	{"request_line_over_limit_431", "GET /" + strings.Repeat("a", MaxHeaderBytes) + " HTTP/1.1\r\nHost: h\r\n\r\n", errHeadTooLarge},
	{"many_headers_431", "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X: y\r\n", MaxHeaderBytes/6) + "\r\n", errHeadTooLarge},
	{"leading_crlf_flood_431", strings.Repeat("\r\n", MaxHeaderBytes/2+1) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n", errHeadTooLarge},
	{"missing_host", "GET /api/v1/streaming/public HTTP/1.1\r\n\r\n", errMissingHost},
	{"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", errTwoHosts},
	{"http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", errVersionNotHTTP1},
	{"http_1_2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", errVersionNotHTTP1},
	{"http_0_9", "GET / HTTP/0.9\r\n\r\n", errVersionNotHTTP1},
	{"version_lowercase", "GET / http/1.1\r\nHost: h\r\n\r\n", errVersion},
	{"version_two_digits", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", errVersion},
	{"version_trailing_space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", errVersion},
	{"version_missing", "GET /\r\nHost: h\r\n\r\n", errRequestLine},
	{"double_space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", errRequestLine},
	{"space_in_target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", errVersion},
	{"empty_method", " / HTTP/1.1\r\nHost: h\r\n\r\n", errMethod},
	{"method_not_token", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", errMethod},
	{"tab_after_method", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", errMethod},
	{"tls_client_hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", errMethod},
	{"ctl_in_target", "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", errTarget},
	{"del_in_target", "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", errTarget},
	{"cr_in_target", "GET /a\r HTTP/1.1\r\nHost: h\r\n\r\n", errTarget},
	{"star_not_options", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", errTarget},
	{"authority_form_connect", "CONNECT mastodon.example:443 HTTP/1.1\r\nHost: h\r\n\r\n", errTarget},
	{"relative_target", "GET api/v1/streaming HTTP/1.1\r\nHost: h\r\n\r\n", errTarget},
	{"scheme_without_slashes", "GET http:/api/v1/streaming HTTP/1.1\r\nHost: h\r\n\r\n", errTarget},
	{"bad_scheme", "GET 1http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", errTarget},
}

func TestParseRequestHostile(t *testing.T) {
	for _, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.raw)
			r := Request{Method: []byte("stale"), ContentLength: 7}
			n, err := ParseRequest(buf, &r)
			if err != tc.want {
				t.Fatalf("n=%d err=%v, want %v", n, err, tc.want)
			}
			if n != 0 || describe(&r) != describe(&Request{ContentLength: -1}) {
				t.Errorf("refused request left n=%d, r=%s", n, describe(&r))
			}
			// Every prefix is either incomplete or already the same refusal,
			// so a request is refused as early as its bytes allow.
			for i := range len(buf) {
				if _, err := ParseRequest(buf[:i], &r); err != ErrNeedMore && err != tc.want {
					t.Fatalf("prefix %d: %v", i, err)
				}
			}
		})
	}
}

// TestParseRequestLimit pins MaxHeaderBytes: a head of exactly 16 KiB parses,
// one byte more is 431, and 16 KiB of incomplete head is still ErrNeedMore.
func TestParseRequestLimit(t *testing.T) {
	const prefix = "GET / HTTP/1.1\r\nHost: h\r\nX: "
	pad := MaxHeaderBytes - len(prefix) - len("\r\n\r\n")
	exact := []byte(prefix + strings.Repeat("a", pad) + "\r\n\r\n")
	var r Request
	if n, err := ParseRequest(exact, &r); err != nil || n != MaxHeaderBytes {
		t.Fatalf("head of MaxHeaderBytes: n=%d err=%v", n, err)
	}
	// Pipelined bytes after a head that fits do not count against it.
	if n, err := ParseRequest(append(exact, "GET / HTTP/1.1\r\n"...), &r); err != nil || n != MaxHeaderBytes {
		t.Fatalf("head of MaxHeaderBytes then more: n=%d err=%v", n, err)
	}
	over := []byte(prefix + strings.Repeat("a", pad+1) + "\r\n\r\n")
	if _, err := ParseRequest(over, &r); err != errHeadTooLarge {
		t.Fatalf("head of MaxHeaderBytes+1: %v, want 431", err)
	}
	if _, err := ParseRequest(over[:MaxHeaderBytes], &r); err != ErrNeedMore {
		t.Fatalf("MaxHeaderBytes incomplete: %v, want ErrNeedMore", err)
	}
	if _, err := ParseRequest(over[:MaxHeaderBytes+1], &r); err != errHeadTooLarge {
		t.Fatalf("MaxHeaderBytes+1 incomplete: %v, want 431", err)
	}
}

// TestParseRequestErrorStatus pins the answers netpoll writes (HTTP-8) and
// checks that errors never echo client bytes (STYLE 14).
func TestParseRequestErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		err    *Error
		status int
		reason string
	}{
		{errSpaceColon, 400, "Bad Request"},
		{errHeadTooLarge, 431, "Request Header Fields Too Large"},
		{errTransferCoding, 501, "Not Implemented"},
		{errVersionNotHTTP1, 505, "HTTP Version Not Supported"},
	} {
		if tc.err.Status != tc.status || tc.err.Reason != tc.reason {
			t.Errorf("%v: got %d %q", tc.err, tc.err.Status, tc.err.Reason)
		}
		if want := fmt.Sprintf("proto: %d %s: ", tc.status, tc.reason); !strings.HasPrefix(tc.err.Error(), want) {
			t.Errorf("Error() = %q, want prefix %q", tc.err.Error(), want)
		}
	}
	const secret = "alice-read-token"
	_, err := ParseRequest([]byte("GET /?access_token="+secret+" HTTP/1.1\r\nAuthorization: "+secret+"\x00\r\n\r\n"), new(Request))
	var perr *Error
	if !errors.As(err, &perr) || strings.Contains(err.Error(), secret) {
		t.Fatalf("err = %v", err)
	}
}

func TestHasToken(t *testing.T) {
	for _, tc := range []struct {
		list, token string
		want        bool
	}{
		{"Upgrade", "upgrade", true},
		{"keep-alive, Upgrade", "upgrade", true},
		{"keep-alive,\tUPGRADE ,x", "upgrade", true},
		{"websocket", "WebSocket", true},
		{"upgrades", "upgrade", false},
		{"up grade", "upgrade", false},
		{"close", "keep-alive", false},
		{"", "close", false},
		{",,", "close", false},
		{"a, close", "close", true},
	} {
		if got := HasToken([]byte(tc.list), tc.token); got != tc.want {
			t.Errorf("HasToken(%q, %q) = %v", tc.list, tc.token, got)
		}
	}
}

// TestParseRequestHeaderNames checks every header Sluice reads in lower,
// upper and canonical case.
func TestParseRequestHeaderNames(t *testing.T) {
	names := []string{"Connection", "Upgrade", "Authorization", "Sec-WebSocket-Protocol",
		"Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions",
		"Access-Control-Request-Headers", "X-Forwarded-For", "Last-Event-ID", "Origin"}
	for _, name := range names {
		for _, n := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
			raw := "GET / HTTP/1.1\r\nHost: h\r\n" + n + ": upgrade\r\n\r\n"
			var r Request
			if _, err := ParseRequest([]byte(raw), &r); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains([]byte(describe(&r)), []byte("upgrade")) {
				t.Errorf("%s not recorded: %s", n, describe(&r))
			}
		}
	}
}
