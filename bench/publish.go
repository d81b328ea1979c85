package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// Publisher sends messages the way Rails does: PUBLISH on a Redis channel.
// Tests substitute a publisher that feeds a scripted fake server directly.
type Publisher interface {
	// Publish sends msg on channel (namespace already applied). msg is only
	// valid during the call.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribers returns the subscriber count of each channel (PUBSUB
	// NUMSUB), so a run can wait until the server has subscribed.
	Subscribers(ctx context.Context, channels []string) (map[string]int64, error)
	Close()
}

type redisPublisher struct{ c rueidis.Client }

// NewRedisPublisher connects to a loopback Redis at addr (host:port).
func NewRedisPublisher(addr string) (Publisher, error) {
	addr, err := CheckLoopback(addr)
	if err != nil {
		return nil, err
	}
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       []string{addr},
		DisableCache:      true,
		ForceSingleClient: true,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: redis %s: %v", addr, err)
	}
	return &redisPublisher{c: c}, nil
}

func (p *redisPublisher) Publish(ctx context.Context, channel string, msg []byte) error {
	return p.c.Do(ctx, p.c.B().Publish().Channel(channel).Message(rueidis.BinaryString(msg)).Build()).Error()
}

func (p *redisPublisher) Subscribers(ctx context.Context, channels []string) (map[string]int64, error) {
	return p.c.Do(ctx, p.c.B().PubsubNumsub().Channel(channels...).Build()).AsIntMap()
}

func (p *redisPublisher) Close() { p.c.Close() }

// pubPlan is what the publisher sends in one run.
type pubPlan struct {
	Channels  []Channel
	Weights   []int // share of messages per channel
	Namespace string
	Run       uint32
	Messages  int
	Rate      float64 // messages per second, all channels together
}

// pubResult is what was actually published.
type pubResult struct {
	Published []int64 // per channel: the highest sequence number sent
	Errors    int64
	FirstErr  string
	Start     time.Time
	End       time.Time
	// Behind is how far the publisher fell behind its schedule at worst.
	Behind time.Duration
}

// publish sends plan.Messages messages at plan.Rate, spreading them over
// the channels by weight (smooth weighted round-robin), and stamps each
// with its publish time right before the PUBLISH call. count is updated
// after every message so progress lines can show it.
func publish(ctx context.Context, pub Publisher, plan pubPlan, count func(int64)) pubResult {
	res := pubResult{Published: make([]int64, len(plan.Channels)), Start: time.Now()}
	names := make([]string, len(plan.Channels))
	for i, c := range plan.Channels {
		names[i] = c.RedisName(plan.Namespace)
	}
	credit := make([]int, len(plan.Channels))
	totalW := 0
	for _, w := range plan.Weights {
		totalW += w
	}
	b := newPayloadBuilder()
	interval := time.Duration(float64(time.Second) / max(plan.Rate, 0.001))
	for i := 0; i < plan.Messages; i++ {
		due := res.Start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				res.End = time.Now()
				return res
			case <-time.After(d):
			}
		} else {
			res.Behind = max(res.Behind, -d)
		}
		ch := pickWeighted(credit, plan.Weights, totalW)
		seq := res.Published[ch] + 1
		m := marker{run: plan.Run, ch: uint16(ch), seq: uint32(seq), ns: time.Now().UnixNano()}
		msg := b.message(plan.Channels[ch].Event, m)
		if err := pub.Publish(ctx, names[ch], msg); err != nil {
			res.Errors++
			if res.FirstErr == "" {
				res.FirstErr = err.Error()
			}
			if ctx.Err() != nil {
				break
			}
			continue // the sequence number is not used; the next message reuses it
		}
		res.Published[ch] = seq
		count(int64(i + 1))
	}
	res.End = time.Now()
	return res
}

// pickWeighted is one step of smooth weighted round-robin.
func pickWeighted(credit, weights []int, total int) int {
	best := 0
	for i, w := range weights {
		credit[i] += w
		if credit[i] > credit[best] {
			best = i
		}
	}
	credit[best] -= total
	return best
}

// waitSubscribed polls PUBSUB NUMSUB until every channel has a subscriber
// or timeout passes; it reports whether they all did. Servers that use
// pattern subscriptions never show up here; the caller then just settles.
func waitSubscribed(ctx context.Context, pub Publisher, channels []string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		m, err := pub.Subscribers(ctx, channels)
		if err == nil {
			ok := true
			for _, c := range channels {
				ok = ok && m[c] > 0
			}
			if ok {
				return true
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}
