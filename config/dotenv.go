package config

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// maxDotenvBytes bounds the file ParseDotenv accepts. Real files are a few
// KiB; the bound keeps a wrong SLUICE_DOTENV (a log file, a database dump)
// from stalling start-up.
const maxDotenvBytes = 1 << 20

// ParseDotenv parses a dotenv file the way the `dotenv` npm package (v16 and
// v17, `parse` in lib/main.js) does for Mastodon's streaming server (CFG-3).
// That parser is one regular expression applied repeatedly; this function
// runs the same expression, translated to RE2 (whose leftmost-first matching
// picks the submatches a backtracking engine would), and the same
// post-processing. What follows from it:
//
//   - A line is `KEY=value` or `KEY: value`; keys are [A-Za-z0-9_.-]+; an
//     optional `export ` prefix and surrounding whitespace are ignored;
//     lines that do not match (comments, garbage) are skipped.
//   - An unquoted value ends at the first '#', whether or not whitespace
//     precedes it (`A=b#c` gives "b"), and at the end of the line; it is
//     trimmed.
//   - A value in single, double or back quotes may span lines; the quotes
//     are removed when the trimmed value ends with the same quote. `\"`
//     inside double quotes does not end the value but stays as typed.
//   - Only values that start with a double quote have `\n` and `\r`
//     turned into newline and carriage return.
//   - Nothing is expanded: `${VAR}` stays as typed.
//   - CRLF and CR line ends count as LF; a later duplicate key wins.
//   - Whitespace is JavaScript's (it includes U+00A0, U+FEFF, U+2028 …) and
//     U+2028/U+2029 end lines for '^', '$' and '.', as in JavaScript.
//   - Invalid UTF-8 reads as U+FFFD, as Node's Buffer.toString does.
//
// The only error is a file larger than 1 MiB.
func ParseDotenv(data []byte) (map[string]string, error) {
	if len(data) > maxDotenvBytes {
		return nil, fmt.Errorf("config: dotenv file is larger than 1 MiB (check that SLUICE_DOTENV names the environment file)")
	}
	src := decodeDotenv(data)
	line := regexp.MustCompile(dotenvLinePattern())
	out := make(map[string]string)
	for pos := 0; pos < len(src); {
		start := nextLineStart(src, pos)
		if start >= len(src) {
			break
		}
		m := line.FindStringSubmatchIndex(src[start:])
		if m == nil {
			pos = start + 1
			continue
		}
		value := ""
		if m[4] >= 0 {
			value = src[start+m[4] : start+m[5]]
		}
		out[src[start+m[2]:start+m[3]]] = dotenvValue(value)
		end := m[1]
		if m[6] >= 0 { // the line terminator that JavaScript's '$' only looks at
			end = m[6]
		}
		pos = start + end
	}
	return out, nil
}

// dotenvLinePattern is dotenv's LINE expression,
//
//	(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)
//
// with JavaScript's \s spelled out, '^' replaced by matching at a line start
// chosen by the caller, and '$' by a group that consumes the terminator so
// that the caller can stop just before it.
func dotenvLinePattern() string {
	const s = `[\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}]`
	return `\A` + s + `*(?:export` + s + `+)?([\w.-]+)(?:` + s + `*=` + s + `*?|:` + s + `+?)(` +
		s + `*'(?:\\'|[^'])*'|` +
		s + `*"(?:\\"|[^"])*"|` +
		s + "*`(?:\\\\`|[^`])*`|" +
		`[^#\r\n]+)?` + s + `*(?:#[^\n\r\x{2028}\x{2029}]*)?(?:\z|([\n\r\x{2028}\x{2029}]))`
}

// dotenvValue is dotenv's post-processing of a matched value: trim, remove
// matching outer quotes, expand \n and \r if it started with '"'.
func dotenvValue(v string) string {
	v = strings.TrimFunc(v, jsSpace)
	doubleQuoted := strings.HasPrefix(v, `"`)
	v = stripQuotes(v)
	if doubleQuoted {
		v = strings.ReplaceAll(v, `\n`, "\n")
		v = strings.ReplaceAll(v, `\r`, "\r")
	}
	return v
}

// stripQuotes is v.replace(/^(['"`])([\s\S]*)\1$/mg, '$2'): at every line
// start that holds a quote, drop it and the last same quote that ends a line.
// For a quoted value that is just its outer quotes; the multi-line flag only
// matters for odd values such as those containing U+2028.
func stripQuotes(v string) string {
	var b strings.Builder
	last := 0
	for p := 0; p < len(v); {
		if q := v[p]; q == '\'' || q == '"' || q == '`' {
			if e := closingQuote(v, p, q); e > p {
				b.WriteString(v[last:p])
				b.WriteString(v[p+1 : e])
				last = e + 1
				p = nextLineStart(v, e+1)
				continue
			}
		}
		p = nextLineStart(v, p+1)
	}
	if last == 0 {
		return v
	}
	b.WriteString(v[last:])
	return b.String()
}

// closingQuote returns the largest e > p with v[e] == q at the end of a line,
// or -1.
func closingQuote(v string, p int, q byte) int {
	for e := len(v) - 1; e > p; e-- {
		if v[e] == q && (e+1 == len(v) || lineTerminatorAt(v, e+1)) {
			return e
		}
	}
	return -1
}

// nextLineStart returns the first position ≥ pos where JavaScript's
// multi-line '^' matches, or len(s).
func nextLineStart(s string, pos int) int {
	for p := pos; p < len(s); p++ {
		if p == 0 || s[p-1] == '\n' || s[p-1] == '\r' || (p >= 3 && (s[p-3:p] == "\u2028" || s[p-3:p] == "\u2029")) {
			return p
		}
	}
	return len(s)
}

func lineTerminatorAt(s string, p int) bool {
	return s[p] == '\n' || s[p] == '\r' || strings.HasPrefix(s[p:], "\u2028") || strings.HasPrefix(s[p:], "\u2029")
}

// decodeDotenv turns the file into the string dotenv works on: UTF-8 with
// each maximal invalid subsequence as one U+FFFD (the WHATWG decoder that
// Buffer.toString uses), and `\r\n?` replaced by `\n`.
func decodeDotenv(data []byte) string {
	var b strings.Builder
	b.Grow(len(data))
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			size = invalidPrefixLen(data[i:])
		}
		i += size
		if r == '\r' {
			if i < len(data) && data[i] == '\n' {
				i++
			}
			r = '\n'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// invalidPrefixLen returns the length of the maximal subpart at the start of
// b, which does not begin a complete UTF-8 sequence: the lead byte and the
// continuation bytes that could still have completed it.
func invalidPrefixLen(b []byte) int {
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch c := b[0]; {
	case 0xC2 <= c && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case 0xE1 <= c && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case 0xF1 <= c && c <= 0xF3:
		need = 3
	}
	n := 1
	for n <= need && n < len(b) && lo <= b[n] && b[n] <= hi {
		n, lo, hi = n+1, 0x80, 0xBF
	}
	return n
}

// jsSpace is JavaScript's WhiteSpace and LineTerminator (the \s class and
// what String.prototype.trim and parseInt skip).
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', '\u00a0', '\u1680', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff':
		return true
	}
	return '\u2000' <= r && r <= '\u200a'
}
