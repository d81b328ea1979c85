package netpoll

import (
	"time"

	"github.com/sluice/sluice/proto"
	"github.com/sluice/sluice/timeline"
)

// startSSE opens the event stream of a request that passed the gate (§10).
func (l *loop) startSSE(c *conn, g *gateRequest) {
	l.scratch = proto.AppendSSEHead(l.buf(), l.meta(c))
	if !c.writeNow(l.scratch) {
		return // closed by a failed write; closed() released everything
	}
	if c.headOnly {
		// SSE-10: the head alone; the connection is free for the next request.
		l.releaseStreams(c)
		c.resetForRequest(time.Now(), l.s.opts.KeepAliveTimeout)
		return
	}
	now := time.Now()
	c.state = stateStreaming
	c.ident = g.ident
	c.nextBeat = now.Add(l.s.opts.HeartbeatInterval - l.s.tick)
	c.stallSince = now
	if c.http10 {
		c.keepAlive = false // close-delimited body: the stream ends with the connection
	}
	if len(c.streams) == 0 { // subscribeSystem normally ran already (SYS-1)
		l.subscribe(c, timeline.AccessTokenChannel(g.ident.TokenID), timeline.StreamInvalid, true, true)
		l.subscribe(c, timeline.SystemChannel(g.ident.AccountID), timeline.StreamInvalid, true, true)
	}
	for i, ch := range g.channels {
		sub := l.subscribe(c, ch, g.stream, g.local, g.remote)
		sub.rel, g.rel = g.rel, nil // filtered streams have one channel
		if i == 0 {
			l.countStream(sub)
		}
	}
	l.s.Stats.EventSource.Add(1)
	l.s.log.Debug("stream started", "req.id", string(c.requestID()), "account", g.ident.AccountID, "stream", g.stream.Name(), "channels", g.channels)
}

// subscribe adds c as a listener of channel on this loop.
func (l *loop) subscribe(c *conn, channel string, stream timeline.Stream, local, remote bool) *subscription {
	t := l.s.hub.Acquire(channel, l.reader)
	list := l.subs[t]
	sub := &subscription{c: c, t: t, stream: stream, pos: len(list), local: local, remote: remote}
	l.subs[t] = append(list, sub)
	c.streams = append(c.streams, sub)
	return sub
}

// countStream counts one stream subscription in connected_channels (MET-2)
// through sub, the first of its channels: the reference counts a stream,
// not the Redis channels behind it (user is two).
func (l *loop) countStream(sub *subscription) {
	sub.counted = true
	l.s.Stats.Channels[sub.c.kind()][sub.stream].Add(1)
}

// unsubscribe removes one subscription of c; delivery stops at once (RED-2).
func (l *loop) unsubscribe(c *conn, sub *subscription) {
	for i, s := range c.streams {
		if s == sub {
			c.streams = append(c.streams[:i], c.streams[i+1:]...)
			break
		}
	}
	l.detach(sub)
}

// detach removes sub from its timeline's listeners on this loop.
func (l *loop) detach(sub *subscription) {
	sub.held = nil // RED-2: nothing more for this subscription
	if sub.rel != nil {
		l.s.opts.Relations.Release(sub.rel)
		sub.rel = nil
	}
	if sub.counted {
		sub.counted = false
		l.s.Stats.Channels[sub.c.kind()][sub.stream].Add(-1)
	}
	list := l.subs[sub.t]
	last := list[len(list)-1]
	list[sub.pos] = last
	last.pos = sub.pos
	list[len(list)-1] = nil
	list = list[:len(list)-1]
	if len(list) == 0 {
		delete(l.subs, sub.t)
	} else {
		l.subs[sub.t] = list
	}
	l.s.hub.Release(sub.t, l.reader)
}

// releaseStreams drops every subscription of c (SSE-9).
func (l *loop) releaseStreams(c *conn) {
	if len(c.streams) == 0 {
		return
	}
	for _, sub := range c.streams {
		l.detach(sub)
	}
	clear(c.streams)
	c.streams = c.streams[:0]
}

// endStream ends c's stream: the terminating chunk, then the connection
// idles as keep-alive (SSE-8); HTTP/1.0 and "Connection: close" streams end
// with the connection.
func (l *loop) endStream(c *conn, why reason) {
	if c.state != stateStreaming {
		return
	}
	l.releaseStreams(c)
	c.releaseIP()
	l.s.Stats.EventSource.Add(-1)
	l.s.log.Debug("stream ended", "req.id", string(c.requestID()), "reason", why.Label)
	if !c.keepAlive {
		// HTTP/1.0 (close-delimited: the close is the end) or a request
		// with "Connection: close", whose response promised a close (HTTP-7).
		c.closeAfterFlush = true
		if c.http10 {
			c.queue(nil)
		} else {
			c.queue(proto.ChunkedEnd)
		}
		c.state = stateReading
		return
	}
	c.queue(proto.ChunkedEnd)
	c.resetForRequest(time.Now(), l.s.opts.KeepAliveTimeout)
}
