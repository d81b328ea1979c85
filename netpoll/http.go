package netpoll

import (
	"bytes"
	"errors"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluice/sluice/proto"
)

// traffic runs the state machine over what the client sent.
func (l *loop) traffic(c *conn) gnet.Action {
	if c.state == stateWebSocket {
		return l.wsTraffic(c)
	}
	for c.state == stateReading {
		if c.bodyLeft > 0 { // HTTP-10: bodies are read and ignored
			n := int(min(c.bodyLeft, int64(c.gc.InboundBuffered())))
			if n == 0 {
				return gnet.None
			}
			_, _ = c.gc.Discard(n)
			c.bodyLeft -= int64(n)
			continue
		}
		buf, _ := c.gc.Peek(-1)
		if len(buf) == 0 {
			return gnet.None
		}
		if c.gc.OutboundBuffered() > l.s.opts.MaxBacklogBytes {
			// Pipelined requests from a client that does not read its
			// answers: the backlog cap applies to responses too (§17.2).
			l.slowConsumer(c, reasonSlowConsumer)
			return gnet.None
		}
		if !c.partial {
			// The head timeout runs from the first byte of a request, not
			// from the end of the previous one (HTTP-9).
			c.partial = true
			c.deadline = time.Now().Add(l.s.opts.HeaderTimeout)
		}
		l.req.Reset()
		n, err := proto.ParseRequest(buf, &l.req)
		if errors.Is(err, proto.ErrNeedMore) {
			return gnet.None
		}
		if err != nil {
			var perr *proto.Error
			status := reasonBadRequest.Status
			if errors.As(err, &perr) {
				status = perr.Status
			}
			l.scratch = proto.AppendConnError(l.buf(), status)
			c.writeNow(l.scratch)
			return gnet.Close // HTTP-8
		}
		if l.req.Chunked {
			// A chunked request body cannot be skipped without parsing it;
			// no Mastodon client sends one, so answer and close.
			l.req.KeepAlive = false
		}
		l.serve(c, &l.req)
		if c.state == stateClosed {
			return gnet.None // a failed write closed it inside serve
		}
		// Request bytes are borrowed: serve copied what it keeps.
		_, _ = c.gc.Discard(n)
		if l.req.ContentLength > 0 {
			c.bodyLeft = l.req.ContentLength
		}
		if c.state == stateReading && !c.keepAlive {
			return gnet.Close
		}
	}
	if c.gc.InboundBuffered() > maxPendingInput {
		return gnet.Close
	}
	if c.state == stateStreaming {
		// SSE clients have nothing to say; drop it. What was left of the
		// request body is gone with it, so that a request sent after the
		// stream ends is not discarded as body (HTTP-10).
		n := c.gc.InboundBuffered()
		_, _ = c.gc.Discard(n)
		c.bodyLeft = max(c.bodyLeft-int64(n), 0)
	}
	return gnet.None
}

// Fixed paths (§3.1, §3.5).
var (
	pathFavicon = []byte("/favicon.ico")
	pathHealth  = []byte("/api/v1/streaming/health")
)

// serve routes one parsed request (§3.1). It runs on the loop and must copy
// anything it keeps from r.
func (l *loop) serve(c *conn, r *proto.Request) {
	l.requestID(c, r)
	c.http10 = r.ProtoMinor == 0
	// HTTP/1.0 responses are close-delimited and say "Connection: close"
	// even to "Connection: keep-alive", so the close must follow (HTTP-7).
	c.keepAlive = r.KeepAlive && !c.http10
	c.headOnly = string(r.Method) == "HEAD"
	getOrHead := c.headOnly || string(r.Method) == "GET"
	switch {
	case r.ConnectionUpgrade && r.HasUpgrade:
		l.serveUpgrade(c, r)
	case string(r.Method) == "OPTIONS":
		l.respond(c, proto.AppendPreflight(l.buf(), l.meta(c), r.AccessControlRequestHeaders, r.HasACRH))
	case getOrHead && bytes.Equal(r.Path, pathFavicon):
		l.respond(c, proto.AppendFavicon(l.buf(), l.meta(c)))
	case getOrHead && bytes.Equal(r.Path, pathHealth):
		l.respond(c, proto.AppendHealth(l.buf(), l.meta(c)))
	case getOrHead && bytes.Equal(r.Path, pathMetrics):
		l.observe(c, reportMetrics) // MET-1, no authentication (HTTP-14)
	case getOrHead && l.s.opts.StatusEndpoints && isStatus(r.Path):
		if !l.s.statusAuthorized(r.Authorization, r.HasAuthorization) {
			l.respondError(c, reasonInvalidToken)
			return
		}
		what, _ := statusReport(r.Path)
		l.observe(c, what)
	default:
		l.gate(c, r)
	}
}

// respond writes a complete response and readies the connection for the
// next request (or closes it after the write when keep-alive is off).
func (l *loop) respond(c *conn, b []byte) {
	l.scratch = b
	if c.writeNow(b) {
		c.resetForRequest(time.Now(), l.s.opts.KeepAliveTimeout)
	}
}

// respondError answers a gate failure (HTTP-3).
func (l *loop) respondError(c *conn, why reason) {
	l.respond(c, proto.AppendJSONError(l.buf(), l.meta(c), why.Status, why.Message))
}
