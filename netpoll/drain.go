package netpoll

import (
	"context"
	"os"
	"time"

	"github.com/gobwas/ws"

	"github.com/sluice/sluice/proto"
)

// Drain starts the graceful shutdown of X-5: new connections are refused,
// and the open ones are closed spread evenly over DrainSeconds so that the
// reconnections do not arrive as one storm (SSE: the terminating chunk;
// WebSocket: close 1001). It returns when every connection is closed or ctx
// ends. Any goroutine.
func (s *Server) Drain(ctx context.Context) {
	s.drainStart.CompareAndSwap(0, time.Now().UnixNano())
	if !s.draining.CompareAndSwap(false, true) {
		return
	}
	if s.opts.Network == "unix" {
		_ = os.Remove(s.opts.Addr) // nobody new can find us
	}
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for s.Stats.Connections.Load() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Draining reports whether Drain has begun. Any goroutine.
func (s *Server) Draining() bool { return s.draining.Load() }

// drainSweep closes this loop's share of connections due by now: after a
// fraction f of the window, a fraction f of the connections the loop had
// when the drain began. Runs on the loop.
func (l *loop) drainSweep(now time.Time) {
	if l.drainTotal < 0 {
		l.drainTotal = len(l.conns)
	}
	window := l.s.opts.DrainSeconds
	keep := 0
	if elapsed := now.Sub(time.Unix(0, l.s.drainStart.Load())); window > 0 && elapsed < window {
		keep = int(float64(l.drainTotal) * float64(window-elapsed) / float64(window))
	}
	for len(l.conns) > keep {
		c := l.conns[len(l.conns)-1]
		switch c.state {
		case stateStreaming:
			l.endStream(c, reasonShutdown)
			c.closeAfterFlush = true
			l.flush()
		case stateWebSocket:
			c.writeNow(shutdownClose)
		}
		l.close(c, reasonShutdown)
	}
}

var shutdownClose = proto.AppendCloseFrame(nil, ws.StatusGoingAway, "server shutting down")
