package filter

import "strings"

// tag is a start or end tag token, reduced to what the tree rules look at.
type tag struct {
	name        string // ASCII-lowercased
	selfClosing bool
	fontAttr    bool   // has a color, face or size attribute (<font> leaves foreign content)
	encoding    string // the first encoding attribute (annotation-xml integration point)
	hasEncoding bool
}

func (t *tag) attr(name, value string) {
	switch {
	case asciiEqualFold(name, "color"), asciiEqualFold(name, "face"), asciiEqualFold(name, "size"):
		t.fontAttr = true
	case asciiEqualFold(name, "encoding") && !t.hasEncoding:
		// Attribute values decode character references; for the two
		// encodings that count the attribute and data states agree.
		t.hasEncoding = true
		t.encoding = decodeAll(value)
	}
}

// causesExit reports whether a start tag in foreign content closes it
// (the HTML Standard's list, as parse5 has it).
func (t *tag) causesExit() bool {
	switch t.name {
	case "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt",
		"em", "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li",
		"listing", "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span",
		"strong", "strike", "sub", "sup", "table", "tt", "u", "ul", "var":
		return true
	case "font":
		return t.fontAttr
	}
	return false
}

// scanTag reads the tag whose name starts at s[i] (an ASCII letter) and
// returns it with the offset after its '>'. ok is false when the input ends
// inside the tag, which drops the token (eof-in-tag); next is then len(s).
func scanTag(s string, i int) (t tag, next int, ok bool) {
	j := i
	for j < len(s) && !isTagSpace(s[j]) && s[j] != '/' && s[j] != '>' {
		j++
	}
	t.name = asciiLower(s[i:j])
	next, ok = scanAttrs(s, j, &t)
	return t, next, ok
}

// scanAttrs runs the attribute states from the "before attribute name"
// state at s[i] to the tag's '>'.
func scanAttrs(s string, i int, t *tag) (next int, ok bool) {
	for {
		i = skipTagSpace(s, i)
		if i >= len(s) {
			return len(s), false
		}
		switch s[i] {
		case '>':
			return i + 1, true
		case '/': // self-closing start tag state
			i++
			if i < len(s) && s[i] == '>' {
				t.selfClosing = true
				return i + 1, true
			}
			continue
		}
		// Attribute name; a leading '=' belongs to it.
		start := i
		i++
		for i < len(s) && !isTagSpace(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=' {
			i++
		}
		name := s[start:i]
		i = skipTagSpace(s, i)
		if i >= len(s) {
			return len(s), false
		}
		if s[i] != '=' {
			t.attr(name, "")
			continue
		}
		i = skipTagSpace(s, i+1)
		if i >= len(s) {
			return len(s), false
		}
		switch q := s[i]; q {
		case '"', '\'':
			end := strings.IndexByte(s[i+1:], q)
			if end < 0 {
				return len(s), false
			}
			t.attr(name, s[i+1:i+1+end])
			i += end + 2
		case '>':
			t.attr(name, "")
			return i + 1, true
		default:
			start := i
			for i < len(s) && !isTagSpace(s[i]) && s[i] != '>' {
				i++
			}
			t.attr(name, s[start:i])
		}
	}
}

// findEndTag returns the offset of the first "</name" at or after from that
// is an appropriate end tag for an RCDATA or RAWTEXT element (followed by
// whitespace, '/' or '>'), or -1.
func findEndTag(s string, from int, name string) int {
	for i := from; ; i++ {
		j := strings.Index(s[i:], "</")
		if j < 0 {
			return -1
		}
		i += j
		if isEndTag(s, i, name) {
			return i
		}
	}
}

func isEndTag(s string, i int, name string) bool {
	k := i + 2 + len(name)
	return k < len(s) && s[i] == '<' && s[i+1] == '/' && asciiEqualFold(s[i+2:k], name) &&
		(isTagSpace(s[k]) || s[k] == '/' || s[k] == '>')
}

// Script data states (HTML Standard §13.2.5.15–13.2.5.31) that decide where
// a script element's text ends.
const (
	scriptData = iota
	scriptEscaped
	scriptEscapedDash
	scriptEscapedDashDash
	scriptDouble
	scriptDoubleDash
	scriptDoubleDashDash
)

// scriptEnd returns the offset of the "</script" end tag that closes script
// text starting at i, or -1. Inside "<!--" … "-->" a "<script" opens the
// double-escaped state, where "</script" does not close the element.
func scriptEnd(s string, i int) int {
	st := scriptData
	for i < len(s) {
		c := s[i]
		switch st {
		case scriptData:
			if c == '<' {
				if isEndTag(s, i, "script") {
					return i
				}
				if strings.HasPrefix(s[i:], "<!--") {
					st = scriptEscapedDashDash
					i += 4
					continue
				}
			}
			i++
		case scriptEscaped, scriptEscapedDash, scriptEscapedDashDash:
			switch {
			case c == '-':
				st = min(st+1, scriptEscapedDashDash)
				i++
			case c == '<':
				if isEndTag(s, i, "script") {
					return i
				}
				st, i = escapedLessThan(s, i)
			case c == '>' && st == scriptEscapedDashDash:
				st = scriptData
				i++
			default:
				st = scriptEscaped
				i++
			}
		default: // double escaped
			switch {
			case c == '-':
				st = min(st+1, scriptDoubleDashDash)
				i++
			case c == '<':
				st, i = doubleEscapedLessThan(s, i)
			case c == '>' && st == scriptDoubleDashDash:
				st = scriptData
				i++
			default:
				st = scriptDouble
				i++
			}
		}
	}
	return -1
}

// escapedLessThan handles '<' at s[i] in the escaped states (not an end
// tag): "<script" followed by whitespace, '/' or '>' enters the double
// escaped state; anything else stays escaped.
func escapedLessThan(s string, i int) (state, next int) {
	j := i + 1
	if j < len(s) && s[j] == '/' {
		return scriptEscaped, j + 1
	}
	k := j
	for k < len(s) && isAlpha(s[k]) {
		k++
	}
	if k > j && k < len(s) && isScriptNameEnd(s[k]) && asciiEqualFold(s[j:k], "script") {
		return scriptDouble, k + 1
	}
	return scriptEscaped, max(k, j)
}

// doubleEscapedLessThan handles '<' at s[i] in the double escaped states:
// "</script" followed by whitespace, '/' or '>' returns to the escaped state.
func doubleEscapedLessThan(s string, i int) (state, next int) {
	j := i + 1
	if j >= len(s) || s[j] != '/' {
		return scriptDouble, j
	}
	j++
	k := j
	for k < len(s) && isAlpha(s[k]) {
		k++
	}
	if k < len(s) && isScriptNameEnd(s[k]) && asciiEqualFold(s[j:k], "script") {
		return scriptEscaped, k + 1
	}
	return scriptDouble, k
}

func isScriptNameEnd(c byte) bool { return isTagSpace(c) || c == '/' || c == '>' }

// isTagSpace is the tokenizer's whitespace (CR is already LF).
func isTagSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' }

func skipTagSpace(s string, i int) int {
	for i < len(s) && isTagSpace(s[i]) {
		i++
	}
	return i
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isAlnum(c byte) bool { return isAlpha(c) || '0' <= c && c <= '9' }

// asciiLower lowercases ASCII letters only, as the tokenizer does.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// asciiEqualFold compares ignoring ASCII case only (strings.EqualFold would
// also equate "ſ" and "s").
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// decodeAll decodes every character reference in s.
func decodeAll(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		dec, n := decodeCharRef(s, i)
		b.WriteString(dec)
		s = s[i+n:]
	}
}
