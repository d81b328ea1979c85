package filter

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/sluice/sluice/proto"
)

// Text is the text T that custom filters search (FLT-12), with the case fold
// the matcher works on. Both are computed once per event and shared,
// read-only, by every recipient; the zero Text is the empty T.
type Text struct {
	s    string
	fold string  // s with every character canonicalized (canon)
	offs []int32 // fold offset → s offset; nil when they are equal
}

// NewText prepares an already extracted T for matching. Events get theirs
// from NewEvent; this is for callers and tests that have T at hand.
func NewText(t string) Text {
	fold, offs := foldString(t)
	return Text{s: t, fold: fold, offs: offs}
}

// String returns T.
func (t *Text) String() string { return t.s }

// origin maps an offset of t.fold that starts a character to t.s.
func (t *Text) origin(i int) int {
	if t.offs == nil {
		return i
	}
	return int(t.offs[i])
}

// searchText builds T from a status object as the reference does:
//
//	[spoiler_text || '', content, ...poll.options[].title,
//	 ...media_attachments[].description].join('\n\n')
//	  .replace(/<br\s*\/?>/g, '\n').replace(/<\/p><p>/g, '\n\n')
//
// then takes the textContent of that string parsed as an HTML fragment. Array
// elements that are null or absent join as "", other non-strings as
// JavaScript's String() writes them. Where the reference would throw (a null
// attachment or poll option, a non-array media_attachments), the element
// counts as "" or the array as empty.
func searchText(status *proto.Value) string {
	var b []byte
	if v, ok := status.Get("spoiler_text"); ok && v.Truthy() {
		b = appendJSString(b, v)
	}
	b = append(b, "\n\n"...)
	if v, ok := status.Get("content"); ok {
		b = appendJSString(b, v)
	}
	if poll, ok := status.Get("poll"); ok && poll.Kind == proto.KindObject {
		if opts, ok := poll.Get("options"); ok && opts.Kind == proto.KindArray {
			for i := range opts.Arr {
				b = append(b, "\n\n"...)
				if title, ok := opts.Arr[i].Get("title"); ok {
					b = appendJSString(b, title)
				}
			}
		}
	}
	if media, ok := status.Get("media_attachments"); ok && media.Kind == proto.KindArray {
		for i := range media.Arr {
			b = append(b, "\n\n"...)
			if desc, ok := media.Arr[i].Get("description"); ok {
				b = appendJSString(b, desc)
			}
		}
	}
	src := replaceBreaks(string(b))
	src = strings.ReplaceAll(src, "</p><p>", "\n\n")
	return joinSurrogates(appendHTMLText(make([]byte, 0, len(src)), src))
}

// appendJSString appends String(v) as Array.prototype.join converts an
// element: null → "", numbers by Number::toString (as JSON.stringify
// writes finite ones), objects "[object Object]", arrays joined with ",".
func appendJSString(b []byte, v *proto.Value) []byte {
	switch v.Kind {
	case proto.KindNull:
		return b
	case proto.KindString:
		return append(b, v.Str...)
	case proto.KindTrue:
		return append(b, "true"...)
	case proto.KindFalse:
		return append(b, "false"...)
	case proto.KindNumber:
		switch {
		case math.IsInf(v.Num, 1):
			return append(b, "Infinity"...)
		case math.IsInf(v.Num, -1):
			return append(b, "-Infinity"...)
		}
		return proto.AppendCanonical(b, v)
	case proto.KindArray:
		for i := range v.Arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSString(b, &v.Arr[i])
		}
		return b
	}
	return append(b, "[object Object]"...)
}

// replaceBreaks is s.replace(/<br\s*\/?>/g, '\n') with ECMAScript's \s.
func replaceBreaks(s string) string {
	i := strings.Index(s, "<br")
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		j := i + 3
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !isJSSpace(r) {
				break
			}
			j += n
		}
		if j < len(s) && s[j] == '/' {
			j++
		}
		if j < len(s) && s[j] == '>' {
			b.WriteString(s[:i])
			b.WriteByte('\n')
			s = s[j+1:]
		} else {
			b.WriteString(s[:i+1])
			s = s[i+1:]
		}
		i = strings.Index(s, "<br")
	}
	b.WriteString(s)
	return b.String()
}

// isJSSpace reports whether r is in ECMAScript's \s: WhiteSpace and
// LineTerminator (ECMA-262 §12.2, §12.3).
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// joinSurrogates returns b as a string, with each high surrogate directly
// followed by a low one (in the generalized UTF-8 that proto.Value uses for
// lone surrogates) rewritten as the supplementary character they form: the
// reference's text is UTF-16, where "\ud83d" + "\ude00" from two text nodes
// is one emoji.
func joinSurrogates(b []byte) string {
	for i := 0; i+5 < len(b); i++ {
		if b[i] != 0xED || b[i+1] < 0xA0 || b[i+1] > 0xAF || b[i+3] != 0xED || b[i+4] < 0xB0 {
			continue
		}
		hi := rune(b[i+1]&0x0F)<<6 | rune(b[i+2]&0x3F)
		lo := rune(b[i+4]&0x0F)<<6 | rune(b[i+5]&0x3F)
		r := 0x10000 + hi<<10 + lo
		n := utf8.EncodeRune(b[i:], r)
		b = append(b[:i+n], b[i+6:]...)
		i += n - 1
	}
	return string(b)
}
