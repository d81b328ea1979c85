package netpoll

import (
	"context"
	"errors"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/sluice/sluice/auth"
	"github.com/sluice/sluice/proto"
	"github.com/sluice/sluice/timeline"
)

// wsCloseTimeout bounds the wait for the client's close frame after the
// server sent one (§11.7). A shorter ping interval shortens it too: a peer
// that answers nothing for a whole interval counts as gone (WS-17).
const wsCloseTimeout = 30 * time.Second

// wsState is the WebSocket part of a connection; nil until the upgrade.
type wsState struct {
	asm      proto.Assembler
	streams  []*wsStream
	nextPing time.Time
	// pingOutstanding: a ping went out and nothing came back yet (WS-17).
	pingOutstanding bool
	// closing: our close frame is out; waiting for the client's.
	closing       bool
	closeDeadline time.Time
	// busy: a subscribe/unsubscribe is being resolved off the loop; later
	// frames wait in the input buffer so messages apply in order (WS-15).
	busy bool
}

// wsStream is one multiplexed subscription (WS-9).
type wsStream struct {
	stream   timeline.Stream
	name     []byte   // stream-name array, e.g. ["hashtag","Café"] (WS-7)
	channels []string // Redis channels; two subscriptions are the same when these are
	subs     []*subscription
}

// upgradeRequest carries an upgrade through authentication; all copied.
type upgradeRequest struct {
	c        *conn
	gen      uint32
	token    string
	refusal  *proto.UpgradeError
	key      []byte
	protocol []byte
	stream   string // ?stream= initial subscription (WS-8)
	tag      string
	hasTag   bool
	list     string

	ident *auth.Identity
	fail  reason
}

// serveUpgrade handles any upgrade request, whatever its path (WS-1):
// authentication first, then the handshake checks (WS-2).
func (l *loop) serveUpgrade(c *conn, r *proto.Request) {
	c.keepAlive = false
	token, ok := tokenOf(r, l.buf())
	if !ok {
		l.refuseUpgrade(c, reasonMissingToken)
		return
	}
	if !l.limitIP(c, r.XForwardedFor) {
		l.refuseUpgrade(c, reasonTooManyConns)
		return
	}
	u := &upgradeRequest{c: c, gen: c.gen, token: string(token), refusal: proto.CheckUpgrade(r)}
	u.key = append([]byte(nil), r.SecWebSocketKey...)
	if r.HasSecWebSocketProtocol {
		u.protocol = append([]byte(nil), proto.FirstProtocol(r.SecWebSocketProtocol)...)
	}
	if v, found := proto.QueryValue(l.buf(), r.RawQuery, "stream"); found {
		u.stream = string(v)
	}
	if v, found := proto.QueryValue(l.buf(), r.RawQuery, "tag"); found {
		u.tag, u.hasTag = string(v), true
	}
	if v, found := proto.QueryValue(l.buf(), r.RawQuery, "list"); found {
		u.list = string(v)
	}
	c.state = stateAuthenticating
	dir := l.s.dir
	if !l.s.runner.Submit(func() {
		u.fail = reasonInternal // unless the lookup completes, even by panicking
		defer l.post(func() { l.finishUpgrade(u) })
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		id, err := dir.LookupToken(ctx, u.token)
		switch {
		case errors.Is(err, auth.ErrInvalidToken):
			u.fail = reasonInvalidToken
		case err != nil:
			u.fail = reasonInternal
		default:
			u.fail, u.ident = reason{}, id
		}
	}) {
		c.state = stateReading
		l.refuseUpgrade(c, reasonInternal)
	}
}

// refuseUpgrade writes WS-5's hand-made refusal and closes after it.
func (l *loop) refuseUpgrade(c *conn, why reason) {
	l.scratch = proto.AppendUpgradeAuthRefusal(l.buf(), c.requestID(), why.Status, why.Message)
	c.writeNow(l.scratch)
	l.close(c, why)
}

