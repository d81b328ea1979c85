package filter

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkRelationsDrops: an account with 100 blocks and 50 mutes, a
// status by an unrelated author mentioning three accounts (the common case:
// every set is searched and nothing matches).
func BenchmarkRelationsDrops(b *testing.B) {
	var blocks, mutes []int64
	for i := range 100 {
		blocks = append(blocks, 109000000000001000+int64(i)*7919)
	}
	for i := range 50 {
		mutes = append(mutes, 109000000000900000+int64(i)*104729)
	}
	r := NewRelations(blocks, []int64{hater}, mutes, []string{"spam.example", "bad.example"})
	ev := event(b, statusBy(carol, "carol", "carol@remote.example", bob, alice, 109000000000000077))
	b.ReportAllocs()
	for b.Loop() {
		if r.Drops(ev) {
			b.Fatal("dropped")
		}
	}
}

// benchText is about 2 KB of Mastodon-shaped content.
func benchText(b *testing.B) *Event {
	var sb strings.Builder
	for sb.Len() < 2048 {
		sb.WriteString(`<p>Just watched the sunset over the harbour with <span class="h-card"><a href="https://local.test/@bob" class="u-url mention">@<span>bob</span></a></span>, great evening!<br>More photos soon <a href="https://local.test/tags/photography" class="mention hashtag" rel="tag">#<span>photography</span></a></p>`)
	}
	return event(b, withContent(sb.String()))
}

// BenchmarkAppendResults: five filters with two keywords each (one whole
// word) over about 2 KB of text, no match: every keyword scans all of T.
func BenchmarkAppendResults(b *testing.B) {
	var filters []Filter
	for i := range 5 {
		filters = append(filters, Filter{ID: int64(i + 1), Title: fmt.Sprint("f", i), Context: []string{"public"},
			Keywords: []Keyword{{fmt.Sprint("keyword", i), true}, {fmt.Sprint("phrase number ", i), false}}})
	}
	fs := NewFilterSet(filters)
	ev := benchText(b)
	now := time.Now()
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(ev.Text.String())))
	b.ReportAllocs()
	for b.Loop() {
		if _, matched := fs.AppendResults(dst[:0], &ev.Text, now); matched {
			b.Fatal("matched")
		}
	}
}

// BenchmarkNewEvent: the once-per-event work, T extraction included.
func BenchmarkNewEvent(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < 2048 {
		sb.WriteString(`<p>Just watched the sunset over the harbour with <span class="h-card"><a href="https://local.test/@bob" class="u-url mention">@<span>bob</span></a></span>, great evening!<br>More photos soon &amp; more <a href="https://local.test/tags/photography" class="mention hashtag" rel="tag">#<span>photography</span></a></p>`)
	}
	status := parse(b, withContent(sb.String()))
	b.SetBytes(int64(sb.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewEvent(status); err != nil {
			b.Fatal(err)
		}
	}
}
