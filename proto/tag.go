package proto

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeTag appends to dst the normalized form of a hashtag, the name
// Rails publishes under in timeline:hashtag:<tag> (§4.3.1, STR-7), and
// returns the extended slice. tag is only read. The steps are exactly:
//
//  1. NFKC normalization;
//  2. full lowercasing as ECMAScript String.prototype.toLowerCase: the
//     UnicodeData simple mappings plus the locale-insensitive SpecialCasing
//     rules, i.e. U+0130 İ → "i\u0307" and the conditional Final_Sigma rule
//     (Σ → ς at the end of a word, σ elsewhere);
//  3. the ASCII folding of Mastodon's streaming server (see foldASCII);
//  4. removal of everything but \p{L}, \p{N}, '_', U+00B7 and U+200C.
//
// A tag can normalize to nothing; the caller still subscribes to
// "timeline:hashtag:" (STR-7). Invalid UTF-8 counts as U+FFFD, which step 4
// removes, as Node's query decoding would. The Unicode tables are Go's
// (Unicode 15.0); Node may know characters assigned later.
//
// The output is not always a fixed point: step 4 can bring together Hangul
// jamo that NFKC would then compose (the reference behaves the same way), so
// normalizing twice may differ from normalizing once.
//
// Pure-ASCII tags, the common case, take a path that does not allocate.
func NormalizeTag(dst []byte, tag []byte) []byte {
	for _, b := range tag {
		if b >= utf8.RuneSelf {
			return normalizeTagUnicode(dst, tag)
		}
	}
	return normalizeTagASCII(dst, tag)
}

// normalizeTagASCII is NormalizeTag for tags without a byte ≥ 0x80: NFKC
// leaves ASCII alone, lowercasing is A-Z → a-z, nothing folds, and the only
// ASCII letters and numbers are [a-z0-9].
func normalizeTagASCII(dst []byte, tag []byte) []byte {
	for _, b := range tag {
		switch {
		case 'A' <= b && b <= 'Z':
			dst = append(dst, b+('a'-'A'))
		case 'a' <= b && b <= 'z', '0' <= b && b <= '9', b == '_':
			dst = append(dst, b)
		}
	}
	return dst
}

func normalizeTagUnicode(dst []byte, tag []byte) []byte {
	var scratch [256]byte
	s := norm.NFKC.Append(scratch[:0], tag...)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		r = foldASCII(lowerJS(s, i, r, size))
		if keepInTag(r) {
			dst = utf8.AppendRune(dst, r)
		}
		i += size
	}
	return dst
}

// lowerJS lowercases r, found at s[i:i+size], as ECMAScript toLowerCase does
// within the whole string s. Only Σ needs s: Final_Sigma looks at its
// neighbours in the string being lowercased (here, after NFKC and before any
// removal).
func lowerJS(s []byte, i int, r rune, size int) rune {
	switch r {
	case 'İ':
		// SpecialCasing maps U+0130 to U+0069 U+0307. U+0307 is a mark
		// (Mn) that step 4 removes whatever happens in between, so 'i'
		// alone is the same result.
		return 'i'
	case 'Σ':
		if finalSigma(s, i, i+size) {
			return 'ς'
		}
		return 'σ'
	}
	return unicode.ToLower(r)
}

// finalSigma reports the Final_Sigma condition of Unicode §3.13 for the Σ
// at s[start:end]: it is preceded by a cased letter (skipping case-ignorable
// characters) and not followed by one (same skipping). As in ICU, which V8
// uses, a character that is both case-ignorable and cased is skipped.
func finalSigma(s []byte, start, end int) bool {
	before := false
	for j := start; j > 0; {
		r, size := utf8.DecodeLastRune(s[:j])
		j -= size
		if caseIgnorable(r) {
			continue
		}
		before = cased(r)
		break
	}
	if !before {
		return false
	}
	for j := end; j < len(s); {
		r, size := utf8.DecodeRune(s[j:])
		j += size
		if caseIgnorable(r) {
			continue
		}
		return !cased(r)
	}
	return true
}

// cased is the Unicode Cased property: Lowercase, Uppercase or Lt.
func cased(r rune) bool {
	return unicode.In(r, unicode.Ll, unicode.Lu, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// caseIgnorable is the Unicode Case_Ignorable property: general category
// Mn, Me, Cf, Lm or Sk, or Word_Break MidLetter, MidNumLet or Single_Quote
// (listed here from WordBreakProperty.txt, Unicode 15.0).
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', // Single_Quote
		'.', '\u2018', '\u2019', '\u2024', '\uFE52', '\uFF07', '\uFF0E', // MidNumLet
		':', '\u00B7', '\u0387', '\u055F', '\u05F4', '\u2027', '\uFE13', '\uFE55', '\uFF1A': // MidLetter
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// keepInTag is step 4: [\p{L}\p{N}_\u00b7\u200c].
func keepInTag(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '\u00B7' || r == '\u200C'
}

// foldASCII is step 3, the lowercase half of the folding table in Mastodon's
// streaming server (NON_ASCII_CHARS / EQUIVALENT_ASCII_CHARS). Upper-case
// entries of that table are unreachable after step 2, and so are ŀ, ŉ and ſ
// after step 1 (NFKC makes them "l·", "ʼn" and "s"); the last three are kept
// so that the table reads like the reference's.
func foldASCII(r rune) rune {
	if r < 'à' || r > 'ſ' {
		return r
	}
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā', 'ă', 'ą':
		return 'a'
	case 'ç', 'ć', 'ĉ', 'ċ', 'č':
		return 'c'
	case 'ð', 'ď', 'đ':
		return 'd'
	case 'è', 'é', 'ê', 'ë', 'ē', 'ĕ', 'ė', 'ę', 'ě':
		return 'e'
	case 'ĝ', 'ğ', 'ġ', 'ģ':
		return 'g'
	case 'ĥ', 'ħ':
		return 'h'
	case 'ì', 'í', 'î', 'ï', 'ĩ', 'ī', 'ĭ', 'į', 'ı':
		return 'i'
	case 'ĵ':
		return 'j'
	case 'ķ', 'ĸ':
		return 'k'
	case 'ĺ', 'ļ', 'ľ', 'ŀ', 'ł':
		return 'l'
	case 'ñ', 'ń', 'ņ', 'ň', 'ŉ', 'ŋ':
		return 'n'
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō', 'ŏ', 'ő':
		return 'o'
	case 'ŕ', 'ŗ', 'ř':
		return 'r'
	case 'ś', 'ŝ', 'ş', 'š', 'ſ':
		return 's'
	case 'ţ', 'ť', 'ŧ':
		return 't'
	case 'ù', 'ú', 'û', 'ü', 'ũ', 'ū', 'ŭ', 'ů', 'ű', 'ų':
		return 'u'
	case 'ŵ':
		return 'w'
	case 'ý', 'ÿ', 'ŷ':
		return 'y'
	case 'ź', 'ż', 'ž':
		return 'z'
	}
	return r
}