// finishUpgrade completes the handshake on the loop (WS-3) and applies the
// initial subscription (WS-8).
func (l *loop) finishUpgrade(u *upgradeRequest) {
	c := u.c
	if c.state != stateAuthenticating || c.gen != u.gen {
		return
	}
	if u.fail.Status != 0 {
		l.refuseUpgrade(c, u.fail)
		return
	}
	if u.refusal != nil {
		l.scratch = proto.AppendUpgradeRefusal(l.buf(), u.refusal)
		c.writeNow(l.scratch)
		l.close(c, reasonBadRequest)
		return
	}
	l.scratch = proto.AppendSwitchingProtocols(l.buf(), u.key, u.protocol, c.requestID())
	if !c.writeNow(l.scratch) {
		return
	}
	now := time.Now()
	c.state = stateWebSocket
	c.ident = u.ident
	c.ws = &wsState{nextPing: now.Add(l.s.opts.WSPingInterval - l.s.tick)}
	c.stallSince = now
	l.subscribe(c, timeline.AccessTokenChannel(u.ident.TokenID), timeline.StreamInvalid, true, true)
	l.subscribe(c, timeline.SystemChannel(u.ident.AccountID), timeline.StreamInvalid, true, true)
	l.s.Stats.WebSocket.Add(1)
	if u.stream != "" {
		m := proto.ClientMessage{Type: "subscribe", Stream: u.stream, HasStream: true, HasTag: u.hasTag, Tag: u.tag, TagKind: proto.KindString}
		if u.list != "" {
			m.HasList, m.List, m.ListJSON = true, u.list, proto.AppendQuoted(nil, u.list)
		}
		l.wsCommand(c, &m)
	}
	// Frames that arrived with or after the upgrade request.
	if c.gc.InboundBuffered() > 0 && l.wsTraffic(c) == gnet.Close {
		l.close(c, reasonClientClosed)
	}
}

// wsTraffic decodes client frames (WS-16) until the input runs out or a
// message must wait for the database, then writes the replies they queued
// at once rather than at the next tick (the backlog cap applies to them).
func (l *loop) wsTraffic(c *conn) gnet.Action {
	action := l.wsFrames(c)
	l.flush()
	return action
}

func (l *loop) wsFrames(c *conn) gnet.Action {
	w := c.ws
	for !w.busy && c.state == stateWebSocket {
		buf, _ := c.gc.Peek(-1)
		if len(buf) == 0 {
			return gnet.None
		}
		if c.gc.OutboundBuffered() > l.s.opts.MaxBacklogBytes {
			// Pings or bad subscribes from a client that does not read the
			// answers: the backlog cap applies to them too (§17.2).
			l.slowConsumer(c, reasonSlowConsumer)
			return gnet.None
		}
		// The limit counts what a fragmented message already holds, so an
		// oversized message fails before its next fragment arrives.
		f, n, err := proto.ParseFrame(buf, l.s.opts.WSMaxMessage-w.asm.Buffered())
		if errors.Is(err, proto.ErrNeedMore) {
			return gnet.None
		}
		if err != nil {
			var ce *proto.CloseError
			if errors.As(err, &ce) {
				return l.wsFail(c, ce)
			}
			return l.wsFail(c, &proto.CloseError{Code: ws.StatusProtocolError})
		}
		w.pingOutstanding = false // any frame proves the peer is alive
		action := l.wsFrame(c, f)
		if c.state == stateClosed {
			return gnet.None // a failed write closed it inside wsFrame
		}
		// The payload is borrowed from the input buffer: handlers copied it.
		_, _ = c.gc.Discard(n)
		if action != gnet.None {
			return action
		}
	}
	if c.gc.InboundBuffered() > maxPendingInput+l.s.opts.WSMaxMessage {
		return gnet.Close
	}
	return gnet.None
}

