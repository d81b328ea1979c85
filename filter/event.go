package filter

import (
	"errors"
	"math"
	"strings"

	"github.com/sluice/sluice/proto"
)

// ErrMalformed means a status payload cannot be filtered (FLT-1): not an
// object (or a string holding one), or S.account not an object with string
// username and acct. The caller drops the event for filtered streams, logs
// it and counts it in sluice_malformed_events_total.
var ErrMalformed = errors.New("filter: status is not an object with account.username and account.acct strings")

// Event is what §8 needs from one update or status.update, computed once per
// event by NewEvent and then read, never written, by every recipient on any
// goroutine.
type Event struct {
	// AuthorID is S.account.id; HasAuthor is false when it is absent or null.
	AuthorID  int64
	HasAuthor bool
	// Mentions holds the ids in S.mentions[].id that are present and not null.
	Mentions []int64
	// Domain is the part of S.account.acct between the first '@' and the
	// next '@' or the end; "" for local accounts and for "name@", which the
	// reference also treats as having no domain (FLT-3).
	Domain string
	// Language is S.language when it is a string (HasLanguage); any other
	// value never equals a chosen language (FLT-9).
	Language    string
	HasLanguage bool
	// Local is S.account.username == S.account.acct (FLT-8).
	Local bool
	// InvalidID is set when an account or mention id is present but is not a
	// valid bigint; the reference's query then fails and the event is
	// dropped for every recipient that reaches the relationship step
	// (FLT-2). Relations.Drops reports it as a drop.
	InvalidID bool
	// HasFiltered is set when S has an own "filtered" key: the payload is
	// sent as is and custom filters are not evaluated (FLT-10).
	HasFiltered bool
	// Text is T of FLT-12, prepared for matching. It is left empty when
	// HasFiltered is set, since nothing searches it then.
	Text Text
}

// NewEvent extracts the Event of a status payload (§8.1). A string payload
// is parsed as JSON first (the legacy Rails format); a caller that renders
// the payload must use the parsed object too. It returns ErrMalformed for
// the payloads FLT-1 drops.
func NewEvent(status *proto.Value) (*Event, error) {
	if status.Kind == proto.KindString {
		parsed, err := proto.ParseJSON([]byte(status.Str))
		if err != nil {
			return nil, ErrMalformed
		}
		status = &parsed
	}
	if status.Kind != proto.KindObject {
		return nil, ErrMalformed
	}
	account, ok := status.Get("account")
	if !ok || account.Kind != proto.KindObject {
		return nil, ErrMalformed
	}
	username, ok1 := account.Get("username")
	acct, ok2 := account.Get("acct")
	if !ok1 || !ok2 || username.Kind != proto.KindString || acct.Kind != proto.KindString {
		return nil, ErrMalformed
	}
	ev := &Event{Local: username.Str == acct.Str, Domain: acctDomain(acct.Str)}
	if id, ok := account.Get("id"); ok {
		ev.AuthorID, ev.HasAuthor = ev.accountID(id)
	}
	if mentions, ok := status.Get("mentions"); ok && mentions.Kind == proto.KindArray {
		for i := range mentions.Arr {
			id, ok := mentions.Arr[i].Get("id")
			if !ok {
				continue
			}
			if n, ok := ev.accountID(id); ok {
				ev.Mentions = append(ev.Mentions, n)
			}
		}
	}
	if lang, ok := status.Get("language"); ok && lang.Kind == proto.KindString {
		ev.Language, ev.HasLanguage = lang.Str, true
	}
	if _, ok := status.Get("filtered"); ok {
		ev.HasFiltered = true
		return ev, nil
	}
	ev.Text = NewText(searchText(status))
	return ev, nil
}

// acctDomain is acct.split('@')[1], with "" for none.
func acctDomain(acct string) string {
	i := strings.IndexByte(acct, '@')
	if i < 0 {
		return ""
	}
	d := acct[i+1:]
	if j := strings.IndexByte(d, '@'); j >= 0 {
		d = d[:j]
	}
	return d
}

// accountID reads an id the reference passes to PostgreSQL as a bigint
// parameter. null is SQL NULL, which matches nothing (ok false). A number is
// sent as String(n), which PostgreSQL then parses like a string. A
// string counts when PostgreSQL's int8in accepts it: optional surrounding
// whitespace and sign around decimal digits, in range. Anything else makes
// the query fail, which drops the event (InvalidID).
func (ev *Event) accountID(v *proto.Value) (int64, bool) {
	switch v.Kind {
	case proto.KindNull:
		return 0, false
	case proto.KindNumber:
		// String(n) is the shortest round-trip form, which is what
		// AppendCanonical writes: 109000000000000009 becomes
		// "109000000000000020", not the double's exact value.
		var buf [32]byte
		if n, ok := parseInt8(string(proto.AppendCanonical(buf[:0], v))); ok {
			return n, true
		}
	case proto.KindString:
		if n, ok := parseInt8(v.Str); ok {
			return n, true
		}
	}
	ev.InvalidID = true
	return 0, false
}

// parseInt8 accepts what PostgreSQL 15's int8in accepts.
func parseInt8(s string) (int64, bool) {
	isSpace := func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	neg := false
	if i < j && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == j {
		return 0, false
	}
	var u uint64
	for ; i < j; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (1<<63)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
		if u > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(u-1) - 1, true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}
