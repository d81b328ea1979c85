package filter

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice/sluice/proto"
)

// Filter actions (custom_filters.action) that have a filter_action name;
// other values (2 = blur) omit the key (FLT-15).
const (
	ActionWarn = 0
	ActionHide = 1
)

// Filter is one custom filter with its keywords, as loaded for an account
// (§8.5). Filters without keywords never come out of the query and never
// match.
type Filter struct {
	ID        int64
	Title     string     // custom_filters.phrase
	Context   []string   // copied to the output, never checked; nil renders null
	ExpiresAt *time.Time // nil: never expires
	Action    int
	Keywords  []Keyword // in custom_filter_keywords.id order (FLT-13)
}

// Keyword is one custom_filter_keywords row.
type Keyword struct {
	Text      string
	WholeWord bool
}

// FilterSet is an account's compiled custom filters (FLT-13–FLT-15). It is
// immutable once built and safe for concurrent use; the zero or nil
// FilterSet has no filters.
//
// Results depend only on the FilterSet, the Text and which filters have
// expired at the evaluation time, so recipients that share a FilterSet
// (every connection of one account) share one result per event, and every
// recipient without a match shares the payload with "filtered":[] (ENC-3).
// Callers that want to share rendered payloads across recipients key them
// by the bytes AppendResults returns.
type FilterSet struct {
	filters []compiledFilter // by id ascending
}

type compiledFilter struct {
	expires    time.Time
	hasExpires bool
	head       []byte // `{"filter":{…},"keyword_matches":[`
	keywords   []compiledKeyword
}

// compiledKeyword is one alternative of the filter's expression: the
// keyword in canonical case, with \b required before it (lead) and/or
// after it (trail).
type compiledKeyword struct {
	fold        string
	lead, trail bool
}

const resultTail = `],"status_matches":null}`

// NewFilterSet compiles filters. It does not keep the slice.
func NewFilterSet(filters []Filter) *FilterSet {
	fs := &FilterSet{filters: make([]compiledFilter, 0, len(filters))}
	sorted := slices.Clone(filters)
	slices.SortStableFunc(sorted, func(a, b Filter) int { return cmp.Compare(a.ID, b.ID) })
	for i := range sorted {
		f := &sorted[i]
		if len(f.Keywords) == 0 {
			continue
		}
		cf := compiledFilter{head: appendFilterHead(nil, f)}
		if f.ExpiresAt != nil {
			cf.expires, cf.hasExpires = *f.ExpiresAt, true
		}
		for _, k := range f.Keywords {
			fold, _ := foldString(k.Text)
			cf.keywords = append(cf.keywords, compiledKeyword{
				fold:  fold,
				lead:  k.WholeWord && k.Text != "" && isWordByte(k.Text[0]),
				trail: k.WholeWord && k.Text != "" && isWordByte(k.Text[len(k.Text)-1]),
			})
		}
		fs.filters = append(fs.filters, cf)
	}
	return fs
}

// Len returns the number of filters that can match.
func (fs *FilterSet) Len() int {
	if fs == nil {
		return 0
	}
	return len(fs.filters)
}

// AppendResults appends the JSON array that becomes the status's "filtered"
// value (FLT-14, FLT-15): one result per filter whose expression matches t
// and which has not expired at now, by filter id. matched reports whether
// there is any result; when it is false the array is "[]". Any goroutine; it
// allocates nothing beyond growing dst.
func (fs *FilterSet) AppendResults(dst []byte, t *Text, now time.Time) (out []byte, matched bool) {
	dst = append(dst, '[')
	if fs == nil || t == nil || t.s == "" {
		return append(dst, ']'), false
	}
	for i := range fs.filters {
		f := &fs.filters[i]
		if f.hasExpires && f.expires.Before(now) {
			continue
		}
		start, end, ok := f.match(t)
		if !ok {
			continue
		}
		if matched {
			dst = append(dst, ',')
		}
		matched = true
		dst = append(dst, f.head...)
		dst = proto.AppendQuoted(dst, t.s[start:end])
		dst = append(dst, resultTail...)
	}
	return append(dst, ']'), matched
}

