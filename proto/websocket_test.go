package proto

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// wsHead is a WebSocket upgrade request head with "\n" line ends. Each entry
// of set either replaces the default header of the same name ("Name: value"),
// removes it ("-Name"), or is appended.
func wsHead(method string, set ...string) string {
	names := []string{"Host", "Connection", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version"}
	lines := map[string]string{
		"Host":                  "Host: mastodon.example",
		"Connection":            "Connection: Upgrade",
		"Upgrade":               "Upgrade: websocket",
		"Sec-WebSocket-Key":     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version": "Sec-WebSocket-Version: 13",
	}
	var extra []string
	for _, s := range set {
		if name, ok := strings.CutPrefix(s, "-"); ok {
			delete(lines, name)
			continue
		}
		name, _, _ := strings.Cut(s, ":")
		if _, ok := lines[name]; ok {
			lines[name] = s
		} else {
			extra = append(extra, s)
		}
	}
	var b strings.Builder
	b.WriteString(method + " /api/v1/streaming?stream=public HTTP/1.1\n")
	for _, n := range names {
		if l, ok := lines[n]; ok {
			b.WriteString(l + "\n")
		}
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// upgradeCases are the handshake checks of WS-2, one per rule and corner.
var upgradeCases = []struct {
	name string
	head string
	want *UpgradeError
}{
	{name: "ok", head: wsHead("GET")},
	{name: "ok_version_8", head: wsHead("GET", "Sec-WebSocket-Version: 8")},
	{name: "ok_upgrade_any_case", head: wsHead("GET", "Upgrade: WebSocket")},
	{name: "ok_token_in_protocol", head: wsHead("GET", "Sec-WebSocket-Protocol: alice-read-token")},
	{name: "ok_protocol_list", head: wsHead("GET", "Sec-WebSocket-Protocol: tok, chat,\tx")},
	{name: "ok_protocol_space_before_comma", head: wsHead("GET", "Sec-WebSocket-Protocol: a , b")},
	{name: "ok_key_padding_bits_unchecked", head: wsHead("GET", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAB==")},
	// +header in JavaScript: whitespace trimmed, decimal and 0x/0o/0b forms.
	{name: "ok_version_13_0", head: wsHead("GET", "Sec-WebSocket-Version: 13.0")},
	{name: "ok_version_plus", head: wsHead("GET", "Sec-WebSocket-Version: +13")},
	{name: "ok_version_exponent", head: wsHead("GET", "Sec-WebSocket-Version: 1.3e1")},
	{name: "ok_version_hex", head: wsHead("GET", "Sec-WebSocket-Version: 0xd")},
	{name: "ok_version_octal", head: wsHead("GET", "Sec-WebSocket-Version: 0o10")},
	{name: "ok_version_binary", head: wsHead("GET", "Sec-WebSocket-Version: 0b1101")},
	{name: "ok_version_leading_zero", head: wsHead("GET", "Sec-WebSocket-Version: 013")},
	{name: "ok_version_trailing_point", head: wsHead("GET", "Sec-WebSocket-Version: 8.")},

	{name: "method_post_405", head: wsHead("POST"), want: errUpgradeMethod},
	{name: "method_lowercase_405", head: wsHead("get"), want: errUpgradeMethod},
	{name: "method_first_405", head: wsHead("PUT", "-Sec-WebSocket-Key", "Upgrade: h2c"), want: errUpgradeMethod},
	{name: "upgrade_h2c_400", head: wsHead("GET", "Upgrade: h2c"), want: errUpgradeHeader},
	{name: "upgrade_list_400", head: wsHead("GET", "Upgrade: websocket, h2c"), want: errUpgradeHeader},
	{name: "upgrade_absent_400", head: wsHead("GET", "-Upgrade"), want: errUpgradeHeader},
	{name: "upgrade_before_key", head: wsHead("GET", "Upgrade: x", "-Sec-WebSocket-Key"), want: errUpgradeHeader},
	{name: "key_absent_400", head: wsHead("GET", "-Sec-WebSocket-Key"), want: errUpgradeKey},
	{name: "key_empty_400", head: wsHead("GET", "Sec-WebSocket-Key:"), want: errUpgradeKey},
	{name: "key_15_bytes_400", head: wsHead("GET", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ="), want: errUpgradeKey},
	{name: "key_17_bytes_400", head: wsHead("GET", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ1="), want: errUpgradeKey},
	{name: "key_urlsafe_alphabet_400", head: wsHead("GET", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j_Q=="), want: errUpgradeKey},
	{name: "key_no_padding_400", head: wsHead("GET", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"), want: errUpgradeKey},
	{name: "key_before_version", head: wsHead("GET", "-Sec-WebSocket-Key", "-Sec-WebSocket-Version"), want: errUpgradeKey},
	{name: "version_absent_400", head: wsHead("GET", "-Sec-WebSocket-Version"), want: errUpgradeVersion},
	{name: "version_empty_400", head: wsHead("GET", "Sec-WebSocket-Version:"), want: errUpgradeVersion},
	{name: "version_7_400", head: wsHead("GET", "Sec-WebSocket-Version: 7"), want: errUpgradeVersion},
	{name: "version_list_400", head: wsHead("GET", "Sec-WebSocket-Version: 13, 8"), want: errUpgradeVersion},
	{name: "version_suffix_400", head: wsHead("GET", "Sec-WebSocket-Version: 13a"), want: errUpgradeVersion},
	{name: "version_negative_400", head: wsHead("GET", "Sec-WebSocket-Version: -13"), want: errUpgradeVersion},
	{name: "version_signed_hex_400", head: wsHead("GET", "Sec-WebSocket-Version: +0xd"), want: errUpgradeVersion},
	{name: "version_bare_prefix_400", head: wsHead("GET", "Sec-WebSocket-Version: 0x"), want: errUpgradeVersion},
	{name: "version_infinity_400", head: wsHead("GET", "Sec-WebSocket-Version: Infinity"), want: errUpgradeVersion},
	{name: "version_before_protocol", head: wsHead("GET", "Sec-WebSocket-Version: 6", "Sec-WebSocket-Protocol: a,,b"), want: errUpgradeVersion},
	{name: "protocol_empty_400", head: wsHead("GET", "Sec-WebSocket-Protocol:"), want: errUpgradeProtocol},
	{name: "protocol_empty_element_400", head: wsHead("GET", "Sec-WebSocket-Protocol: a,,b"), want: errUpgradeProtocol},
	{name: "protocol_leading_comma_400", head: wsHead("GET", "Sec-WebSocket-Protocol: ,a"), want: errUpgradeProtocol},
	{name: "protocol_trailing_comma_400", head: wsHead("GET", "Sec-WebSocket-Protocol: a,"), want: errUpgradeProtocol},
	{name: "protocol_duplicate_400", head: wsHead("GET", "Sec-WebSocket-Protocol: tok, tok"), want: errUpgradeProtocol},
	{name: "protocol_space_inside_400", head: wsHead("GET", "Sec-WebSocket-Protocol: a b"), want: errUpgradeProtocol},
	{name: "protocol_separator_400", head: wsHead("GET", "Sec-WebSocket-Protocol: tok/en"), want: errUpgradeProtocol},
	{name: "protocol_non_ascii_400", head: wsHead("GET", "Sec-WebSocket-Protocol: caf\xc3\xa9"), want: errUpgradeProtocol},
	{name: "protocol_repeated_line_400", head: wsHead("GET", "Sec-WebSocket-Protocol: a", "Sec-WebSocket-Protocol: b"), want: errUpgradeProtocol},
	{name: "protocol_many_distinct", head: wsHead("GET", "Sec-WebSocket-Protocol: "+protocolList(100, ""))},
	{name: "protocol_many_duplicate_400", head: wsHead("GET", "Sec-WebSocket-Protocol: "+protocolList(100, "p7")), want: errUpgradeProtocol},
}

// protocolList is n distinct tokens, then extra if not empty.
func protocolList(n int, extra string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i/10))
		b.WriteByte(byte('0' + i%10))
	}
	if extra != "" {
		b.WriteString(", " + extra)
	}
	return b.String()
}

func TestCheckUpgradeWS2(t *testing.T) {
	for _, tc := range upgradeCases {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			if _, err := ParseRequest([]byte(crlf(tc.head)), &r); err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if got := CheckUpgrade(&r); got != tc.want {
				t.Fatalf("CheckUpgrade = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAppendUpgradeRefusalWS2(t *testing.T) {
	for _, tc := range []struct {
		err  *UpgradeError
		want string
	}{
		{errUpgradeMethod, "HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 19\r\n\r\nInvalid HTTP method"},
		{errUpgradeHeader, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 22\r\n\r\nInvalid Upgrade header"},
		{errUpgradeKey, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 43\r\n\r\nMissing or invalid Sec-WebSocket-Key header"},
		{errUpgradeVersion, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 47\r\nSec-WebSocket-Version: 13, 8\r\n\r\nMissing or invalid Sec-WebSocket-Version header"},
		{errUpgradeProtocol, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 37\r\n\r\nInvalid Sec-WebSocket-Protocol header"},
	} {
		if got := string(AppendUpgradeRefusal([]byte("x"), tc.err)); got != "x"+tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.err.Message, got, "x"+tc.want)
		}
	}
}

func TestAppendSwitchingProtocolsWS3(t *testing.T) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==") // RFC 6455 §1.3
	id := []byte("3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a")
	for _, tc := range []struct {
		name     string
		protocol []byte
		want     string
	}{
		{"no_protocol", nil, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Request-Id: 3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a\r\n\r\n"},
		{"empty_protocol", []byte{}, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Request-Id: 3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a\r\n\r\n"},
		{"token_protocol", []byte("alice-read-token"), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: alice-read-token\r\nX-Request-Id: 3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a\r\n\r\n"},
	} {
		if got := string(AppendSwitchingProtocols(nil, key, tc.protocol, id)); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestAcceptKeyMatchesRFC(t *testing.T) {
	for _, tc := range []struct{ key, accept string }{
		{"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}, // RFC 6455 §1.3
		{"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="}, // RFC 6455 §1.2
	} {
		if got := string(appendAcceptKey(nil, []byte(tc.key))); got != tc.accept {
			t.Errorf("accept(%s) = %s, want %s", tc.key, got, tc.accept)
		}
	}
	// Keys too long for the stack buffer (never valid) take the streaming
	// hash and must agree with the one-shot one.
	for _, n := range []int{0, 27, 28, 29, 100} {
		key := bytes.Repeat([]byte("k"), n)
		sum := sha1.Sum(append(bytes.Clone(key), wsGUID...))
		if got, want := string(appendAcceptKey(nil, key)), base64.StdEncoding.EncodeToString(sum[:]); got != want {
			t.Errorf("%d-byte key: %s, want %s", n, got, want)
		}
	}
}

func TestAppendUpgradeAuthRefusalWS5(t *testing.T) {
	id := []byte("3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a")
	for _, tc := range []struct {
		status  int
		message string
		want    string
	}{
		{401, "Missing access token", "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nX-Request-Id: 3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a\r\nX-Error-Message: Missing access token\r\n\r\n"},
		{401, "Invalid access token", "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nX-Request-Id: 3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a\r\nX-Error-Message: Invalid access token\r\n\r\n"},
		{500, "An unexpected error occurred", "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nX-Request-Id: 3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a\r\nX-Error-Message: An unexpected error occurred\r\n\r\n"},
		{429, "Too many connections", "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nX-Request-Id: 3f0e2a0c-9d6b-4a53-8f3e-2b1c0d9e8f7a\r\nX-Error-Message: Too many connections\r\n\r\n"},
	} {
		if got := string(AppendUpgradeAuthRefusal(nil, id, tc.status, tc.message)); got != tc.want {
			t.Errorf("%d %s:\n got %q\nwant %q", tc.status, tc.message, got, tc.want)
		}
	}
}

func TestFirstProtocol(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   string
		isNil  bool
	}{
		{header: "alice-read-token", want: "alice-read-token"},
		{header: "tok, chat", want: "tok"},
		{header: "tok ,chat", want: "tok"},
		{header: "tok\t, chat", want: "tok"},
		{header: "", isNil: true},
		{header: " ", isNil: true},
	} {
		got := FirstProtocol([]byte(tc.header))
		if string(got) != tc.want || (got == nil) != tc.isNil {
			t.Errorf("FirstProtocol(%q) = %q (nil %v), want %q", tc.header, got, got == nil, tc.want)
		}
	}
	if FirstProtocol(nil) != nil {
		t.Error("FirstProtocol(nil) is not nil")
	}
}

func TestAppendFrameHeader(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 200, 65535, 65536, 1 << 20, 1 << 32} {
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary, ws.OpClose, ws.OpPing, ws.OpPong} {
			var want bytes.Buffer
			if err := ws.WriteHeader(&want, ws.Header{Fin: true, OpCode: op, Length: int64(n)}); err != nil {
				t.Fatal(err)
			}
			if got := AppendFrameHeader(nil, op, n); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("op %x length %d: % x, gobwas % x", op, n, got, want.Bytes())
			}
		}
	}
	// RFC 6455 §5.7: an unmasked "Hello" and a 256-byte binary header.
	if got := AppendTextFrame(nil, []byte("Hello")); !bytes.Equal(got, []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}) {
		t.Errorf("AppendTextFrame(Hello) = % x", got)
	}
	if got := AppendFrameHeader(nil, ws.OpBinary, 256); !bytes.Equal(got, []byte{0x82, 0x7E, 0x01, 0x00}) {
		t.Errorf("256-byte binary header = % x", got)
	}
	if got := AppendFrameHeader(nil, ws.OpBinary, 65536); !bytes.Equal(got, []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}) {
		t.Errorf("64 KiB binary header = % x", got)
	}
	if !bytes.Equal(PingFrame, ws.CompiledPing) {
		t.Errorf("PingFrame = % x, gobwas % x", PingFrame, ws.CompiledPing)
	}
}

func TestAppendCloseFrame(t *testing.T) {
	long := strings.Repeat("é", 70) // 140 bytes: cut to 61 characters
	for _, tc := range []struct {
		name   string
		code   ws.StatusCode
		reason string
		want   []byte
	}{
		{"kill_empty_§11.7", 0, "", []byte{0x88, 0x00}},
		{"kill_ignores_reason", 0, "x", []byte{0x88, 0x00}},
		{"protocol_error_bare_code", ws.StatusProtocolError, "", []byte{0x88, 0x02, 0x03, 0xEA}},
		{"too_big_bare_code", ws.StatusMessageTooBig, "", []byte{0x88, 0x02, 0x03, 0xF1}},
		{"binary_WS-13", ws.StatusUnsupportedData, "The mastodon streaming server does not support binary messages",
			append([]byte{0x88, 64, 0x03, 0xEB}, "The mastodon streaming server does not support binary messages"...)},
		{"slow_consumer_X-4", 1013, "slow consumer", append([]byte{0x88, 15, 0x03, 0xF5}, "slow consumer"...)},
		{"shutdown_X-5", ws.StatusGoingAway, "server shutting down", append([]byte{0x88, 22, 0x03, 0xE9}, "server shutting down"...)},
		{"reason_cut_at_rune", ws.StatusNormalClosure, long, append([]byte{0x88, 124, 0x03, 0xE8}, long[:122]...)},
		{"reason_exactly_123", ws.StatusNormalClosure, strings.Repeat("a", 123), append([]byte{0x88, 125, 0x03, 0xE8}, strings.Repeat("a", 123)...)},
	} {
		if got := AppendCloseFrame(nil, tc.code, tc.reason); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: % x, want % x", tc.name, got, tc.want)
		}
	}
}

// testMask is the masking key of RFC 6455 §5.7's examples.
var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame builds a masked client frame. b0 is the FIN, RSV and opcode
// byte; form 0 uses the shortest length encoding, 16 or 64 forces that one.
func clientFrame(b0 byte, payload string, form int) []byte {
	n := len(payload)
	out := []byte{b0}
	switch {
	case form == 64 || form == 0 && n > 0xFFFF:
		out = binary.BigEndian.AppendUint64(append(out, 0x80|127), uint64(n))
	case form == 16 || form == 0 && n > 125:
		out = binary.BigEndian.AppendUint16(append(out, 0x80|126), uint16(n))
	default:
		out = append(out, 0x80|byte(n))
	}
	out = append(out, testMask[:]...)
	return append(out, xorMask([]byte(payload), testMask)...)
}

// xorMask masks or unmasks p in place byte by byte (RFC 6455 §5.3), the
// plain reference for the block cipher ParseFrame uses.
func xorMask(p []byte, mask [4]byte) []byte {
	for i := range p {
		p[i] ^= mask[i%4]
	}
	return p
}

const testMaxMessage = 1 << 20 // SLUICE_WS_MAX_MESSAGE's default

// frameCase is one client frame: either it decodes to fin/op/payload, or it
// is refused with code, already when its first errAt bytes are buffered.
type frameCase struct {
	name    string
	raw     []byte
	max     int
	fin     bool
	op      ws.OpCode
	payload string
	code    ws.StatusCode
	errAt   int
}

var frameCases = []frameCase{
	{name: "rfc_masked_hello", raw: []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, max: testMaxMessage, fin: true, op: ws.OpText, payload: "Hello"},
	{name: "subscribe", raw: clientFrame(0x81, `{"type":"subscribe","stream":"hashtag","tag":"sunset"}`, 0), max: testMaxMessage, fin: true, op: ws.OpText, payload: `{"type":"subscribe","stream":"hashtag","tag":"sunset"}`},
	{name: "empty_text", raw: clientFrame(0x81, "", 0), max: testMaxMessage, fin: true, op: ws.OpText},
	{name: "empty_text_limit_0", raw: clientFrame(0x81, "", 0), max: 0, fin: true, op: ws.OpText},
	{name: "text_first_fragment", raw: clientFrame(0x01, "Hel", 0), max: testMaxMessage, op: ws.OpText, payload: "Hel"},
	{name: "continuation_last", raw: clientFrame(0x80, "lo", 0), max: testMaxMessage, fin: true, op: ws.OpContinuation, payload: "lo"},
	{name: "continuation_middle", raw: clientFrame(0x00, "l", 0), max: testMaxMessage, op: ws.OpContinuation, payload: "l"},
	{name: "binary_16bit_length", raw: clientFrame(0x82, strings.Repeat("b", 256), 0), max: testMaxMessage, fin: true, op: ws.OpBinary, payload: strings.Repeat("b", 256)},
	{name: "text_64bit_length", raw: clientFrame(0x81, strings.Repeat("t", 65536), 0), max: testMaxMessage, fin: true, op: ws.OpText, payload: strings.Repeat("t", 65536)},
	{name: "non_minimal_16bit", raw: clientFrame(0x81, "abc", 16), max: testMaxMessage, fin: true, op: ws.OpText, payload: "abc"},
	{name: "non_minimal_64bit", raw: clientFrame(0x81, "abc", 64), max: testMaxMessage, fin: true, op: ws.OpText, payload: "abc"},
	{name: "at_limit", raw: clientFrame(0x81, strings.Repeat("x", 100), 0), max: 100, fin: true, op: ws.OpText, payload: strings.Repeat("x", 100)},
	{name: "ping_payload", raw: clientFrame(0x89, "Hello", 0), max: testMaxMessage, fin: true, op: ws.OpPing, payload: "Hello"},
	{name: "ping_125_ignores_limit", raw: clientFrame(0x89, strings.Repeat("p", 125), 0), max: 0, fin: true, op: ws.OpPing, payload: strings.Repeat("p", 125)},
	{name: "pong_empty", raw: clientFrame(0x8A, "", 0), max: testMaxMessage, fin: true, op: ws.OpPong},
	{name: "close_1000_bye", raw: clientFrame(0x88, "\x03\xe8bye", 0), max: testMaxMessage, fin: true, op: ws.OpClose, payload: "\x03\xe8bye"},
	{name: "close_empty", raw: clientFrame(0x88, "", 0), max: testMaxMessage, fin: true, op: ws.OpClose},

	// Hostile frames (STYLE 16): refused as soon as the bytes show it.
	{name: "unmasked_1002", raw: []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}, max: testMaxMessage, code: 1002, errAt: 2},
	{name: "unmasked_16bit_1002", raw: append([]byte{0x81, 0x7E, 0x00, 0xC8}, make([]byte, 200)...), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "rsv1_1002", raw: clientFrame(0xC1, "x", 0), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "rsv2_1002", raw: clientFrame(0xA1, "x", 0), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "rsv3_1002", raw: clientFrame(0x91, "x", 0), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "opcode_3_1002", raw: clientFrame(0x83, "x", 0), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "opcode_7_1002", raw: clientFrame(0x87, "x", 0), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "opcode_B_1002", raw: clientFrame(0x8B, "x", 0), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "opcode_F_1002", raw: clientFrame(0x8F, "", 0), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "ping_not_final_1002", raw: clientFrame(0x09, "x", 0), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "close_not_final_1002", raw: clientFrame(0x08, "", 0), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "ping_126_bytes_1002", raw: clientFrame(0x89, strings.Repeat("p", 126), 0), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "ping_extended_length_1002", raw: clientFrame(0x89, "abc", 16), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "close_64bit_length_1002", raw: clientFrame(0x88, "\x03\xe8", 64), max: testMaxMessage, code: 1002, errAt: 2},
	{name: "length_msb_1002", raw: []byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, max: testMaxMessage, code: 1002, errAt: 10},
	{name: "ws_frame_over_limit_1009", raw: clientFrame(0x81, strings.Repeat("x", 101), 0), max: 100, code: 1009, errAt: 2},
	{name: "header_only_16bit_over_limit_1009", raw: []byte{0x81, 0xFE, 0x10, 0x00}, max: 1024, code: 1009, errAt: 4},
	{name: "header_only_64bit_over_limit_1009", raw: []byte{0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0}, max: testMaxMessage, code: 1009, errAt: 10},
	{name: "header_only_64bit_huge_1009", raw: []byte{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, max: testMaxMessage, code: 1009, errAt: 10},
	{name: "continuation_over_limit_1009", raw: clientFrame(0x00, strings.Repeat("x", 101), 0), max: 100, code: 1009, errAt: 2},
	{name: "limit_0_nonempty_1009", raw: clientFrame(0x81, "a", 0), max: 0, code: 1009, errAt: 2},
	{name: "huge_limit_huge_length_1009", raw: []byte{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, max: 1<<63 - 1, code: 1009, errAt: 10},
}

func (tc *frameCase) check(t *testing.T, f Frame, n int, err error) {
	t.Helper()
	if tc.code != 0 {
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != tc.code || n != 0 {
			t.Fatalf("n=%d err=%v, want close %d", n, err, tc.code)
		}
		if ce.Reason != "" {
			t.Fatalf("Reason %q: the reference sends the code alone", ce.Reason)
		}
		return
	}
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if n != len(tc.raw) || f.Fin != tc.fin || f.Op != tc.op || string(f.Payload) != tc.payload {
		t.Fatalf("n=%d fin=%v op=%x payload=%.40q, want n=%d fin=%v op=%x payload=%.40q",
			n, f.Fin, f.Op, f.Payload, len(tc.raw), tc.fin, tc.op, tc.payload)
	}
	if cap(f.Payload) != len(f.Payload) {
		t.Fatalf("payload capacity %d reaches past the frame", cap(f.Payload))
	}
}

func TestParseFrame(t *testing.T) {
	for _, tc := range frameCases {
		t.Run(tc.name, func(t *testing.T) {
			buf := bytes.Clone(tc.raw)
			f, n, err := ParseFrame(buf, tc.max)
			tc.check(t, f, n, err)
		})
	}
}

// TestParseFrameSplit feeds every frame cut at every byte: a prefix is
// ErrNeedMore until the frame is complete, and a hostile frame is refused
// with the same error from its errAt-th byte on, before its payload arrives.
func TestParseFrameSplit(t *testing.T) {
	for _, tc := range frameCases {
		t.Run(tc.name, func(t *testing.T) {
			limit := len(tc.raw)
			if tc.code != 0 {
				limit = tc.errAt
			}
			// Prefixes never complete a frame, so they are not unmasked and
			// can share tc.raw.
			for k := range limit {
				if _, n, err := ParseFrame(tc.raw[:k], tc.max); err != ErrNeedMore || n != 0 {
					t.Fatalf("first %d bytes: n=%d err=%v, want ErrNeedMore", k, n, err)
				}
			}
			for k := limit; k <= len(tc.raw); k++ {
				if k > limit && k < len(tc.raw) && k%97 != 0 {
					continue // the large frames: sample
				}
				buf := bytes.Clone(tc.raw[:k])
				f, n, err := ParseFrame(buf, tc.max)
				if tc.code != 0 {
					tc.check(t, f, n, err)
				} else if k == len(tc.raw) {
					tc.check(t, f, n, err)
				}
			}
		})
	}
}

// TestParseFrameStream decodes a fragmented message with a ping between its
// fragments, then a close, from one buffer, with trailing bytes left alone.
func TestParseFrameStream(t *testing.T) {
	var buf []byte
	buf = append(buf, clientFrame(0x01, `{"type":`, 0)...)
	buf = append(buf, clientFrame(0x89, "ka", 0)...)
	buf = append(buf, clientFrame(0x80, `"subscribe","stream":"public"}`, 0)...)
	buf = append(buf, clientFrame(0x88, "\x03\xe8", 0)...)
	buf = append(buf, 0x81) // the start of a frame that never finishes
	want := []struct {
		fin     bool
		op      ws.OpCode
		payload string
	}{
		{false, ws.OpText, `{"type":`},
		{true, ws.OpPing, "ka"},
		{true, ws.OpContinuation, `"subscribe","stream":"public"}`},
		{true, ws.OpClose, "\x03\xe8"},
	}
	for i, w := range want {
		f, n, err := ParseFrame(buf, testMaxMessage)
		if err != nil || f.Fin != w.fin || f.Op != w.op || string(f.Payload) != w.payload {
			t.Fatalf("frame %d: %+v err=%v", i, f, err)
		}
		buf = buf[n:]
	}
	if _, _, err := ParseFrame(buf, testMaxMessage); err != ErrNeedMore || len(buf) != 1 {
		t.Fatalf("tail: err=%v len=%d", err, len(buf))
	}
}

// TestParseFrameAgainstGobwas checks every accepted frame against gobwas's
// reader and header checks.
func TestParseFrameAgainstGobwas(t *testing.T) {
	for _, tc := range frameCases {
		if tc.code != 0 {
			continue
		}
		h, err := ws.ReadHeader(bytes.NewReader(tc.raw))
		if err != nil {
			t.Fatalf("%s: gobwas: %v", tc.name, err)
		}
		state := ws.StateServerSide
		if h.OpCode == ws.OpContinuation {
			state |= ws.StateFragmented
		}
		if err := ws.CheckHeader(h, state); err != nil {
			t.Errorf("%s: gobwas refuses: %v", tc.name, err)
		}
		f, _, _ := ParseFrame(bytes.Clone(tc.raw), tc.max)
		if h.Fin != f.Fin || h.OpCode != f.Op || h.Length != int64(len(f.Payload)) {
			t.Errorf("%s: gobwas %+v, ours fin=%v op=%x len=%d", tc.name, h, f.Fin, f.Op, len(f.Payload))
		}
	}
}

func TestCloseErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  *CloseError
		want string
	}{
		{errFrameUnmasked, "proto: websocket close 1002: unmasked client frame"},
		{errFrameTooBig, "proto: websocket close 1009: frame payload over the message limit"},
		{&CloseError{Code: 1003, Reason: "no binary"}, "proto: websocket close 1003: no binary"},
		{&CloseError{Code: 1000}, "proto: websocket close 1000"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestParseClosePayload(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		code    ws.StatusCode
		reason  string
		errCode ws.StatusCode
	}{
		{name: "empty_no_code", payload: ""},
		{name: "one_byte_1002", payload: "\x03", errCode: 1002},
		{name: "1000", payload: "\x03\xe8", code: 1000},
		{name: "1000_reason", payload: "\x03\xe8bye", code: 1000, reason: "bye"},
		{name: "1001", payload: "\x03\xe9", code: 1001},
		{name: "1003", payload: "\x03\xeb", code: 1003},
		{name: "1007", payload: "\x03\xef", code: 1007},
		{name: "1011", payload: "\x03\xf3", code: 1011},
		{name: "1012_iana", payload: "\x03\xf4", code: 1012},
		{name: "1014_iana", payload: "\x03\xf6", code: 1014},
		{name: "3000", payload: "\x0b\xb8", code: 3000},
		{name: "4999", payload: "\x13\x87", code: 4999},
		{name: "0_1002", payload: "\x00\x00", errCode: 1002},
		{name: "999_1002", payload: "\x03\xe7", errCode: 1002},
		{name: "1004_1002", payload: "\x03\xec", errCode: 1002},
		{name: "1005_reserved_1002", payload: "\x03\xed", errCode: 1002},
		{name: "1006_reserved_1002", payload: "\x03\xee", errCode: 1002},
		{name: "1015_reserved_1002", payload: "\x03\xf7", errCode: 1002},
		{name: "1016_1002", payload: "\x03\xf8", errCode: 1002},
		{name: "2999_1002", payload: "\x0b\xb7", errCode: 1002},
		{name: "5000_1002", payload: "\x13\x88", errCode: 1002},
		{name: "65535_1002", payload: "\xff\xff", errCode: 1002},
		{name: "reason_invalid_utf8_1007", payload: "\x03\xe8\xff", errCode: 1007},
		{name: "reason_surrogate_1007", payload: "\x03\xe8\xed\xa0\x80", errCode: 1007},
		{name: "bad_code_before_bad_reason", payload: "\x03\xec\xff", errCode: 1002},
		{name: "reason_utf8", payload: "\x03\xe8caf\xc3\xa9", code: 1000, reason: "café"},
	} {
		code, reason, err := ParseClosePayload([]byte(tc.payload))
		switch {
		case tc.errCode != 0:
			if err == nil || err.Code != tc.errCode {
				t.Errorf("%s: err %v, want close %d", tc.name, err, tc.errCode)
			}
		case err != nil || code != tc.code || string(reason) != tc.reason:
			t.Errorf("%s: code=%d reason=%q err=%v", tc.name, code, reason, err)
		}
	}
}

// TestCloseEchoWS16: the answer to a client close echoes its code (and, like
// the ws library, its reason); an empty close gets an empty close.
func TestCloseEchoWS16(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    []byte
	}{
		{"", []byte{0x88, 0x00}},
		{"\x03\xe8", []byte{0x88, 0x02, 0x03, 0xe8}},
		{"\x0f\xa0bye", []byte{0x88, 0x05, 0x0f, 0xa0, 'b', 'y', 'e'}},
	} {
		code, reason, err := ParseClosePayload([]byte(tc.payload))
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendCloseReply(nil, code, reason); !bytes.Equal(got, tc.want) {
			t.Errorf("reply to %q: % x, want % x", tc.payload, got, tc.want)
		}
	}
}
