package proto

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// specFolding is the folding table of §4.3.1, copied from the contract
// rather than from tag.go so that the two can be checked against each other.
func specFolding() map[rune]string {
	return map[rune]string{
		'a': "à á â ã ä å ā ă ą",
		'c': "ç ć ĉ ċ č",
		'd': "ð ď đ",
		'e': "è é ê ë ē ĕ ė ę ě",
		'g': "ĝ ğ ġ ģ",
		'h': "ĥ ħ",
		'i': "ì í î ï ĩ ī ĭ į ı",
		'j': "ĵ",
		'k': "ķ ĸ",
		'l': "ĺ ļ ľ ł",
		'n': "ñ ń ņ ň ŋ",
		'o': "ò ó ô õ ö ø ō ŏ ő",
		'r': "ŕ ŗ ř",
		's': "ś ŝ ş š",
		't': "ţ ť ŧ",
		'u': "ù ú û ü ũ ū ŭ ů ű ų",
		'w': "ŵ",
		'y': "ý ÿ ŷ",
		'z': "ź ż ž",
	}
}

// newReferenceTag returns §4.3.1 written with independent tools: x/text's
// root-locale lowercaser (full mappings and Final_Sigma), a map from the
// spec's table and a regular expression for step 4. It agrees with
// NormalizeTag except in two Final_Sigma corners: after long runs of
// case-ignorable characters, where x/text stops looking (its icu_test.go),
// and next to the few characters that are both cased and case-ignorable
// (U+02C0 ˀ …), which x/text counts as cased while ICU, hence V8, skips them.
func newReferenceTag() func(string) string {
	fold := map[rune]rune{}
	for to, from := range specFolding() {
		for _, r := range strings.ReplaceAll(from, " ", "") {
			fold[r] = to
		}
	}
	lower := cases.Lower(language.Und)
	remove := regexp.MustCompile(`[^\p{L}\p{N}_\x{b7}\x{200c}]`)
	return func(tag string) string {
		s := norm.NFKC.String(strings.ToValidUTF8(tag, "\uFFFD"))
		s = lower.String(s)
		s = strings.Map(func(r rune) rune {
			if to, ok := fold[r]; ok {
				return to
			}
			return r
		}, s)
		return remove.ReplaceAllString(s, "")
	}
}

