package netpoll

import (
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluice/sluice/auth"
	"github.com/sluice/sluice/proto"
	"github.com/sluice/sluice/timeline"
)

type connState uint8

const (
	// stateReading waits for (or parses) a request head.
	stateReading connState = iota
	// stateAuthenticating waits for the gate's database lookups; input
	// stays buffered until the answer comes back.
	stateAuthenticating
	// stateStreaming is an open SSE response.
	stateStreaming
	// stateWebSocket is an upgraded connection (§11).
	stateWebSocket
	stateClosed
)

// maxPendingInput bounds what a client may send while its request is being
// authenticated or its stream is open; Mastodon clients send nothing then.
const maxPendingInput = 64 << 10

// conn is one client connection. Owned by its loop.
type conn struct {
	gc   gnet.Conn
	l    *loop
	slot int // index in loop.conns
	// state and the current request
	state     connState
	keepAlive bool
	http10    bool
	headOnly  bool
	partial   bool      // part of a request head has arrived
	deadline  time.Time // of the head (HTTP-9) or of keep-alive idleness (HTTP-7)
	bodyLeft  int64     // request body bytes still to discard (HTTP-10)
	reqID     [36]byte
	reqIDLen  uint8
	ip        *ipCount // the stream's count against its client address
	gen       uint32   // bumped per request so stale lookups are ignored
	killed    bool     // a kill arrived while the request was authenticating

	// an open stream
	ident    *auth.Identity
	streams  []*subscription // every subscription, system channels included
	nextBeat time.Time
	ws       *wsState // WebSocket connections only

	// output queued by the current drain or sweep, written in loop.flush
	out             [][]byte
	outBytes        int
	sent            int // events among out (not heartbeats)
	closeAfterFlush bool

	// write-stall tracking (§17.2)
	stallBuffered int
	stallQueued   int
	stallSince    time.Time
}

// subscription is one timeline a connection listens to.
type subscription struct {
	c      *conn
	t      *timeline.Timeline
	stream timeline.Stream
	pos    int // index in loop.subs[t]
	// feed access for filtered streams (FLT-6): false drops local/remote
	// statuses for this subscription.
	local, remote bool
	// WebSocket: the stream-name array and its index in Entry.WS.
	name    []byte
	variant int
	// rel is the account's relationships and custom filters (§8.2, §8.5);
	// nil on unfiltered streams or when the server runs without a cache.
	rel *auth.AccountEntry
	// counted: this subscription stands for its stream in connected_channels.
	counted bool
	// held are entries waiting for rel to be reloaded (FLT-16), in order;
	// later entries of the subscription queue behind them (RED-10).
	held []*timeline.Entry
}

// queue appends b to the connection's pending output. b must stay unchanged
// until the next flush (entries and static frames are immutable).
func (c *conn) queue(b []byte) {
	if c.state == stateClosed {
		return
	}
	if len(c.out) == 0 {
		c.l.touched = append(c.l.touched, c)
	}
	c.out = append(c.out, b)
	c.outBytes += len(b)
}

// writeNow writes b at once (gnet copies what the socket does not take) and
// reports whether the connection is still open.
func (c *conn) writeNow(b []byte) (alive bool) {
	if c.state == stateClosed {
		return false
	}
	c.stallQueued += len(b)
	_, _ = c.gc.Write(b)
	// A failed write makes gnet close the connection (and call OnClose)
	// inside Write: callers must not carry on with a closed connection.
	return c.state != stateClosed
}

var (
	heartbeatChunk = proto.AppendChunk(nil, proto.SSEHeartbeat)
	preambleChunk  = proto.AppendChunk(nil, proto.SSEPreamble)
)

func (c *conn) heartbeat() []byte {
	if c.http10 {
		return proto.SSEHeartbeat
	}
	return heartbeatChunk
}

// resetForRequest prepares for the next request head on the connection.
// requestID is the current request's id (LOG-1).
func (c *conn) requestID() []byte { return c.reqID[:c.reqIDLen] }

func (c *conn) resetForRequest(now time.Time, timeout time.Duration) {
	c.state = stateReading
	c.partial = false
	c.headOnly = false
	c.killed = false
	c.deadline = now.Add(timeout)
	c.gen++
}
