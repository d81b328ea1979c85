package netpoll_test

import (
	"testing"
	"time"
)

// HTTP-11: health answers on a keep-alive connection, twice.
func TestHealth_HTTP11(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.Addr)
	want := "HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\nX-Request-Id: <uuid>\r\nAccess-Control-Allow-Origin: *\r\n" +
		"Content-Type: text/plain\r\nCache-Control: private, no-store\r\nDate: <date>\r\nConnection: keep-alive\r\n" +
		"Keep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n"
	for i := 0; i < 2; i++ {
		c.get("/api/v1/streaming/health")
		if got := c.response(); got != want {
			t.Fatalf("health #%d:\n got %q\nwant %q", i, got, want)
		}
	}
}

// SSE-3 on the public stream: a delete event passes through, an update
// gets "filtered":[] (FLT-11).
func TestPublicStreamEvents_SSE3(t *testing.T) {
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/public?access_token=bob-read-token")
	s.waitSubscribed("timeline:public")
	s.publish("timeline:public", `{"event":"delete","payload":"115600000000000001"}`)
	c.expectBody("event: delete\ndata: 115600000000000001\n\n")
	s.publish("timeline:public", `{"event":"update","payload":{"id":"1","language":"en","account":{"id":"109000000000000003","username":"carol","acct":"carol@remote.example"},"content":"<p>hi</p>","n":1.0}}`)
	c.expectBody("event: update\ndata: {\"id\":\"1\",\"language\":\"en\",\"account\":{\"id\":\"109000000000000003\",\"username\":\"carol\",\"acct\":\"carol@remote.example\"},\"content\":\"<p>hi</p>\",\"n\":1,\"filtered\":[]}\n\n")
	c.quiet(100 * time.Millisecond)
}
