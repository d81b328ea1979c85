package bench

import (
	"strings"
	"testing"
)

func TestMarkerScannerFindsMarkerAcrossEverySplit(t *testing.T) {
	want := marker{run: 4242, ch: 3, seq: 987654, ns: 1732451234123456789}
	value := string(appendMarker(nil, want))
	sse := `{"id":"115700000000000001","sluice_bench":"` + value + `","content":"s sl slu sluice_"}`
	ws := `{"stream":["public"],"event":"update","payload":"{\"id\":\"1\",\"sluice_bench\":\"` + value + `\",\"x\":1}"}`
	for name, text := range map[string]string{"sse": sse, "ws-escaped": ws} {
		for cut := 0; cut <= len(text); cut++ {
			var s markerScanner
			s.feed([]byte(text[:cut]))
			s.feed([]byte(text[cut:]))
			got, ok := s.result()
			if !ok || got != want {
				t.Fatalf("%s split at %d: got %+v ok=%v, want %+v", name, cut, got, ok, want)
			}
		}
		var s markerScanner
		for i := 0; i < len(text); i++ {
			s.feed([]byte{text[i]})
		}
		if got, ok := s.result(); !ok || got != want {
			t.Fatalf("%s byte by byte: got %+v ok=%v", name, got, ok)
		}
	}
}

func TestMarkerScannerRejects(t *testing.T) {
	for name, text := range map[string]string{
		"absent":            `{"id":"1","content":"sluice bench"}`,
		"not a value":       `{"sluice_bench":true}`,
		"three fields":      `{"sluice_bench":"1.2.3"}`,
		"overflow":          `{"sluice_bench":"1.2.3.99999999999999999999999"}`,
		"channel > 16 bits": `{"sluice_bench":"1.70000.3.4"}`,
	} {
		var s markerScanner
		s.feed([]byte(text))
		if m, ok := s.result(); ok {
			t.Errorf("%s: accepted %+v", name, m)
		}
	}
}

func TestMarkerIsNearTheStartOfEveryPayload(t *testing.T) {
	b := newPayloadBuilder()
	for _, event := range []string{"update", "notification"} {
		msg := string(b.message(event, marker{run: 1, ch: 2, seq: 3, ns: 4}))
		if i := strings.Index(msg, markerKey); i < 0 || i > 100 {
			t.Errorf("%s: marker at byte %d of %d", event, i, len(msg))
		}
		if len(msg) < 1500 {
			t.Errorf("%s: %d bytes is not a realistic Mastodon payload", event, len(msg))
		}
		_, content, _ := strings.Cut(msg, `"content":"`)
		content, _, _ = strings.Cut(content, `","reblog"`)
		for _, word := range []string{"spoiler", "bitcoin", " got "} {
			if content == "" || strings.Contains(strings.ToLower(content), word) {
				t.Errorf("%s payload contains the fixture filter word %q", event, word)
			}
		}
	}
}
