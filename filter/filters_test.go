package filter

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// evalTime is the evaluation time of the tests; cryptoExpiry is "in 30
// days" as A.5 captured it, with microseconds that must be truncated.
var (
	evalTime     = time.Date(2026, 11, 22, 21, 52, 58, 0, time.UTC)
	cryptoExpiry = time.Date(2026, 12, 22, 21, 52, 58, 440_999_000, time.UTC)
	oldExpiry    = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
)

// aliceFilters is alice's custom filters in fixtures/seed.sql, including
// the expired one the loading query leaves out (a cache may still hold a
// filter that expired after loading, FLT-14).
func aliceFilters() []Filter {
	return []Filter{
		{ID: 3, Title: "Old", Context: []string{"home"}, ExpiresAt: &oldExpiry, Action: ActionWarn,
			Keywords: []Keyword{{"expiredword", true}}},
		{ID: 2, Title: "Crypto", Context: []string{"public"}, ExpiresAt: &cryptoExpiry, Action: ActionHide,
			Keywords: []Keyword{{"bitcoin", false}}},
		{ID: 1, Title: "Spoilers", Context: []string{"home", "public", "thread"}, Action: ActionWarn,
			Keywords: []Keyword{{"spoiler", true}, {"GoT", true}}},
	}
}

const (
	spoilersHead = `{"filter":{"id":"1","title":"Spoilers","context":["home","public","thread"],"expires_at":null,"filter_action":"warn"},"keyword_matches":[`
	cryptoHead   = `{"filter":{"id":"2","title":"Crypto","context":["public"],"expires_at":"2026-12-22T21:52:58.440Z","filter_action":"hide"},"keyword_matches":[`
	tail         = `],"status_matches":null}`
)

func results(t *testing.T, fs *FilterSet, status string, now time.Time) string {
	t.Helper()
	ev := event(t, status)
	out, _ := fs.AppendResults(nil, &ev.Text, now)
	return string(out)
}

