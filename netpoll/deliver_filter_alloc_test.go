//go:build !race

package netpoll

import (
	"testing"
	"time"
)

// The common filtered path allocates nothing per recipient: when every
// subscriber has blocks, mutes, a domain block and custom filters loaded
// and none of them matches the status, one publish allocates the same for 1
// and 2,000 subscribers, SSE and WebSocket alike. (A recipient whose filter
// matched would get a rendered variant of its own: allocations per
// recipient, since filter ids differ between accounts.)
func TestDeliverFilteredAllocsIndependentOfN(t *testing.T) {
	const n = 2000
	rc, entries := filterCache(t, n, time.Hour) // no reload starts during the test
	msg := []byte(benchStatus)                  // bob, "Hello #sluice": no subscriber's rule matches
	for _, websocket := range []bool{false, true} {
		one := newFilteredFanout(t, websocket, rc, entries[:1])
		many := newFilteredFanout(t, websocket, rc, entries)
		one.deliverFiltered(msg) // warm per-connection queues and scratch
		many.deliverFiltered(msg)
		a1 := testing.AllocsPerRun(50, func() { one.deliverFiltered(msg) })
		aN := testing.AllocsPerRun(50, func() { many.deliverFiltered(msg) })
		if aN != a1 {
			t.Errorf("websocket=%v: %.0f allocs per event for 1 subscriber, %.0f for %d: filtering allocates per recipient", websocket, a1, aN, n)
		}
		for _, c := range []*fakeConn{many.conns[0], many.conns[n-1]} {
			if c.writes != 51+1 {
				t.Errorf("websocket=%v: a subscriber got %d writes, want one per event: the status was dropped or held", websocket, c.writes)
			}
		}
	}
}
