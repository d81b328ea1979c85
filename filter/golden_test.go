package filter

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice/sluice/proto"
)

// The golden files hold what the reference's own code computes
// (testdata/gen_golden.js runs JSDOM.fragment and V8's RegExp): they pin
// FLT-12 and FLT-13 to the reference rather than to our reading of it.
// They are read with proto.ParseJSON because they contain lone surrogates,
// which encoding/json would replace.

func loadGolden(t *testing.T, name string) []proto.Value {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	v, err := proto.ParseJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v.Arr
}

func str(t *testing.T, v *proto.Value, key string) string {
	t.Helper()
	m, ok := v.Get(key)
	if !ok || m.Kind != proto.KindString {
		t.Fatalf("golden case lacks string %q", key)
	}
	return m.Str
}

// FLT-12: the text content of an HTML fragment, as JSDOM.fragment gives it.
func TestHTMLText_Golden_FLT12(t *testing.T) {
	cases := loadGolden(t, "html_text.json")
	for i := range cases {
		in, want := str(t, &cases[i], "in"), str(t, &cases[i], "out")
		if got := joinSurrogates(appendHTMLText(nil, in)); got != want {
			t.Errorf("case %d: text of %q\n got %q\nwant %q", i, in, got, want)
		}
	}
}

// FLT-12: T from whole status objects: field selection, JavaScript String()
// of odd values, the <br> and </p><p> replacements, then the HTML text.
func TestSearchText_Golden_FLT12(t *testing.T) {
	cases := loadGolden(t, "status_text.json")
	for i := range cases {
		st, _ := cases[i].Get("status")
		want := str(t, &cases[i], "t")
		ev, err := NewEvent(st)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if got := ev.Text.String(); got != want {
			t.Errorf("case %d: T of %s\n got %q\nwant %q", i, proto.AppendCanonical(nil, st), got, want)
		}
	}
}

// FLT-13: the keyword expression against V8's RegExp with the reference's
// escaping and \b rules, on texts full of characters whose case rules
// differ between ECMAScript and Go (ſ, K, ß/ẞ, Ω, Å, ϴ, iota subscripts,
// Deseret, length-changing folds).
func TestMatch_Golden_FLT13(t *testing.T) {
	cases := loadGolden(t, "match.json")
	for i := range cases {
		text := str(t, &cases[i], "t")
		kws, _ := cases[i].Get("kws")
		f := Filter{ID: 1}
		for j := range kws.Arr {
			ww, _ := kws.Arr[j].Get("whole_word")
			f.Keywords = append(f.Keywords, Keyword{Text: str(t, &kws.Arr[j], "keyword"), WholeWord: ww.Kind == proto.KindTrue})
		}
		want := "<no match>"
		if m, _ := cases[i].Get("m"); m.Kind == proto.KindString {
			want = m.Str
		}
		fs := NewFilterSet([]Filter{f})
		tx := NewText(text)
		got := "<no match>"
		if start, end, ok := fs.filters[0].match(&tx); ok {
			got = text[start:end]
		}
		if got != want {
			t.Errorf("case %d: %s in %q: got %q, want %q", i, proto.AppendCanonical(nil, kws), text, got, want)
		}
	}
}
