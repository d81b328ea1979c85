package filter

import (
	"unicode"
	"unicode/utf8"
)

// The reference builds each filter's regular expression with the flag "i"
// and without "u" (FLT-13), so two characters match when ECMAScript's
// Canonicalize (ECMA-262 §22.2.2.7.3, non-Unicode case) maps them to the
// same value:
//
//	u := toUppercase(ch)                // full Unicode mapping (SpecialCasing)
//	if len(u) != 1 { return ch }        // ß → "SS": ß stays itself
//	if ch >= 128 && u < 128 { return ch } // ſ → S, ı → I: stay themselves
//	return u
//
// It works on UTF-16 code units, so a supplementary character (two
// surrogates, each its own canonical value) only matches itself.
//
// canon implements it on code points. Go's unicode.ToUpper is the simple
// mapping of UnicodeData.txt, which equals the full mapping for every
// character except those whose full uppercase has several characters; those
// are listed in multiUpper. Go's tables are Unicode 15.0; newerUpper adds the
// few BMP mappings Unicode 16 and 17 introduced, which the reference's
// Node/ICU knows. A comparison of canon with Node's Canonicalize over every
// BMP code point found no other difference.
//
// Go's regexp (?i) uses simple case folding orbits instead, which wrongly
// equates s/ſ, k/U+212A KELVIN SIGN, ß/ẞ, å/U+212B ANGSTROM SIGN, ω/U+2126
// OHM SIGN, θ/ϴ, and the Greek letters with iota subscript: that is why
// Sluice matches with its own code rather than regexp.
func canon(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}
	if r > 0xFFFF || multiUpper(r) {
		return r
	}
	u := unicode.ToUpper(r)
	if u == r {
		u = newerUpper(r)
	}
	if u < utf8.RuneSelf || u > 0xFFFF {
		return r
	}
	return u
}

// multiUpper reports whether SpecialCasing.txt gives r an unconditional
// uppercase of more than one character (ECMAScript then keeps r as is).
func multiUpper(r rune) bool {
	switch {
	case r == 0x00DF, r == 0x0149, r == 0x01F0, r == 0x0390, r == 0x03B0, r == 0x0587:
		return true
	case r >= 0x1E96 && r <= 0x1E9A:
		return true
	case r == 0x1F50, r == 0x1F52, r == 0x1F54, r == 0x1F56:
		return true
	case r >= 0x1F80 && r <= 0x1FAF: // Greek with iota subscript: upper is two letters
		return true
	case r >= 0x1FB2 && r <= 0x1FB4, r == 0x1FB6, r == 0x1FB7, r == 0x1FBC:
		return true
	case r >= 0x1FC2 && r <= 0x1FC4, r == 0x1FC6, r == 0x1FC7, r == 0x1FCC:
		return true
	case r == 0x1FD2, r == 0x1FD3, r == 0x1FD6, r == 0x1FD7:
		return true
	case r >= 0x1FE2 && r <= 0x1FE4, r == 0x1FE6, r == 0x1FE7:
		return true
	case r >= 0x1FF2 && r <= 0x1FF4, r == 0x1FF6, r == 0x1FF7, r == 0x1FFC:
		return true
	case r >= 0xFB00 && r <= 0xFB06, r >= 0xFB13 && r <= 0xFB17: // ligatures ﬀ … ﬗ
		return true
	}
	return false
}

// newerUpper returns the uppercase mappings of Unicode 16 and 17 that Go's
// Unicode 15 tables lack, or r.
func newerUpper(r rune) rune {
	switch r {
	case 0x019B:
		return 0xA7DC
	case 0x0264:
		return 0xA7CB
	case 0x1C8A:
		return 0x1C89
	case 0xA7CD:
		return 0xA7CC
	case 0xA7CF:
		return 0xA7CE
	case 0xA7D3:
		return 0xA7D2
	case 0xA7D5:
		return 0xA7D4
	case 0xA7DB:
		return 0xA7DA
	}
	return r
}

// foldString returns s with every character replaced by its canonical value
// (canon) and, when some replacement changed the UTF-8 length, offs mapping
// each byte offset of the result that starts a character (and its length)
// to the matching offset of s. offs is nil when offsets are equal, which is
// the case for nearly all text.
//
// Bytes that are not valid UTF-8 (the 3-byte generalized UTF-8 form of a
// lone surrogate that proto.Value may carry) are copied unchanged: a
// surrogate is its own canonical value, and a keyword, read from
// PostgreSQL, never contains one.
func foldString(s string) (fold string, offs []int32) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
			if offs != nil {
				offs = append(offs, int32(i))
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, c)
			if offs != nil {
				offs = append(offs, int32(i))
			}
			i++
			continue
		}
		u := canon(r)
		start := len(b)
		b = utf8.AppendRune(b, u)
		if offs == nil && len(b)-start != n {
			offs = make([]int32, start, cap(b)+8)
			for j := range offs {
				offs[j] = int32(j)
			}
		}
		if offs != nil {
			for range len(b) - start {
				offs = append(offs, int32(i))
			}
		}
		i += n
	}
	if offs != nil {
		offs = append(offs, int32(len(s)))
	}
	return string(b), offs
}

// isWordByte reports whether c is an ECMAScript \w character without the
// "u" flag: [A-Za-z0-9_]. Any byte of a multi-byte character is not.
func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