// wsFrame handles one decoded frame.
func (l *loop) wsFrame(c *conn, f proto.Frame) gnet.Action {
	w := c.ws
	switch f.Op {
	case ws.OpPing:
		l.scratch = proto.AppendFrameHeader(l.buf(), ws.OpPong, len(f.Payload))
		l.scratch = append(l.scratch, f.Payload...)
		c.writeNow(l.scratch)
		return gnet.None
	case ws.OpPong:
		return gnet.None
	case ws.OpClose:
		code, why, cerr := proto.ParseClosePayload(f.Payload)
		if cerr != nil {
			return l.wsFail(c, cerr)
		}
		if !w.closing { // echo the client's code and reason (WS-16)
			l.flush() // replies queued earlier go before the close frame
			c.writeNow(proto.AppendCloseReply(l.buf(), code, why))
		}
		return gnet.Close
	}
	if w.closing {
		return gnet.None // data after our close frame is ignored
	}
	msg, op, done, cerr := w.asm.Push(f, l.s.opts.WSMaxMessage)
	if cerr != nil {
		return l.wsFail(c, cerr)
	}
	if !done {
		return gnet.None
	}
	if op == ws.OpBinary {
		return l.wsFail(c, &proto.CloseError{Code: ws.StatusUnsupportedData, Reason: "The mastodon streaming server does not support binary messages"})
	}
	m, ok := proto.ParseClientMessage(msg)
	if !ok {
		return gnet.None // WS-12
	}
	l.wsCommand(c, &m)
	return gnet.None
}

// wsFail closes with code (1002, 1003, 1007, 1009 …) and drops the socket,
// after the replies already queued.
func (l *loop) wsFail(c *conn, ce *proto.CloseError) gnet.Action {
	l.flush()
	c.writeNow(proto.AppendCloseFrame(l.buf(), ce.Code, ce.Reason))
	return gnet.Close
}

// wsSend writes a text message (error replies).
func (l *loop) wsSend(c *conn, msg []byte) {
	frame := proto.AppendTextFrame(make([]byte, 0, len(msg)+4), msg)
	c.queue(frame)
}

