package netpoll

import (
	"bytes"
	"context"
	"time"

	"github.com/sluice/sluice/auth"
	"github.com/sluice/sluice/filter"
	"github.com/sluice/sluice/timeline"
)

// maxHeld bounds the entries one subscription holds while its account's
// data is reloaded (FLT-16); past it the held entries are dropped for that
// recipient.
const maxHeld = 256

// verdict is what per-recipient filtering decides for one entry.
type verdict uint8

const (
	deliver  verdict = iota
	hold             // the account's data is being reloaded (FLT-16)
	dropBase         // dropBase+r: dropped for drop reason r
)

func dropFor(reason int) verdict { return dropBase + verdict(reason) }

// relationDrop maps a relationship rule to its drop reason.
var relationDrop = [...]int{
	filter.Malformed:   dropMalformed,
	filter.Block:       dropBlock,
	filter.Mute:        dropMute,
	filter.DomainBlock: dropDomainBlock,
}

// count records a drop for the metrics.
func (l *loop) count(v verdict) {
	if v >= dropBase {
		l.stats.dropped[v-dropBase].Add(1)
	}
}

// offer delivers e to sub unless filtering drops it; entries that must wait
// for the account's data queue behind earlier held ones. Runs on the loop.
func (l *loop) offer(sub *subscription, e *timeline.Entry) (delivered bool) {
	if len(sub.held) > 0 {
		if len(sub.held) >= maxHeld {
			// The account's data has not come back for a long burst: give
			// up on this recipient as the reference does when its queries
			// fail (LIFE-2), rather than holding events without bound.
			l.stats.dropped[dropUnavailable].Add(uint64(len(sub.held)))
			clear(sub.held)
			sub.held = append(sub.held[:0], e)
			return false
		}
		sub.held = append(sub.held, e)
		return false
	}
	frame, v := l.frame(sub, e)
	switch v {
	case deliver:
		sub.c.queue(frame)
		sub.c.sent++
		return true
	case hold:
		sub.held = append(sub.held, e)
		l.held = append(l.held, sub)
	default:
		l.count(v)
	}
	return false
}

// frame applies the pipeline of §8.1 to e for sub and returns its bytes.
// Only update and status.update on filtered channels carry a Status; every
// other entry passes (EVT-1, EVT-2). The common case (no filters matching)
// allocates nothing.
func (l *loop) frame(sub *subscription, e *timeline.Entry) ([]byte, verdict) {
	st := e.Status
	if st == nil {
		return l.plain(sub, e), deliver
	}
	if st.Local && !sub.local || !st.Local && !sub.remote {
		return nil, dropFor(dropFeedAccess) // step 2 (FLT-6)
	}
	ev := st.Filter
	id := sub.c.ident
	if filter.LanguageDrops(ev, id.ChosenLanguages, id.HasChosenLanguages) {
		return nil, dropFor(dropLanguage) // step 3 (FLT-9)
	}
	if sub.rel == nil {
		return l.plain(sub, e), deliver
	}
	data, ready := sub.rel.Snapshot(l.now)
	switch ready {
	case auth.Pending:
		return nil, hold
	case auth.Unavailable:
		return nil, dropFor(dropUnavailable) // the reference drops when its queries fail (LIFE-2)
	}
	if r := data.Relations.DropReason(ev); r != filter.Keep {
		return nil, dropFor(relationDrop[r]) // step 4 (FLT-3, FLT-2)
	}
	if ev.HasFiltered || data.Filters.Len() == 0 {
		return l.plain(sub, e), deliver // FLT-10, FLT-11: "filtered":[]
	}
	results, matched := data.Filters.AppendResults(l.scratch[:0], &ev.Text, l.now)
	l.scratch = results
	if !matched {
		return l.plain(sub, e), deliver
	}
	switch {
	case sub.c.ws != nil:
		return e.FilteredWS(results, sub.name), deliver
	case sub.c.http10:
		return unchunk(e.FilteredSSE(results)), deliver
	}
	return e.FilteredSSE(results), deliver
}

// plain is the entry's shared frame for sub's framing.
func (l *loop) plain(sub *subscription, e *timeline.Entry) []byte {
	switch {
	case sub.c.ws != nil:
		if sub.variant >= 0 && sub.variant < len(e.WS) {
			return e.WS[sub.variant]
		}
		// Subscribed after the entry was encoded: render it here once.
		return timeline.EncodeWS(sub.name, &e.Event)
	case sub.c.http10:
		return e.SSEUnchunked()
	}
	return e.SSE
}

// unchunk strips HTTP chunk framing from one chunk.
func unchunk(chunk []byte) []byte {
	i := bytes.Index(chunk, []byte("\r\n"))
	return chunk[i+2 : len(chunk)-2]
}

// retryHeld re-offers held entries whose account data may have arrived.
// Runs on the loop: after a cache Notify and on every sweep.
func (l *loop) retryHeld() {
	if len(l.held) == 0 {
		return
	}
	kept := l.held[:0]
	for _, sub := range l.held {
		for len(sub.held) > 0 {
			if sub.c.state == stateClosed {
				sub.held = nil
				break
			}
			frame, v := l.frame(sub, sub.held[0])
			if v == hold {
				break
			}
			if v == deliver {
				sub.c.queue(frame)
				sub.c.sent++
			} else {
				l.count(v)
			}
			sub.held[0] = nil
			sub.held = sub.held[1:]
		}
		if len(sub.held) > 0 {
			kept = append(kept, sub)
		} else {
			sub.held = nil
		}
	}
	clear(l.held[len(kept):])
	l.held = kept
}

// NotifyRelations tells the loops that an account's data was (re)loaded;
// pass it as auth.RelationsConfig.Notify. Any goroutine; never blocks.
func (s *Server) NotifyRelations(int64) {
	if ls := s.loops.Load(); ls != nil {
		for _, l := range *ls {
			l.post(l.retryHeldNow)
		}
	}
}

func (l *loop) retryHeldNow() {
	l.now = time.Now()
	l.retryHeld()
}

// acquireRelations pins the account's relationships and filters for a
// filtered subscription and loads them if needed. A failed load is not a
// gate failure: events are then dropped for this recipient, as the
// reference drops them when its per-event queries fail (LIFE-2). Worker
// goroutine.
func acquireRelations(ctx context.Context, rc *auth.RelationCache, id *auth.Identity, stream timeline.Stream) *auth.AccountEntry {
	if rc == nil || !stream.Filtered() {
		return nil
	}
	e := rc.Acquire(id.AccountID)
	_ = rc.EnsureLoaded(ctx, e)
	return e
}