func withContent(content string) string {
	return `{"account":{"username":"bob","acct":"bob"},"content":` + quote(content) + `}`
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// FLT-11, FLT-13–FLT-15 with alice's filters and the reference exchanges.
func TestFilterSet_Seed_FLT15(t *testing.T) {
	fs := NewFilterSet(aliceFilters())
	for _, tc := range []struct {
		name, status, want string
	}{
		{"A.1 media description", `{"account":{"username":"carol","acct":"carol@remote.example"},"content":"<p>Sunset</p>","media_attachments":[{"description":"A photo of a sunset over the sea, spoiler free"}]}`,
			`[` + spoilersHead + `"spoiler"` + tail + `]`},
		{"A.5 spoiler and bitcoin: ids 1 then 2", withContent("<p>spoiler: bitcoin is up</p>"),
			`[` + spoilersHead + `"spoiler"` + tail + `,` + cryptoHead + `"bitcoin"` + tail + `]`},
		{"matched text keeps T's case", withContent("<p>Big Spoiler ahead</p>"),
			`[` + spoilersHead + `"Spoiler"` + tail + `]`},
		{"second keyword", withContent("<p>Watching got tonight</p>"), `[` + spoilersHead + `"got"` + tail + `]`},
		{"leftmost match wins over keyword order", withContent("got a spoiler"), `[` + spoilersHead + `"got"` + tail + `]`},
		{"whole word: no match inside a word", withContent("<p>spoilers everywhere, forgot</p>"), `[]`},
		{"substring keyword matches inside words", withContent("<p>#Bitcoins</p>"), `[` + cryptoHead + `"Bitcoin"` + tail + `]`},
		{"hashtag markup", withContent(`<p><a href="https://local.test/tags/Spoiler" class="mention hashtag" rel="tag">#<span>Spoiler</span></a></p>`),
			`[` + spoilersHead + `"Spoiler"` + tail + `]`},
		{"entities decoded first", withContent("<p>spoiler&amp;co</p>"), `[` + spoilersHead + `"spoiler"` + tail + `]`},
		{"entity between letters is not a boundary", withContent("<p>spoiler&#95;x</p>"), `[]`},
		{"expired filter skipped (FLT-14)", withContent("<p>expiredword</p>"), `[]`},
		{"spoiler_text searched", `{"account":{"username":"a","acct":"a"},"spoiler_text":"GoT S8","content":""}`,
			`[` + spoilersHead + `"GoT"` + tail + `]`},
		{"poll option searched", `{"account":{"username":"a","acct":"a"},"content":"vote","poll":{"options":[{"title":"BITCOIN"}]}}`,
			`[` + cryptoHead + `"BITCOIN"` + tail + `]`},
		{"no match", withContent("<p>Sunset</p>"), `[]`},
	} {
		if got := results(t, fs, tc.status, evalTime); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// FLT-14: a filter is skipped only once its expiry is earlier than now.
func TestFilterSet_Expiry_FLT14(t *testing.T) {
	fs := NewFilterSet(aliceFilters())
	status := withContent("bitcoin")
	for _, tc := range []struct {
		now   time.Time
		match bool
	}{
		{cryptoExpiry.Add(-time.Nanosecond), true},
		{cryptoExpiry, true},
		{cryptoExpiry.Add(time.Nanosecond), false},
	} {
		if got := results(t, fs, status, tc.now) != "[]"; got != tc.match {
			t.Errorf("now = expiry%+v: matched %v, want %v", tc.now.Sub(cryptoExpiry), got, tc.match)
		}
	}
}

// FLT-13: expression building, one keyword at a time.
func TestKeywordRules_FLT13(t *testing.T) {
	for _, tc := range []struct {
		keyword string
		whole   bool
		text    string
		want    string // matched text, "-" for no match
	}{
		{"spoiler", true, "Big Spoiler ahead", "Spoiler"},
		{"spoiler", true, "spoilers", "-"},
		{"spoiler", true, "the_spoiler", "-"}, // _ is a word character
		{"spoiler", true, "1spoiler", "-"},
		{"spoiler", true, "ßspoilerß", "spoiler"}, // non-ASCII letters are not word characters
		{"spoiler", false, "spoilers", "spoiler"},
		{"c++", true, "I like c++!", "c++"},
		{"c++", true, "I like c++x", "c++"}, // only a leading \b
		{"c++", true, "abc++", "-"},
		{"éclair", true, "un éclair", "éclair"},
		{"éclair", true, "xéclair", "xéclair"[1:]}, // no leading \b
		{"éclair", true, "éclairs", "-"},           // trailing \b
		{"ÉCLAIR", false, "éclair", "éclair"},
		{"a.b", false, "axb a.b", "a.b"}, // literal, not a regexp
		{"(x)", false, "(X)", "(X)"},
		{"$", false, "1$", "$"},
		{"\\d", false, "1 \\D", "\\D"},
		{"", true, "anything", ""}, // the empty keyword matches at 0
		{"", false, "x", ""},
		{"ſ", false, "s S ſ", "ſ"}, // ſ and s differ in ECMAScript
		{"s", false, "ſ S", "S"},
		{"k", false, "\u212A K", "K"}, // KELVIN SIGN is not k
		{"\u212A", false, "k K \u212A", "\u212A"},
		{"ß", false, "ẞ SS ß", "ß"}, // ß uppercases to SS: stays itself
		{"ẞ", false, "ß ẞ", "ẞ"},
		{"å", false, "\u212B Å", "Å"}, // ANGSTROM SIGN is not Å
		{"ω", false, "\u2126 Ω", "Ω"}, // nor OHM SIGN Ω
		{"ı", false, "I i ı", "ı"},    // dotless ı uppercases to ASCII I
		{"i", false, "ı İ I", "I"},
		{"straße", true, "STRASSE Straße", "Straße"},
		{"ǆ", false, "ǅ", "ǅ"}, // titlecase digraph: same uppercase
		{"µ", false, "Μ", "Μ"}, // MICRO SIGN uppercases to Greek Mu
		{"ᾳ", false, "ᾼ ᾳ", "ᾳ"},
		{"ɐ", false, "xⱯy", "Ɐ"}, // 2-byte keyword, 3-byte match
		{"ⱥ", false, "xȺy", "Ⱥ"}, // 3-byte keyword, 2-byte match
		{"𐐨", false, "𐐀 𐐨", "𐐨"}, // supplementary: exact only
		{"😀", false, "a😀b", "😀"},
		{"résumé", false, "RÉSUMÉ", "RÉSUMÉ"},
		{"bitcoin", false, "ɐɐɐ BITCOIN", "BITCOIN"}, // offsets after length-changing folds
		{"got", true, "ⱥⱥ got", "got"},
		{"spoiler", true, "spoiler\u00a0free", "spoiler"}, // NBSP is not a word character
		{"keyword", true, "KEYWORD\nnext", "KEYWORD"},
		{"a", true, "ba ab a", "a"},                   // finds the later, valid occurrence
		{"é", true, "é", "é"},                         // no \b at all
		{"x", true, "\xed\xa0\xbdx\xed\xb8\x80", "x"}, // lone surrogates are not word characters
		{"ab", false, strings.Repeat("a", 2000) + "b", "ab"},
	} {
		fs := NewFilterSet([]Filter{{ID: 1, Keywords: []Keyword{{tc.keyword, tc.whole}}}})
		text := NewText(tc.text)
		got := "-"
		if start, end, ok := fs.filters[0].match(&text); ok {
			got = tc.text[start:end]
		}
		if got != tc.want {
			t.Errorf("keyword %q (whole word %v) in %q: got %q, want %q", tc.keyword, tc.whole, tc.text, got, tc.want)
		}
	}
}

// FLT-14: leftmost match; at the same position the earlier keyword wins,
// even when a later one is longer.
func TestAlternation_FLT14(t *testing.T) {
	for _, tc := range []struct {
		keywords []Keyword
		text     string
		want     string
		at       int
	}{
		{[]Keyword{{"b", false}, {"a", false}}, "ab", "a", 0},
		{[]Keyword{{"ab", false}, {"abc", false}}, "abc", "ab", 0},
		{[]Keyword{{"abc", false}, {"ab", false}}, "abc", "abc", 0},
		{[]Keyword{{"abc", true}, {"ab", false}}, "abcd", "ab", 0},
		{[]Keyword{{"x", false}, {"", false}}, "ax", "", 0},
		{[]Keyword{{"zz", false}, {"a", true}}, "ba a", "a", 3},
		{[]Keyword{{"d", false}, {"bc", false}, {"c", false}}, "abcd", "bc", 1},
	} {
		fs := NewFilterSet([]Filter{{ID: 9, Keywords: tc.keywords}})
		text := NewText(tc.text)
		start, end, ok := fs.filters[0].match(&text)
		if !ok || tc.text[start:end] != tc.want || start != tc.at {
			t.Errorf("%v in %q: got %q at %d (ok %v), want %q at %d", tc.keywords, tc.text, tc.text[start:end], start, ok, tc.want, tc.at)
		}
	}
}

// FLT-15: the rendering of every field.
func TestFilterSet_Rendering_FLT15(t *testing.T) {
	exp := time.Date(2030, 2, 3, 4, 5, 6, 999_999_999, time.FixedZone("CET", 3600))
	far := time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC)
	fs := NewFilterSet([]Filter{
		{ID: 12, Title: "null ctx", Context: nil, Action: 2, Keywords: []Keyword{{"x", false}}},
		{ID: 11, Title: `quote " </script> \ é`, Context: []string{}, ExpiresAt: &exp, Action: 7, Keywords: []Keyword{{"x", false}}},
		{ID: 10, Title: "", Context: []string{"notifications", "account"}, ExpiresAt: &far, Action: ActionHide, Keywords: []Keyword{{"x", false}}},
		{ID: 13, Title: "no keywords", Context: []string{"home"}},
	})
	if fs.Len() != 3 {
		t.Errorf("Len = %d, want 3 (a filter without keywords never matches)", fs.Len())
	}
	got, matched := fs.AppendResults([]byte("prefix:"), ptr(NewText("\"X\"")), evalTime)
	want := `prefix:[` +
		`{"filter":{"id":"10","title":"","context":["notifications","account"],"expires_at":"+012345-01-01T00:00:00.000Z","filter_action":"hide"},"keyword_matches":["X"],"status_matches":null},` +
		`{"filter":{"id":"11","title":"quote \" </script> \\ é","context":[],"expires_at":"2030-02-03T03:05:06.999Z"},"keyword_matches":["X"],"status_matches":null},` +
		`{"filter":{"id":"12","title":"null ctx","context":null,"expires_at":null},"keyword_matches":["X"],"status_matches":null}]`
	if string(got) != want || !matched {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Empty T matches nothing, not even the empty keyword (FLT-12).
	empty := NewFilterSet([]Filter{{ID: 1, Keywords: []Keyword{{"", false}}}})
	if got, matched := empty.AppendResults(nil, ptr(NewText("")), evalTime); string(got) != "[]" || matched {
		t.Errorf("empty T: %s %v", got, matched)
	}
	if got, matched := empty.AppendResults(nil, ptr(NewText("\n\n")), evalTime); string(got) != `[{"filter":{"id":"1","title":"","context":null,"expires_at":null,"filter_action":"warn"},"keyword_matches":[""],"status_matches":null}]` || !matched {
		t.Errorf("empty keyword: %s %v", got, matched)
	}
	var none *FilterSet
	if got, matched := none.AppendResults(nil, ptr(NewText("x")), evalTime); string(got) != "[]" || matched || none.Len() != 0 {
		t.Errorf("nil FilterSet: %s %v", got, matched)
	}
}

func ptr[T any](v T) *T { return &v }

// refMatch is a straightforward reading of FLT-13/FLT-14 on code points:
// at each position in turn, try each keyword in order, comparing canonical
// characters one by one and checking ASCII word boundaries.
func refMatch(keywords []Keyword, text string) (string, bool) {
	t := []rune(text)
	isWord := func(i int) bool {
		return i >= 0 && i < len(t) && t[i] < utf8.RuneSelf && isWordByte(byte(t[i]))
	}
	for p := 0; p <= len(t); p++ {
		for _, k := range keywords {
			kr := []rune(k.Text)
			if p+len(kr) > len(t) {
				continue
			}
			ok := true
			for i, r := range kr {
				if canon(r) != canon(t[p+i]) {
					ok = false
					break
				}
			}
			if ok && k.WholeWord && len(kr) > 0 {
				if kr[0] < utf8.RuneSelf && isWordByte(byte(kr[0])) && isWord(p-1) {
					ok = false
				}
				last := kr[len(kr)-1]
				if last < utf8.RuneSelf && isWordByte(byte(last)) && isWord(p+len(kr)) {
					ok = false
				}
			}
			if ok {
				return string(t[p : p+len(kr)]), true
			}
		}
	}
	return "", false
}

// The matcher (case fold, strings.Index, offset mapping) agrees with
// refMatch on random texts over an alphabet of case-rule corner cases.
func TestMatcher_Property(t *testing.T) {
	alphabet := []string{"a", "A", "b", "B", "s", "S", "ſ", "k", "K", "\u212A", "ß", "ẞ", "é", "É", "ı", "I",
		"i", "İ", "ω", "Ω", "\u2126", "ᾳ", "ᾼ", "😀", "𐐀", "𐐨", "_", " ", "-", "+", "1", "\n", "ǅ", "ǆ",
		"ɐ", "Ɐ", "ⱥ", "Ⱥ", "ƛ", "\uA7DC", "\u00a0"}
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(max int) string {
		var b strings.Builder
		for n := rng.IntN(max + 1); n > 0; n-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := 0; i < 20000; i++ {
		text := word(24)
		var keywords []Keyword
		for n := 1 + rng.IntN(3); n > 0; n-- {
			kw := word(3)
			if rng.IntN(3) == 0 && text != "" {
				r := []rune(text)
				start := rng.IntN(len(r))
				kw = string(r[start:min(len(r), start+1+rng.IntN(3))])
			}
			keywords = append(keywords, Keyword{kw, rng.IntN(2) == 0})
		}
		want, wantOK := refMatch(keywords, text)
		fs := NewFilterSet([]Filter{{ID: 1, Keywords: keywords}})
		tx := NewText(text)
		start, end, ok := fs.filters[0].match(&tx)
		if ok != wantOK || ok && text[start:end] != want {
			t.Fatalf("%+v in %q: got %q (%v), want %q (%v)", keywords, text, text[start:end], ok, want, wantOK)
		}
	}
}
