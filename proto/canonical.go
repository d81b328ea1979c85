package proto

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendCanonical appends the text ECMAScript JSON.stringify produces for v
// (ENC-1): no whitespace; array-index keys first in ascending numeric order,
// then the other keys in Obj order; strings as AppendQuoted; numbers as
// Number::toString, ±Inf as null. Obj keys must be unique, as ParseJSON
// leaves them. The output is always valid UTF-8.
func AppendCanonical(dst []byte, v *Value) []byte {
	switch v.Kind {
	case KindNull:
		return append(dst, "null"...)
	case KindFalse:
		return append(dst, "false"...)
	case KindTrue:
		return append(dst, "true"...)
	case KindNumber:
		return appendNumber(dst, v.Num)
	case KindString:
		return AppendQuoted(dst, v.Str)
	case KindArray:
		dst = append(dst, '[')
		for i := range v.Arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendCanonical(dst, &v.Arr[i])
		}
		return append(dst, ']')
	case KindObject:
		return appendObject(dst, v.Obj)
	}
	return append(dst, "null"...)
}

func appendObject(dst []byte, obj []Member) []byte {
	dst = append(dst, '{')
	var indices []int // positions of array-index keys; Mastodon payloads have none
	for i := range obj {
		if isArrayIndex(obj[i].Key) {
			indices = append(indices, i)
		}
	}
	if len(indices) > 0 {
		slices.SortFunc(indices, func(a, b int) int {
			ka, kb := obj[a].Key, obj[b].Key
			if len(ka) != len(kb) { // no leading zeros: shorter is smaller
				return len(ka) - len(kb)
			}
			return cmp.Compare(ka, kb)
		})
		for _, i := range indices {
			dst = appendMember(dst, &obj[i])
		}
	}
	for i := range obj {
		if len(indices) == 0 || !isArrayIndex(obj[i].Key) {
			dst = appendMember(dst, &obj[i])
		}
	}
	if dst[len(dst)-1] == ',' {
		dst = dst[:len(dst)-1]
	}
	return append(dst, '}')
}

// appendMember appends `"key":value,`; appendObject drops the last comma.
func appendMember(dst []byte, m *Member) []byte {
	dst = AppendQuoted(dst, m.Key)
	dst = append(dst, ':')
	dst = AppendCanonical(dst, &m.Val)
	return append(dst, ',')
}

// AppendQuoted appends s as JSON.stringify writes a string (ENC-1): `"` and
// `\` escaped, \b \t \n \f \r, other C0 controls as \u00xx, lone surrogates
// (generalized UTF-8, see Value) as \udxxx, all in lowercase hex; everything
// else raw, including / < > & U+007F U+2028 U+2029. Ill-formed UTF-8, which
// a JavaScript string cannot hold, is written as U+FFFD per maximal subpart.
func AppendQuoted(dst []byte, s string) []byte {
	return appendQuoted(dst, s)
}

// jsonEscape maps each ASCII byte to its short escape letter, 'u' for a
// \u00xx escape, or 0 when it is written as is.
var jsonEscape = [utf8.RuneSelf]byte{
	'\b': 'b', '\t': 't', '\n': 'n', '\f': 'f', '\r': 'r',
	0x00: 'u', 0x01: 'u', 0x02: 'u', 0x03: 'u', 0x04: 'u', 0x05: 'u', 0x06: 'u', 0x07: 'u',
	0x0B: 'u', 0x0E: 'u', 0x0F: 'u', 0x10: 'u', 0x11: 'u', 0x12: 'u', 0x13: 'u', 0x14: 'u',
	0x15: 'u', 0x16: 'u', 0x17: 'u', 0x18: 'u', 0x19: 'u', 0x1A: 'u', 0x1B: 'u', 0x1C: 'u',
	0x1D: 'u', 0x1E: 'u', 0x1F: 'u', '"': '"', '\\': '\\',
}

const lowerHex = "0123456789abcdef"

// appendQuoted is AppendQuoted for strings and byte slices alike, so that
// quoting a []byte payload does not need a string conversion that allocates.
func appendQuoted[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonEscape[c] == 0 {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			if e := jsonEscape[c]; e != 'u' {
				dst = append(dst, '\\', e)
			} else {
				dst = append(dst, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			}
			i++
			start = i
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
		} else if u, ok := wtf8Surrogate(s, i); ok {
			dst = append(dst, '\\', 'u', 'd', lowerHex[u>>8&0xF], lowerHex[u>>4&0xF], lowerHex[u&0xF])
			n = 3
		} else {
			dst = append(dst, "\uFFFD"...)
		}
		i += n
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendNumber appends ECMAScript Number::toString(x) (ECMA-262 §6.1.6.1.20)
// as JSON.stringify uses it. strconv supplies the shortest round-tripping
// digits (the spec's s and k, with the same closest-value tie-break); only
// the layout differs from Go's 'g' format. NaN and ±Inf become null.
func appendNumber(dst []byte, x float64) []byte {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return append(dst, "null"...)
	case x == 0:
		return append(dst, '0') // also -0
	case x == math.Trunc(x) && math.Abs(x) < 1e15:
		return strconv.AppendInt(dst, int64(x), 10)
	}
	if x < 0 {
		dst = append(dst, '-')
		x = -x
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], x, 'e', -1, 64) // d[.ddd]e±XX
	var digits [24]byte
	k, i := 0, 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[k] = e[i]
			k++
		}
	}
	exp := 0
	for _, c := range e[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[i+1] == '-' {
		exp = -exp
	}
	n := exp + 1 // x = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits[:k]...)
		for ; n > k; n-- {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:k]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for ; n < 0; n++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits[:k]...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:k]...)
		}
		dst = append(dst, 'e', e[i+1]) // the sign of n-1, which is exp
		dst = append(dst, bytes.TrimLeft(e[i+2:], "0")...)
	}
	return dst
}
