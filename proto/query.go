package proto

import "bytes"

// QueryValue returns the first value of key in rawQuery (STR-6), decoded as
// application/x-www-form-urlencoded and appended to dst (STR-5): '+' is a
// space, %XX is the byte XX, and a '%' not followed by two hex digits is kept
// literally. Keys are compared after the same decoding, so "acc%65ss_token"
// matches "access_token". A key without '=' has the value "" and is found.
// Pairs are separated by '&' only; ';' is an ordinary byte, as in WHATWG
// URLSearchParams.
//
// found is false if key does not occur; dst is then returned unchanged. The
// decoded bytes may be invalid UTF-8 ("%FF"): callers that need text check.
// QueryValue allocates only to grow dst.
func QueryValue(dst, rawQuery []byte, key string) (val []byte, found bool) {
	for len(rawQuery) > 0 {
		pair := rawQuery
		if i := bytes.IndexByte(rawQuery, '&'); i >= 0 {
			pair, rawQuery = rawQuery[:i], rawQuery[i+1:]
		} else {
			rawQuery = nil
		}
		if len(pair) == 0 {
			continue
		}
		k, v := pair, pair[len(pair):]
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			k, v = pair[:i], pair[i+1:]
		}
		if unescapedEqual(k, key) {
			return appendUnescaped(dst, v), true
		}
	}
	return dst, false
}

// unescapedEqual reports whether the form-decoding of enc equals s, without
// decoding into a buffer.
func unescapedEqual(enc []byte, s string) bool {
	j := 0
	for i := 0; i < len(enc); j++ {
		c, w := unescapeAt(enc, i)
		if j >= len(s) || s[j] != c {
			return false
		}
		i += w
	}
	return j == len(s)
}

func appendUnescaped(dst, enc []byte) []byte {
	if bytes.IndexByte(enc, '%') < 0 && bytes.IndexByte(enc, '+') < 0 {
		return append(dst, enc...)
	}
	for i := 0; i < len(enc); {
		c, w := unescapeAt(enc, i)
		dst = append(dst, c)
		i += w
	}
	return dst
}

// unescapeAt decodes the byte at enc[i] and says how many bytes it took.
func unescapeAt(enc []byte, i int) (c byte, width int) {
	switch enc[i] {
	case '+':
		return ' ', 1
	case '%':
		if i+2 < len(enc) {
			hi, ok1 := fromHex(enc[i+1])
			lo, ok2 := fromHex(enc[i+2])
			if ok1 && ok2 {
				return hi<<4 | lo, 3
			}
		}
	}
	return enc[i], 1
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
