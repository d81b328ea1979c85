package netpoll_test

import (
	"testing"
	"time"
)

// A.4: initial subscription from the URL, a subscribe message, events with
// the stream-name envelope, and kill closing with an empty close frame.
func TestWebSocketAppendixA4(t *testing.T) {
	s := startServer(t)
	w := s.dialWS("/api/v1/streaming?stream=public", "Sec-WebSocket-Protocol: alice-read-token")
	s.waitSubscribed("timeline:public")
	w.sendText(`{"type":"subscribe","stream":"hashtag","tag":"sunset"}`)
	s.waitSubscribed("timeline:hashtag:sunset")
	s.publish("timeline:public", `{"event":"delete","payload":"115600000000000001"}`)
	w.expectText(`{"stream":["public"],"event":"delete","payload":"115600000000000001"}`)
	s.publish("timeline:hashtag:sunset", `{"event":"announcement.delete","payload":"5"}`)
	w.expectText(`{"stream":["hashtag","sunset"],"event":"announcement.delete","payload":"5"}`)
	s.publish("timeline:public", `{"event":"custom.thing","payload":12345}`)
	w.expectText(`{"stream":["public"],"event":"custom.thing","payload":12345}`)
	s.publish("timeline:access_token:1", `{"event":"kill"}`)
	if code, _ := w.expectClose(); code != 0 {
		t.Fatalf("kill close code %d, want empty payload (§11.7)", code)
	}
	_ = time.Second
}

// with SLUICE_WS_MAX_SUBSCRIPTIONS set, a subscribe past the cap gets
// the 429 error and the socket stays usable.
func TestWSMaxSubscriptions_X10(t *testing.T) {
	s := startServer(t, func(c *serverConfig) { c.opts.WSMaxSubscriptions = 1 })
	w := s.dialWS("/api/v1/streaming", "Sec-WebSocket-Protocol: alice-read-token")
	w.sendText(`{"type":"subscribe","stream":"public"}`)
	w.sendText(`{"type":"subscribe","stream":"hashtag","tag":"cats"}`)
	w.expectText(`{"error":"Too many subscriptions","status":429}`)
	s.waitSubscribed("timeline:public")
	s.publish("timeline:public", `{"event":"delete","payload":"1"}`)
	w.expectText(`{"stream":["public"],"event":"delete","payload":"1"}`)
}
