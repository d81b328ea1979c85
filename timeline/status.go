package timeline

import (
	"strings"
	"sync"

	"github.com/sluice/sluice/filter"
	"github.com/sluice/sluice/proto"
)

// Status is what per-recipient filtering needs from an update or
// status.update payload, extracted once per event (§8.1), and the variants
// of the payload that recipients with matching custom filters get.
type Status struct {
	// Filter holds author, mentions, domain, language and the searchable
	// text T (FLT-3, FLT-9, FLT-12).
	Filter *filter.Event
	// Local is S.account.username == S.account.acct (FLT-8).
	Local bool

	// prefix is the canonical payload up to and including `,"filtered":`
	// (empty when Rails already sent a filtered key, FLT-10).
	prefix []byte

	mu       sync.Mutex
	variants map[string]*variant // by the rendered "filtered" array
}

// variant is the event rendered with one particular "filtered" value.
type variant struct {
	event proto.Event
	sse   []byte
	ws    map[string][]byte // by stream-name array
}

// filteredChannel reports whether the channel feeds a filtered stream
// (public*, hashtag*; §4.1).
func filteredChannel(channel string) bool {
	return strings.HasPrefix(channel, "timeline:public") || strings.HasPrefix(channel, "timeline:hashtag:")
}

// filterable reports whether an event goes through §8 on a filtered stream
// (EVT-1).
func filterable(name string) bool { return name == "update" || name == "status.update" }

// prepareStatus validates a status payload (FLT-1) and renders the payload
// every recipient without matching custom filters gets: the canonical
// object with "filtered":[] as its last key (FLT-11), or unchanged when
// Rails already put a filtered key there (FLT-10).
func prepareStatus(ev *proto.Event) (*Status, []byte, error) {
	fe, err := filter.NewEvent(&ev.Value)
	if err != nil {
		return nil, nil, err
	}
	v := &ev.Value
	if v.Kind == proto.KindString { // legacy string payload: send the object (FLT-1)
		parsed, err := proto.ParseJSON([]byte(v.Str))
		if err != nil {
			return nil, nil, err
		}
		v = &parsed
	}
	st := &Status{Filter: fe, Local: fe.Local}
	payload := proto.AppendCanonical(nil, v)
	if !fe.HasFiltered {
		payload = append(payload[:len(payload)-1], `,"filtered":[]}`...)
		st.prefix = payload[:len(payload)-3]
	}
	return st, payload, nil
}

// FilteredSSE returns the SSE chunk of e with "filtered" set to results (a
// JSON array), rendering it once per distinct results for all recipients
// (ENC-3). Any goroutine.
func (e *Entry) FilteredSSE(results []byte) []byte {
	return e.variant(results).sse
}

// FilteredWS is FilteredSSE for a WebSocket stream-name array.
func (e *Entry) FilteredWS(results, name []byte) []byte {
	st := e.Status
	st.mu.Lock()
	defer st.mu.Unlock()
	v := st.variantLocked(e, results)
	if f, ok := v.ws[string(name)]; ok {
		return f
	}
	if v.ws == nil {
		v.ws = make(map[string][]byte)
	}
	f := EncodeWS(name, &v.event)
	v.ws[string(name)] = f
	return f
}

func (e *Entry) variant(results []byte) *variant {
	st := e.Status
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.variantLocked(e, results)
}

func (st *Status) variantLocked(e *Entry, results []byte) *variant {
	if v, ok := st.variants[string(results)]; ok {
		return v
	}
	payload := make([]byte, 0, len(st.prefix)+len(results)+1)
	payload = append(append(append(payload, st.prefix...), results...), '}')
	v := &variant{event: e.Event}
	v.event.Payload = payload
	body := proto.AppendSSEEvent(nil, e.Event.Name, payload)
	v.sse = proto.AppendChunk(make([]byte, 0, len(body)+12), body)
	if st.variants == nil {
		st.variants = make(map[string]*variant)
	}
	st.variants[string(results)] = v
	return v
}
