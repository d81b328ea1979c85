package timeline

import (
	"strconv"
	"testing"
)

// ENC-3, FLT-11: recipients with the same "filtered" results share one
// rendered variant per framing (the same bytes, not equal copies), distinct
// results get their own, and "filtered" is the payload's last key.
func TestFilteredVariantsShared(t *testing.T) {
	h := NewHub(Options{})
	tl := &Timeline{Channel: "timeline:public"}
	e := h.decode(tl, []byte(`{"event":"update","payload":{"id":"1","account":{"id":"2","username":"bob","acct":"bob"},"content":"<p>a spoiler</p>"}}`))
	if e == nil || e.Status == nil {
		t.Fatal("update on timeline:public has no Status")
	}
	r1 := `[{"filter":{"id":"1"},"keyword_matches":["spoiler"],"status_matches":null}]`
	r2 := `[{"filter":{"id":"2"},"keyword_matches":["spoiler"],"status_matches":null}]`
	a, b := e.FilteredSSE([]byte(r1)), e.FilteredSSE([]byte(r1))
	if &a[0] != &b[0] {
		t.Error("two recipients with the same results got separately rendered SSE variants")
	}
	body := "event: update\ndata: " + `{"id":"1","account":{"id":"2","username":"bob","acct":"bob"},"content":"<p>a spoiler</p>","filtered":` + r1 + "}\n\n"
	if want := strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n"; string(a) != want {
		t.Errorf("SSE variant:\n got %q\nwant %q", a, want)
	}
	if c := e.FilteredSSE([]byte(r2)); &c[0] == &a[0] || string(c) == string(a) {
		t.Error("different results share a variant")
	}
	name := []byte(`["public"]`)
	w1, w2 := e.FilteredWS([]byte(r1), name), e.FilteredWS([]byte(r1), []byte(`["public"]`))
	if &w1[0] != &w2[0] {
		t.Error("two recipients with the same results and stream got separately rendered WebSocket variants")
	}
	if w3 := e.FilteredWS([]byte(r1), []byte(`["hashtag","x"]`)); &w3[0] == &w1[0] {
		t.Error("different stream names share a WebSocket frame")
	}
}
