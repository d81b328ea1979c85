//go:build !race

package netpoll

import "testing"

// Delivering one event to N connections allocates nothing per recipient:
// the allocations of one publish (decode and encode once) are the same for
// 1 and 2,000 subscribers, SSE and WebSocket alike.
func TestDeliverAllocsIndependentOfN(t *testing.T) {
	for _, websocket := range []bool{false, true} {
		one, many := newFanout(t, 1, websocket), newFanout(t, 2000, websocket)
		one.publishAndDeliver() // warm per-connection queues
		many.publishAndDeliver()
		a1 := testing.AllocsPerRun(50, one.publishAndDeliver)
		aN := testing.AllocsPerRun(50, many.publishAndDeliver)
		if aN != a1 {
			t.Errorf("websocket=%v: %.0f allocs per event for 1 subscriber, %.0f for 2000: delivery allocates per recipient", websocket, a1, aN)
		}
		if w := many.conns[1999].writes; w != 51+1 {
			t.Errorf("websocket=%v: last subscriber got %d writes, want one per event", websocket, w)
		}
	}
}