// wsCommand runs a subscribe or unsubscribe message (WS-9, WS-11); other
// types are ignored (WS-12).
func (l *loop) wsCommand(c *conn, m *proto.ClientMessage) {
	subscribe := m.Type == "subscribe"
	if !subscribe && m.Type != "unsubscribe" {
		return
	}
	id := c.ident
	if subscribe {
		need := timeline.StreamUser
		if m.HasStream && m.Stream == timeline.StreamUserNotification.Name() {
			need = timeline.StreamUserNotification
		}
		if !scopeAllows(id.Scopes, need) {
			l.wsSend(c, proto.AppendWSError(nil, reasonScope.Message, reasonScope.Status))
			return
		}
		if max := l.s.opts.WSMaxSubscriptions; max > 0 && len(c.ws.streams) >= max {
			l.wsSend(c, proto.AppendWSError(nil, reasonTooManySubs.Message, reasonTooManySubs.Status))
			return
		}
	}
	fail := func(why reason) {
		if subscribe {
			l.wsSend(c, proto.AppendWSError(nil, why.Message, why.Status))
		} else {
			l.wsSend(c, proto.AppendWSError(nil, "Error unsubscribing from channel", 0))
		}
	}
	stream, ok := timeline.ParseStream(m.Stream)
	if !m.HasStream || !ok {
		fail(reasonUnknownStream)
		return
	}
	if (stream == timeline.StreamHashtag || stream == timeline.StreamHashtagLocal) && m.HasTag && m.TagKind != proto.KindString {
		fail(reasonInternal) // WS-10: "tag":123
		return
	}
	name := proto.AppendStreamName(nil, stream.Name(), m.Tag, m.ListJSON)
	tag, hasTag, list := m.Tag, m.HasTag && m.Tag != "", m.List
	c.ws.busy = true
	gen, dir, rc, rails := c.gen, l.s.dir, l.s.opts.Relations, l.s.opts.RailsPermissions
	if !l.s.runner.Submit(func() {
		var (
			channels      []string
			local, remote bool
			rel           *auth.AccountEntry
		)
		why := reasonInternal // unless resolve completes, even by panicking
		defer l.post(func() {
			defer func() {
				if rel != nil {
					rc.Release(rel)
				}
			}()
			if c.state != stateWebSocket || c.gen != gen {
				return
			}
			c.ws.busy = false
			if c.ws.closing {
				return // killed meanwhile: nothing may follow the close frame (§11.7)
			}
			switch {
			case why.Status != 0:
				fail(why)
			case subscribe:
				l.wsSubscribe(c, stream, name, channels, local, remote, &rel)
			default:
				l.wsUnsubscribe(c, channels)
			}
			if c.gc.InboundBuffered() > 0 && l.wsTraffic(c) == gnet.Close {
				l.close(c, reasonClientClosed)
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		channels, local, remote, why = resolve(ctx, dir, id, rails, stream, tag, hasTag, list)
		if why.Status == 0 && subscribe {
			rel = acquireRelations(ctx, rc, id, stream)
		}
	}) {
		c.ws.busy = false
		fail(reasonInternal)
	}
}

func (w *wsState) find(channels []string) int {
	for i, s := range w.streams {
		if equalStrings(s.channels, channels) {
			return i
		}
	}
	return -1
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wsSubscribe adds a stream unless one with the same channels exists
// (WS-9 step 3).
// rel is handed to the new subscription (and cleared) when one is made.
func (l *loop) wsSubscribe(c *conn, stream timeline.Stream, name []byte, channels []string, local, remote bool, rel **auth.AccountEntry) {
	w := c.ws
	if w.find(channels) >= 0 {
		return
	}
	st := &wsStream{stream: stream, name: name, channels: channels}
	for i, ch := range channels {
		sub := l.subscribe(c, ch, stream, local, remote)
		sub.name = name
		sub.variant = l.s.hub.WSVariant(sub.t, name)
		sub.rel, *rel = *rel, nil
		st.subs = append(st.subs, sub)
		if i == 0 {
			l.countStream(sub)
		}
	}
	w.streams = append(w.streams, st)
}

// wsUnsubscribe removes the stream with exactly these channels, if any.
func (l *loop) wsUnsubscribe(c *conn, channels []string) {
	w := c.ws
	i := w.find(channels)
	if i < 0 {
		return
	}
	st := w.streams[i]
	w.streams = append(w.streams[:i], w.streams[i+1:]...)
	for _, sub := range st.subs {
		l.unsubscribe(c, sub)
	}
}

// wsKill answers kill with an empty close frame and waits for the client's
// close (§11.7).
func (l *loop) wsKill(c *conn) {
	w := c.ws
	if w.closing {
		return
	}
	l.releaseStreams(c)
	l.s.Stats.WebSocket.Add(-1)
	w.streams = nil
	w.closing = true
	w.closeDeadline = time.Now().Add(min(wsCloseTimeout, l.s.opts.WSPingInterval))
	c.queue(proto.CloseFrameEmpty)
}

// wsSweep sends pings and reaps sockets that did not answer the last one
// (WS-17) or never completed the close handshake.
func (l *loop) wsSweep(c *conn, now time.Time) bool {
	w := c.ws
	if w.closing {
		if now.After(w.closeDeadline) {
			l.close(c, reasonClientClosed)
			return true
		}
		return false
	}
	if !now.Before(w.nextPing) {
		if w.pingOutstanding {
			l.close(c, reasonIdle) // no close frame: the client sees 1006
			return true
		}
		c.queue(proto.PingFrame)
		w.pingOutstanding = true
		w.nextPing = now.Add(l.s.opts.WSPingInterval - l.s.tick)
	}
	return false
}
