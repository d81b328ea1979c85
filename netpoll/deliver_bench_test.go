package netpoll

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluice/sluice/auth"
	"github.com/sluice/sluice/timeline"
)

// fakeConn is the part of gnet.Conn the delivery path uses; it counts what
// it is given instead of writing to a socket.
type fakeConn struct {
	gnet.Conn
	writes, bytes int
}

func (f *fakeConn) Writev(bs [][]byte) (int, error) {
	f.writes++
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	f.bytes += n
	return n, nil
}
func (f *fakeConn) Write(b []byte) (int, error) { f.writes++; f.bytes += len(b); return len(b), nil }
func (f *fakeConn) OutboundBuffered() int       { return 0 }
func (f *fakeConn) InboundBuffered() int        { return 0 }

// fakeLoop never runs tasks: the test drives Drain itself.
type fakeLoop struct{ gnet.EventLoop }

func (fakeLoop) Execute(context.Context, gnet.Runnable) error { return nil }

// fanout is one loop with n streaming subscribers of timeline:public.
type fanout struct {
	l     *loop
	hub   *timeline.Hub
	conns []*fakeConn
}

func newFanout(tb testing.TB, n int, websocket bool) *fanout {
	hub := timeline.NewHub(timeline.Options{Loops: 1, RingSize: 1024})
	s := New(Options{HeartbeatInterval: time.Hour, WSPingInterval: time.Hour, HeaderTimeout: time.Hour,
		KeepAliveTimeout: time.Hour, MaxBacklogBytes: 1 << 30, WriteStallTimeout: time.Hour}, hub, nil, nil)
	l := newLoop(s, fakeLoop{})
	f := &fanout{l: l, hub: hub}
	for i := 0; i < n; i++ {
		fc := &fakeConn{}
		c := l.open(fc)
		c.state = stateStreaming
		c.ident = &auth.Identity{AccountID: int64(i + 1), TokenID: int64(i + 1)}
		if websocket {
			c.state = stateWebSocket
			c.ws = &wsState{}
			st := &wsStream{stream: timeline.StreamPublic, name: []byte(`["public"]`), channels: []string{"timeline:public"}}
			sub := l.subscribe(c, "timeline:public", timeline.StreamPublic, true, true)
			sub.name = st.name
			sub.variant = hub.WSVariant(sub.t, st.name)
			st.subs = append(st.subs, sub)
			c.ws.streams = append(c.ws.streams, st)
		} else {
			l.subscribe(c, "timeline:public", timeline.StreamPublic, true, true)
		}
		f.conns = append(f.conns, fc)
	}
	return f
}

const benchStatus = `{"event":"update","payload":{"id":"115600000000000001","created_at":"2026-11-23T10:00:00.000Z","language":"en","content":"<p>Hello <a href=\"https://local.test/tags/sluice\">#sluice</a></p>","account":{"id":"109000000000000002","username":"bob","acct":"bob","display_name":"Bob"},"media_attachments":[],"mentions":[],"tags":[{"name":"sluice"}]}}`

// publishAndDeliver ingests one message and drains it to every subscriber,
// as the loop's drain task does (latency recording included).
func (f *fanout) publishAndDeliver() {
	f.hub.Ingest("timeline:public", []byte(benchStatus))
	_ = f.l.runDrain(context.Background())
}

// BenchmarkDeliver measures publish-to-flush for one event to N idle
// subscribers on one loop (decode once, one writev per subscriber).
func BenchmarkDeliver(b *testing.B) {
	for _, websocket := range []bool{false, true} {
		for _, n := range []int{1, 1000, 10000} {
			name := fmt.Sprintf("sse/N=%d", n)
			if websocket {
				name = fmt.Sprintf("ws/N=%d", n)
			}
			b.Run(name, func(b *testing.B) {
				f := newFanout(b, n, websocket)
				f.publishAndDeliver()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					f.publishAndDeliver()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
			})
		}
	}
}
