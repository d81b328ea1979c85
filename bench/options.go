package bench

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Options configure a scenario run. The cmd/sluice-bench flags fill them;
// Defaults gives the values documented there.
type Options struct {
	Target Target
	PID    int // target process to sample in /proc; 0 = do not sample
	// PIDFile, when set, holds the target's process id and is read at
	// every sample, so the target may be restarted between runs.
	PIDFile string
	Token   string // access token of every connection
	Account string // account id that owns Token (user and notification channels)

	// One stream per run (hold, fanout, storm): an SSE path, or with WS the
	// upgrade path and a stream name (plus Tag for hashtag streams).
	Path   string
	WS     bool
	WSPath string
	Stream string
	Tag    string

	// Counts are connection counts: the steps of hold, the subscriber
	// counts of a fanout sweep, or a single N elsewhere.
	Counts         []int
	Rate           float64 // connects per second
	MaxInflight    int     // connects in progress at once, fleet-wide
	ConnectTimeout time.Duration
	Hold           time.Duration // how long hold keeps the connections
	Settle         time.Duration // pause before sampling or publishing
	MaxDuration    time.Duration // hard bound on the whole scenario

	Sources   string // -src: auto, none, or a list/range of 127.0.0.x
	Workers   int    // force worker processes; 0 = only when needed
	PerWorker int    // connections per process (≤ descriptor limit − reserve)
	Loops     int    // event loops per process

	Redis     string // host:port of the Redis the target reads
	Namespace string // REDIS_NAMESPACE of the target
	Messages  int    // messages to publish (fanout, mixed)
	PubRate   float64
	Drain     time.Duration // wait for stragglers after the last publish

	StormRounds int
	StormRate   float64 // reconnect rate after a drop; 0 = unlimited
	ChurnRate   float64 // connections closed and reopened per second
	ChurnFor    time.Duration
	SlowRate    int // bytes per second a slow reader reads

	// Progress receives a live status line (nil: none). Log receives
	// warnings (nil: discarded).
	Progress io.Writer
	Log      io.Writer
	// Publisher replaces Redis (tests).
	Publisher Publisher
}

// Defaults returns the documented defaults.
func Defaults() Options {
	return Options{
		Token: "alice-read-token", Account: "109000000000000001",
		Path: "/api/v1/streaming/public", WSPath: "/api/v1/streaming", Stream: "public", Tag: "bench",
		Counts: []int{1000}, Rate: 2000, MaxInflight: 2048, ConnectTimeout: 10 * time.Second,
		Hold: 20 * time.Second, Settle: 2 * time.Second, MaxDuration: 10 * time.Minute,
		Sources: "auto", PerWorker: DefaultPerWorker, Loops: 1,
		Redis: "127.0.0.1:6379", Messages: 200, PubRate: 20, Drain: 3 * time.Second,
		StormRounds: 2, ChurnRate: 100, ChurnFor: 10 * time.Second, SlowRate: 2048,
	}
}

// maxCount is the largest of the Counts.
func (o *Options) maxCount() int {
	n := 0
	for _, c := range o.Counts {
		n = max(n, c)
	}
	return n
}

// Validate checks the options that every scenario needs.
func (o *Options) Validate() error {
	if o.Target.Network == "" {
		return fmt.Errorf("bench: no target; give -target 127.0.0.1:4000 (or a unix: socket)")
	}
	if len(o.Counts) == 0 {
		return fmt.Errorf("bench: -n lists no connection counts")
	}
	for _, n := range o.Counts {
		if n < 1 || n > MaxConnections {
			return fmt.Errorf("bench: -n %d is outside 1..%d", n, MaxConnections)
		}
	}
	if o.MaxDuration <= 0 || o.MaxDuration > 24*time.Hour {
		return fmt.Errorf("bench: -max-duration %v must be between 0 and 24h", o.MaxDuration)
	}
	if o.Messages < 0 || o.Messages > 10_000_000 {
		return fmt.Errorf("bench: -messages %d is outside 0..10,000,000", o.Messages)
	}
	if o.Rate < 0 || o.PubRate <= 0 {
		return fmt.Errorf("bench: -rate must be ≥ 0 and -pub-rate > 0")
	}
	return nil
}

// streamGroup describes the single-stream group of hold, fanout and storm,
// and returns the stream's Redis channels (without namespace).
func (o *Options) streamGroup(count int) (Group, []string, error) {
	if o.WS {
		params := url.Values{"stream": {o.Stream}}
		if strings.HasPrefix(o.Stream, "hashtag") {
			params.Set("tag", o.Tag)
		}
		chans, err := StreamChannels(o.Stream, params, o.Account)
		if err != nil {
			return Group{}, nil, err
		}
		path := o.WSPath + "?" + params.Encode()
		return Group{Name: "ws " + o.Stream, Count: count, WS: true, Path: path}, chans, nil
	}
	stream, params, err := StreamForPath(o.Path)
	if err != nil {
		return Group{}, nil, err
	}
	chans, err := StreamChannels(stream, params, o.Account)
	if err != nil {
		return Group{}, nil, err
	}
	return Group{Name: "sse " + o.Path, Count: count, Path: o.Path}, chans, nil
}

// shortTransport names the stream in chart legends: "SSE public".
func (o *Options) shortTransport() string {
	if o.WS {
		return "WS " + o.Stream
	}
	if stream, _, err := StreamForPath(o.Path); err == nil {
		return "SSE " + stream
	}
	return "SSE " + o.Path
}

// transport names the stream for titles.
func (o *Options) transport() string {
	if o.WS {
		return "WebSocket " + o.Stream
	}
	return "SSE " + o.Path
}

func newRunID() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint32(b[:])&0x7fffffff | 1
}