func TestNormalizeTagSpecExamples(t *testing.T) { // §4.3.1, STR-7
	for _, tc := range []struct{ in, want string }{
		{"Café", "cafe"},
		{"Cafe\u0301", "cafe"}, // NFD input composes in step 1, then folds
		{"CAFE", "cafe"},
		{"İstanbul", "istanbul"},
		{"ﬁsh", "fish"},
		{"ＡＢＣ", "abc"},
		{"Straße", "straße"},
		{"a-b_c", "ab_c"},
		{"ŀa", "l·a"},
		{"#tag!", "tag"},
		{"日本語", "日本語"},
		{"", ""},
		{"!!!", ""}, // STR-7: still subscribes to timeline:hashtag:
		{"x\u200cy", "x\u200cy"},
		{"a·b", "a·b"},
		{"a\u200db", "ab"}, // ZWJ is not kept, ZWNJ is
		{"Ⅻ", "xii"},       // NFKC then lowercase
		{"①", "1"},
		{"ǅ", "dz"},        // NFKC splits the titlecase digraph, ž folds
		{"ÀÉÎÕÜ", "aeiou"}, // upper case reaches the table through step 2
		{"Ⱥ", "ⱥ"},         // lowercase is longer in UTF-8
		{"\xff\xfeab", "ab"},
		{"emoji🐘tag", "emojitag"},
		{"straße ẞ", "straßeß"},
		{"ΣΑΣ", "σας"},
	} {
		if got := string(NormalizeTag(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("NormalizeTag(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeTagFinalSigma(t *testing.T) { // §4.3.1 step 2, ECMAScript Final_Sigma
	for _, tc := range []struct{ in, want string }{
		{"ΟΔΟΣ", "οδος"},
		{"Σ", "σ"},      // not preceded by a cased letter
		{"ΣΑ", "σα"},    // start of word
		{"ΑΣΑ", "ασα"},  // middle of word
		{"ΑΣ!", "ας"},   // '!' is neither cased nor case-ignorable
		{"ΑΣ Β", "αςβ"}, // decided before step 4 removes the space
		{"ΑΣ.Β", "ασβ"}, // '.' is case-ignorable (MidNumLet): same word
		{"ΑΣ'Β", "ασβ"}, // Single_Quote
		{"Α'Σ", "ας"},   // ignorable before Σ is skipped
		{"1Σ", "1σ"},    // a digit is not cased
		{"ΑΣ_", "ας_"},  // '_' (Pc) ends the word
		{"aΣ", "aς"},    // any cased letter counts, not only Greek
		{"ΑΣ\u0301", "ας"},
		{"ΑΣ\u0301Β", "ασβ"},
		{"ΑΣΣ", "ασς"},
		{"ˀΣ", "ˀσ"}, // ˀ is cased and case-ignorable: skipped, as ICU does
	} {
		if got := string(NormalizeTag(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("NormalizeTag(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeTagFoldingTable(t *testing.T) { // §4.3.1 step 3
	n := 0
	for to, from := range specFolding() {
		for _, r := range strings.Fields(from) {
			want := string(to)
			if got := string(NormalizeTag(nil, []byte(r))); got != want {
				t.Errorf("NormalizeTag(%q) = %q, want %q", r, got, want)
			}
			if up := strings.ToUpper(r); up != r && up != "I" { // ı upper-cases to plain I
				if got := string(NormalizeTag(nil, []byte(up))); got != want {
					t.Errorf("NormalizeTag(%q) = %q, want %q", up, got, want)
				}
			}
			n++
		}
	}
	if n != 89 {
		t.Fatalf("folding table has %d entries, want 89", n)
	}
	// Entries of Mastodon's table that NFKC already rewrote (§4.3.1 note).
	for in, want := range map[string]string{"ŀ": "l·", "Ŀ": "l·", "ŉ": "ʼn", "ſ": "s"} {
		if got := string(NormalizeTag(nil, []byte(in))); got != want {
			t.Errorf("NormalizeTag(%q) = %q, want %q", in, got, want)
		}
	}
	// Every Latin-1 Supplement and Latin Extended-A lower-case letter that
	// the table does not list stays as it is.
	listed := map[rune]bool{'ŀ': true, 'ŉ': true, 'ſ': true}
	for _, from := range specFolding() {
		for _, r := range strings.ReplaceAll(from, " ", "") {
			listed[r] = true
		}
	}
	for r := rune(0xC0); r <= 0x17F; r++ {
		if !listed[r] && unicode.IsLower(r) && foldASCII(r) != r {
			t.Errorf("foldASCII(%q) = %q, want unchanged", r, foldASCII(r))
		}
		if listed[r] && foldASCII(r) >= utf8.RuneSelf {
			t.Errorf("foldASCII(%q) = %q, want ASCII", r, foldASCII(r))
		}
	}
}

func TestNormalizeTagAppends(t *testing.T) {
	dst := []byte("timeline:hashtag:")
	if got := string(NormalizeTag(dst, []byte("Café"))); got != "timeline:hashtag:cafe" {
		t.Errorf("got %q", got)
	}
	if got := string(NormalizeTag(dst, []byte("Cats"))); got != "timeline:hashtag:cats" {
		t.Errorf("got %q", got)
	}
}

func TestNormalizeTagASCIIDoesNotAllocate(t *testing.T) {
	tag := []byte("MastoArt_2024")
	dst := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { dst = NormalizeTag(dst[:0], tag) }); n != 0 {
		t.Errorf("ASCII tag: %v allocations per call, want 0", n)
	}
}

// Every single code point, against the independent reference.
func TestNormalizeTagEveryRune(t *testing.T) {
	if testing.Short() {
		t.Skip("1.1M code points")
	}
	referenceTag := newReferenceTag()
	var buf []byte
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if 0xD800 <= r && r <= 0xDFFF {
			continue
		}
		in := string(r)
		buf = NormalizeTag(buf[:0], []byte(in))
		if want := referenceTag(in); string(buf) != want {
			t.Errorf("NormalizeTag(%U) = %q, reference %q", r, buf, want)
		}
	}
}

// Random strings over characters that exercise every step, against the
// independent reference.
func TestNormalizeTagRandomAgainstReference(t *testing.T) {
	alphabet := []rune("aZ_-#·.'’:İIıΣσςΑΒΟ\u0301\u0307\u200c\u200dǅﬁＡ①ŀ日ß àÉøŉſ\u02b0\u1100\u1161\u11a8!1")
	referenceTag := newReferenceTag()
	rng := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	for range 20000 {
		sb.Reset()
		for range rng.IntN(12) {
			sb.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		in := sb.String()
		if got, want := string(NormalizeTag(nil, []byte(in))), referenceTag(in); got != want {
			t.Fatalf("NormalizeTag(%q) = %q, reference %q", in, got, want)
		}
	}
}

func FuzzNormalizeTag(f *testing.F) {
	for _, s := range []string{"Café", "İstanbul", "ΟΔΟΣ", "ﬁsh", "a-b_c", "ŀa", "\xff", "\u1100!\u1161", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, tag []byte) {
		orig := bytes.Clone(tag)
		out := NormalizeTag([]byte("p:"), tag)
		if !bytes.Equal(tag, orig) {
			t.Fatalf("input modified")
		}
		if !bytes.HasPrefix(out, []byte("p:")) {
			t.Fatalf("prefix lost: %q", out)
		}
		out = out[2:]
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8 %q", out)
		}
		for _, r := range string(out) {
			if !keepInTag(r) {
				t.Fatalf("NormalizeTag(%q) = %q keeps %U", tag, out, r)
			}
		}
		// Idempotent unless step 4 left a composable sequence (Hangul jamo
		// separated by removed characters): see NormalizeTag.
		if norm.NFKC.IsNormal(out) {
			if again := NormalizeTag(nil, out); !bytes.Equal(again, out) {
				t.Fatalf("not idempotent: %q → %q → %q", tag, out, again)
			}
		}
		if utf8.Valid(tag) && !bytes.ContainsRune(tag, utf8.RuneError) {
			ascii := true
			for _, b := range tag {
				ascii = ascii && b < utf8.RuneSelf
			}
			if ascii {
				if slow := normalizeTagUnicode(nil, tag); !bytes.Equal(slow, out) {
					t.Fatalf("ASCII path %q, general path %q", out, slow)
				}
			}
		}
	})
}

func BenchmarkNormalizeTag(b *testing.B) {
	for _, tag := range []string{"MastoArt", "İstanbulCafé"} {
		b.Run(tag, func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]byte, 0, 64)
			in := []byte(tag)
			for b.Loop() {
				dst = NormalizeTag(dst[:0], in)
			}
		})
	}
}
