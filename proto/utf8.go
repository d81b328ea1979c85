package proto

import "unicode/utf8"

// RepairUTF8 returns dst followed by src decoded the way Node's
// Buffer.toString('utf8') and the WHATWG UTF-8 decoder do it (RED-4, SSE-6):
// every maximal subpart of an ill-formed sequence becomes one U+FFFD.
// bytes.ToValidUTF8 is not a substitute: it collapses a whole run of bad
// bytes into a single U+FFFD, while Node writes one per maximal subpart
// ("\xe2\x82A" is one U+FFFD then "A"; "\x80\x80" is two).
//
// Fast path: when len(dst) == 0 and src is already valid UTF-8, src itself
// is returned without copying, so the result may alias src. Callers that
// keep the result past src's lifetime must copy it.
func RepairUTF8(dst, src []byte) []byte {
	if utf8.Valid(src) {
		if len(dst) == 0 {
			return src
		}
		return append(dst, src...)
	}
	i := 0
	for i < len(src) {
		b := src[i]
		if b < utf8.RuneSelf {
			i++
			continue
		}
		n, ok := utf8Seq(src, i)
		if ok {
			i += n
			continue
		}
		// Flush the valid run before i in one append, then the replacement.
		dst = append(dst, src[:i]...)
		dst = append(dst, "\uFFFD"...)
		src = src[i+n:]
		i = 0
	}
	return append(dst, src...)
}

// utf8Seq looks at the sequence starting at s[i], which must be a byte
// >= 0x80. If a well-formed sequence starts there it returns its length and
// ok=true; otherwise it returns the length of the maximal subpart (at least 1)
// that one U+FFFD replaces. The byte ranges are those of the WHATWG decoder
// (Unicode Table 3-7): E0 needs A0..BF next, ED 80..9F (no surrogates), F0
// 90..BF, F4 80..8F, so a sequence stops at the first byte that could not
// continue it and that byte starts afresh.
func utf8Seq[T string | []byte](s T, i int) (n int, ok bool) {
	b := s[i]
	need := 0
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case b >= 0xC2 && b <= 0xDF:
		need = 1
	case b >= 0xE0 && b <= 0xEF:
		need = 2
		if b == 0xE0 {
			lo = 0xA0
		} else if b == 0xED {
			hi = 0x9F
		}
	case b >= 0xF0 && b <= 0xF4:
		need = 3
		if b == 0xF0 {
			lo = 0x90
		} else if b == 0xF4 {
			hi = 0x8F
		}
	default:
		return 1, false
	}
	j := i + 1
	for k := 0; k < need; k++ {
		if j >= len(s) || s[j] < lo || s[j] > hi {
			return j - i, false
		}
		lo, hi = 0x80, 0xBF
		j++
	}
	return j - i, true
}

// wtf8Surrogate reports whether s[i:] starts with a surrogate code point in
// the 3-byte generalized UTF-8 form (ED A0..BF 80..BF) that ParseJSON uses to
// keep lone surrogates from \ud800-style escapes (see Value), and returns it.
func wtf8Surrogate[T string | []byte](s T, i int) (u rune, ok bool) {
	if i+2 >= len(s) || s[i] != 0xED || s[i+1] < 0xA0 || s[i+1] > 0xBF || s[i+2] < 0x80 || s[i+2] > 0xBF {
		return 0, false
	}
	return 0xD000 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), true
}

// wtf8Pair reports whether s[i:] starts with a high surrogate immediately
// followed by a low one (6 bytes) and returns the code point they encode.
// ParseJSON never produces this, but a Value built by hand might, and
// JSON.stringify would see a well-formed pair there.
func wtf8Pair[T string | []byte](s T, i int) (r rune, ok bool) {
	hi, ok1 := wtf8Surrogate(s, i)
	if !ok1 || hi >= 0xDC00 {
		return 0, false
	}
	lo, ok2 := wtf8Surrogate(s, i+3)
	if !ok2 || lo < 0xDC00 {
		return 0, false
	}
	return 0x10000 + (hi-0xD800)<<10 + (lo - 0xDC00), true
}

// appendWellFormed appends s as the UTF-8 that Node writes for a JavaScript
// string: surrogate pairs become the 4-byte form, lone surrogates (kept as
// generalized UTF-8 by ParseJSON) and any ill-formed bytes become U+FFFD.
// This is how a string payload or an event name reaches an SSE body.
func appendWellFormed[T string | []byte](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		n, ok := utf8Seq(s, i)
		if ok {
			i += n
			continue
		}
		dst = append(dst, s[start:i]...)
		if r, ok := wtf8Pair(s, i); ok {
			dst = utf8.AppendRune(dst, r)
			n = 6
		} else if _, ok := wtf8Surrogate(s, i); ok {
			dst = append(dst, "\uFFFD"...)
			n = 3
		} else {
			dst = append(dst, "\uFFFD"...)
		}
		i += n
		start = i
	}
	return append(dst, s[start:]...)
}