// match finds the leftmost match of the filter's alternation in t, the
// earlier keyword winning at equal positions, as a backtracking regexp does
// with literal alternatives, and returns its span in t.s.
//
// This is ECMAScript's semantics. V8 departs from it for a few alternations
// of case variants that its optimizer merges (/ω|Ω/i, with U+2126 OHM SIGN,
// does not match "Ω"; found by differential testing, 9 in 200,000 random
// cases, all with such characters); Sluice does not copy that.
func (f *compiledFilter) match(t *Text) (start, end int, ok bool) {
	best, bestLen := -1, 0
	for i := range f.keywords {
		k := &f.keywords[i]
		// A later keyword must start strictly before the best so far.
		limit := len(t.fold)
		if best >= 0 {
			limit = best - 1
		}
		if p := k.find(t.fold, limit); p >= 0 {
			best, bestLen = p, len(k.fold)
			if best == 0 {
				break
			}
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	return t.origin(best), t.origin(best + bestLen), true
}

// find returns the first offset p <= limit where k occurs in fold with its
// word boundaries satisfied, or -1. Offsets found are character starts:
// both strings are valid UTF-8 up to lone surrogates, and UTF-8 is
// self-synchronizing.
func (k *compiledKeyword) find(fold string, limit int) int {
	n := len(k.fold)
	for from := 0; from <= limit; {
		i := strings.Index(fold[from:min(len(fold), limit+n)], k.fold)
		if i < 0 {
			return -1
		}
		p := from + i
		if (!k.lead || p == 0 || !isWordByte(fold[p-1])) &&
			(!k.trail || p+n == len(fold) || !isWordByte(fold[p+n])) {
			return p
		}
		from = p + 1
	}
	return -1
}

// appendFilterHead renders the part of a result that does not depend on the
// match.
func appendFilterHead(b []byte, f *Filter) []byte {
	b = append(b, `{"filter":{"id":"`...)
	b = strconv.AppendInt(b, f.ID, 10)
	b = append(b, `","title":`...)
	b = proto.AppendQuoted(b, f.Title)
	b = append(b, `,"context":`...)
	if f.Context == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, c := range f.Context {
			if i > 0 {
				b = append(b, ',')
			}
			b = proto.AppendQuoted(b, c)
		}
		b = append(b, ']')
	}
	b = append(b, `,"expires_at":`...)
	if f.ExpiresAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendISOTime(b, *f.ExpiresAt)
	}
	switch f.Action {
	case ActionWarn:
		b = append(b, `,"filter_action":"warn"`...)
	case ActionHide:
		b = append(b, `,"filter_action":"hide"`...)
	}
	return append(b, `},"keyword_matches":[`...)
}

// maxJSTime is the largest time a JavaScript Date holds (8.64e15 ms from the
// epoch); later times are an invalid Date, which JSON.stringify writes as
// null.
const maxJSTime = 8_640_000_000_000_000

// appendISOTime appends t as Date.prototype.toJSON writes it: UTC,
// truncated to milliseconds, YYYY-MM-DDTHH:MM:SS.mmmZ, with a signed
// six-digit year outside 0000–9999.
func appendISOTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if ms := t.UnixMilli(); ms > maxJSTime || ms < -maxJSTime {
		return append(b, "null"...)
	}
	b = append(b, '"')
	switch y := t.Year(); {
	case y < 0:
		b = append(b, '-')
		b = appendPadded(b, -y, 6)
	case y > 9999:
		b = append(b, '+')
		b = appendPadded(b, y, 6)
	default:
		b = appendPadded(b, y, 4)
	}
	b = append(b, '-')
	b = appendPadded(b, int(t.Month()), 2)
	b = append(b, '-')
	b = appendPadded(b, t.Day(), 2)
	b = append(b, 'T')
	b = appendPadded(b, t.Hour(), 2)
	b = append(b, ':')
	b = appendPadded(b, t.Minute(), 2)
	b = append(b, ':')
	b = appendPadded(b, t.Second(), 2)
	b = append(b, '.')
	b = appendPadded(b, t.Nanosecond()/int(time.Millisecond), 3)
	return append(b, `Z"`...)
}

func appendPadded(b []byte, n, width int) []byte {
	var buf [20]byte
	d := strconv.AppendInt(buf[:0], int64(n), 10)
	for range width - len(d) {
		b = append(b, '0')
	}
	return append(b, d...)
}
