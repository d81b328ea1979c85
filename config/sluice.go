package config

import (
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"time"
)

func (r *resolver) sluice(c *Config) {
	c.HeaderTimeout = r.duration("SLUICE_HEADER_TIMEOUT", durationRule{def: 15 * time.Second, min: time.Millisecond, why: "HTTP-9"})
	c.RelationsTTL = r.duration("SLUICE_RELATIONS_TTL", durationRule{def: 30 * time.Second, why: "FLT-5"})
	c.RailsPermissions = r.boolean("SLUICE_RAILS_PERMISSIONS", false)
	c.WSMaxMessage = r.size("SLUICE_WS_MAX_MESSAGE", 1<<20, 1, 100<<20)
	c.TrustRequestID = r.boolean("SLUICE_TRUST_REQUEST_ID", false)
	c.StatusEndpoints = r.boolean("SLUICE_STATUS_ENDPOINTS", true)
	c.StatusDetail = r.boolean("SLUICE_STATUS_DETAIL", false)
	c.StatusToken = r.get("SLUICE_STATUS_TOKEN")
	c.MaxBacklogBytes = r.size("SLUICE_MAX_BACKLOG_BYTES", 4<<20, 1<<10, 1<<30)
	c.WriteStallTimeout = r.duration("SLUICE_WRITE_STALL_TIMEOUT", durationRule{def: 60 * time.Second, min: time.Millisecond, why: "X-4"})
	c.DrainSeconds = r.duration("SLUICE_DRAIN_SECONDS", durationRule{def: 10 * time.Second, why: "X-5"})
	c.ReplayWindow = r.duration("SLUICE_REPLAY_WINDOW", durationRule{why: "§17.4"})
	c.MaxConnsPerIP = r.integer("SLUICE_MAX_CONNS_PER_IP", 0, 0, math.MaxInt32)
	c.WSMaxSubscriptions = r.integer("SLUICE_WS_MAX_SUBSCRIPTIONS", 0, 0, math.MaxInt32)
	c.WSCompression = r.boolean("SLUICE_WS_COMPRESSION", false)

	c.HeartbeatInterval = r.duration("SLUICE_HEARTBEAT_INTERVAL", durationRule{def: 15 * time.Second, min: time.Millisecond, max: 15 * time.Second, why: "SSE-7"})
	c.WSPingInterval = r.duration("SLUICE_WS_PING_INTERVAL", durationRule{def: 30 * time.Second, min: time.Millisecond, max: 30 * time.Second, why: "WS-17"})
	c.SubscribedKeyRefresh = r.duration("SLUICE_SUBSCRIBED_REFRESH", durationRule{def: 300 * time.Second, min: time.Millisecond, max: 360 * time.Second, why: "STR-8"})
	c.UnsubscribeLinger = r.duration("SLUICE_UNSUBSCRIBE_LINGER", durationRule{def: 2 * time.Second, max: 5 * time.Second, why: "RED-2"})
	c.EventLoops = r.integer("SLUICE_EVENT_LOOPS", runtime.NumCPU(), 1, 4096)
	c.RingSize = r.integer("SLUICE_RING_SIZE", 4096, 2, 1<<24)
	if n := c.RingSize; n&(n-1) != 0 {
		r.failf("SLUICE_RING_SIZE: %d is not a power of two (try %d)", n, 1<<(64-bits.LeadingZeros64(uint64(n))))
	}
}

// unknown warns about variables that cannot do what the operator meant
// (CFG-4: never fatal).
func (r *resolver) unknown() {
	if _, ok := r.lookup("STREAMING_CLUSTER_NUM"); ok {
		r.warnf("STREAMING_CLUSTER_NUM has no effect: Sluice is one process with SLUICE_EVENT_LOOPS event loops (default: one per CPU)")
	}
	known := make(map[string]bool)
	for _, v := range catalogue() {
		known[v.name] = true
	}
	var typos []string
	for name := range r.in.vars {
		if strings.HasPrefix(name, "SLUICE_") && !known[name] {
			typos = append(typos, name)
		}
	}
	slices.Sort(typos)
	for _, name := range typos {
		r.warnf("%s is not a Sluice variable and is ignored (sluice -h lists them)", name)
	}
}
