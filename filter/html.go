package filter

import (
	"html"
	"strings"
)

// appendHTMLText appends the textContent of src parsed as an HTML fragment,
// as the reference gets it from JSDOM.fragment(src).textContent: parse5's
// HTML5 fragment parser with a <template> context element and scripting
// enabled, then every Text node of the result in tree order.
//
// The tokenizer follows the HTML Standard (§13.2.5) state by state where it
// matters for text: data, RCDATA (title, textarea), RAWTEXT (style, xmp,
// iframe, noembed, noframes, and noscript, because scripting is on), script
// data with its escaped and double-escaped states, PLAINTEXT, CDATA sections
// (only in foreign content, as parse5 decides it), tags and attributes with
// their quoting, comments including <!--> and --!>, bogus comments and
// DOCTYPEs. Character references are decoded as in the data state: numeric
// ones with the standard's replacements, named ones with the complete HTML5
// table (2,231 names, from the standard library's html package, including
// the legacy names that need no semicolon); see decodeCharRef.
//
// Of tree construction it keeps what changes the text (see html_tree.go):
// the input stream preprocessing (CR LF and CR become LF), NUL characters
// ignored in HTML content and replaced by U+FFFD in foreign content (one per
// run of NULs, as parse5 groups them) and in raw text, the LF dropped right
// after <pre>, <listing> and <textarea>, the contents of nested <template>
// elements (not part of the fragment's textContent), and foreign content
// (svg, math) with its integration points and the tags that break out of
// it, which decide whether <style> or <title> starts raw text and whether
// CDATA is text. It does not reproduce the table insertion modes (text
// inside <table>, <tr> … is moved in front of the table by foster
// parenting, and dropped after <col>) nor the select insertion mode (which
// ignores most tags, <style> included): such markup never appears in
// Mastodon's sanitized content, only as literal text a user typed in a
// spoiler, poll option or media description.
//
// testdata/html_text.json and status_text.json pin the result to jsdom's;
// on 100,000 random tag soups without table or select markup the two
// differed once (a formatting element closed across several special
// elements, where the adoption agency is only approximated).
func appendHTMLText(dst []byte, src string) []byte {
	if strings.IndexByte(src, '\r') >= 0 {
		src = strings.ReplaceAll(src, "\r\n", "\n")
		src = strings.ReplaceAll(src, "\r", "\n")
	}
	if strings.IndexAny(src, "<&\x00") < 0 {
		return append(dst, src...)
	}
	p := htmlText{s: src, out: dst}
	p.run()
	return p.out
}

type namespace uint8

const (
	nsHTML namespace = iota
	nsSVG
	nsMath
)

// element is an open element of the fragment.
type element struct {
	name   string // lowercase, as the tokenizer gives it
	ns     namespace
	htmlIP bool // HTML integration point: svg foreignObject/desc/title, math annotation-xml with an HTML encoding
	textIP bool // MathML text integration point: mi, mo, mn, ms, mtext
	form   bool // the element the form element pointer names
}

// htmlText is the state of one appendHTMLText call.
type htmlText struct {
	s         string
	pos       int
	out       []byte
	open      []element // open elements, outermost first (void and raw-text elements are never pushed)
	templates []int     // len(open) when each open <template> started; text inside is not output
	skipLF    bool      // the next character token is dropped if it is LF (<pre>, <listing>, <textarea>)
	// formPointer is the form element pointer being set; a <form> outside
	// templates sets it and only </form> clears it.
	formPointer bool
}

func (p *htmlText) run() {
	for p.pos < len(p.s) {
		i := strings.IndexAny(p.s[p.pos:], "<&\x00")
		if i < 0 {
			p.chars(p.s[p.pos:])
			return
		}
		p.chars(p.s[p.pos : p.pos+i])
		p.pos += i
		switch p.s[p.pos] {
		case '&':
			dec, n := decodeCharRef(p.s, p.pos)
			p.chars(dec)
			p.pos += n
		case 0:
			// parse5 groups adjacent NULs into one token, which foreign
			// content replaces with a single U+FFFD.
			for p.pos < len(p.s) && p.s[p.pos] == 0 {
				p.pos++
			}
			p.skipLF = false
			if p.inForeignNode() {
				p.chars("\uFFFD")
			}
		default:
			p.tagOpen()
		}
	}
}

// chars handles a run of character tokens.
func (p *htmlText) chars(run string) {
	if run == "" {
		return
	}
	if p.skipLF {
		p.skipLF = false
		if run[0] == '\n' {
			run = run[1:]
		}
	}
	if len(p.templates) == 0 {
		p.out = append(p.out, run...)
	}
}

// rawChars handles the text of a raw-text element: each NUL is U+FFFD
// there, and character references are decoded only in RCDATA.
func (p *htmlText) rawChars(run string, refs bool) {
	special := "\x00"
	if refs {
		special = "\x00&"
	}
	for run != "" {
		i := strings.IndexAny(run, special)
		if i < 0 {
			p.chars(run)
			return
		}
		p.chars(run[:i])
		if run[i] == 0 {
			p.chars("\uFFFD")
			run = run[i+1:]
			continue
		}
		dec, n := decodeCharRef(run, i)
		p.chars(dec)
		run = run[i+n:]
	}
}

// cdataChars handles the text of a CDATA section, which is only ever in
// foreign content: each run of NULs becomes one U+FFFD, as in the data state.
func (p *htmlText) cdataChars(run string) {
	for run != "" {
		i := strings.IndexByte(run, 0)
		if i < 0 {
			p.chars(run)
			return
		}
		p.chars(run[:i])
		p.chars("\uFFFD")
		for i < len(run) && run[i] == 0 {
			i++
		}
		run = run[i:]
	}
}

func (p *htmlText) top() *element { return &p.open[len(p.open)-1] }

// currentNotInHTML reports whether the current node is a foreign element.
func (p *htmlText) currentNotInHTML() bool {
	return len(p.open) > 0 && p.top().ns != nsHTML
}

// inForeignNode is parse5's tokenizer flag: the current node is foreign and
// not an integration point. Characters then follow the foreign-content rules
// and <![CDATA[ opens a CDATA section.
func (p *htmlText) inForeignNode() bool {
	if !p.currentNotInHTML() {
		return false
	}
	t := p.top()
	return !t.htmlIP && !t.textIP
}

// tagOpen handles the '<' at p.pos.
func (p *htmlText) tagOpen() {
	s, i := p.s, p.pos
	if i+1 >= len(s) {
		p.chars("<")
		p.pos++
		return
	}
	switch c := s[i+1]; {
	case c == '!':
		p.markupDeclaration()
	case c == '/':
		p.endTagOpen()
	case isAlpha(c):
		t, next, ok := scanTag(s, i+1)
		p.pos = next
		if ok {
			p.startTag(&t)
		}
	case c == '?':
		p.bogusComment(i + 1)
	default:
		p.chars("<")
		p.pos++
	}
}

// markupDeclaration handles "<!" at p.pos.
func (p *htmlText) markupDeclaration() {
	i := p.pos
	rest := p.s[i+2:]
	switch {
	case strings.HasPrefix(rest, "--"):
		p.comment(i + 4)
	case strings.HasPrefix(rest, "[CDATA[") && p.inForeignNode():
		p.skipLF = false
		start := i + 9
		end := strings.Index(p.s[start:], "]]>")
		if end < 0 {
			p.cdataChars(p.s[start:])
			p.pos = len(p.s)
			return
		}
		p.cdataChars(p.s[start : start+end])
		p.pos = start + end + 3
	default:
		// DOCTYPE tokens, whatever their identifiers hold, end at the first
		// '>' as bogus comments do; neither produces text.
		p.bogusComment(i + 2)
	}
}

// comment skips a comment whose data starts at j (just after "<!--"). It
// ends at "-->" or "--!>", or at once for "<!-->" and "<!--->"; every path
// of the comment states to the end passes through one of these.
func (p *htmlText) comment(j int) {
	p.skipLF = false
	rem := p.s[j:]
	switch {
	case strings.HasPrefix(rem, ">"):
		p.pos = j + 1
		return
	case strings.HasPrefix(rem, "->"):
		p.pos = j + 2
		return
	}
	end := len(p.s)
	if k := strings.Index(rem, "-->"); k >= 0 {
		end = j + k + 3
	}
	if k := strings.Index(rem, "--!>"); k >= 0 && j+k+4 < end {
		end = j + k + 4
	}
	p.pos = end
}

func (p *htmlText) bogusComment(from int) {
	p.skipLF = false
	if k := strings.IndexByte(p.s[from:], '>'); k >= 0 {
		p.pos = from + k + 1
	} else {
		p.pos = len(p.s)
	}
}

// endTagOpen handles "</" at p.pos.
func (p *htmlText) endTagOpen() {
	s, i := p.s, p.pos
	if i+2 >= len(s) {
		p.chars(s[i:])
		p.pos = len(s)
		return
	}
	switch c := s[i+2]; {
	case c == '>': // "</>": no token at all
		p.pos = i + 3
	case isAlpha(c):
		t, next, ok := scanTag(s, i+2)
		p.pos = next
		if ok {
			p.endTag(&t)
		}
	default:
		p.bogusComment(i + 2)
	}
}

// rawText handles the content of an RCDATA (refs) or RAWTEXT element whose
// start tag ended at p.pos: text up to the element's end tag.
func (p *htmlText) rawText(name string, refs bool) {
	end := findEndTag(p.s, p.pos, name)
	if end < 0 {
		end = len(p.s)
	}
	p.rawChars(p.s[p.pos:end], refs)
	p.rawEnd(end, name)
}

// rawEnd emits the raw text before end (script data) if not yet done and
// consumes the end tag at end, if any.
func (p *htmlText) rawEnd(end int, name string) {
	if name == "script" {
		if end < 0 {
			end = len(p.s)
		}
		p.rawChars(p.s[p.pos:end], false)
	}
	if end >= len(p.s) {
		p.pos = len(p.s)
		return
	}
	var t tag
	next, ok := scanAttrs(p.s, end+2+len(name), &t)
	p.pos = next
	if ok {
		p.skipLF = false
	}
}

// decodeCharRef decodes the character reference at s[i] == '&' as the data
// state does and returns its text and length; a '&' that starts no
// reference is itself ("&", 1).
//
// Numeric references follow the standard: 0, surrogates and values past
// U+10FFFF (however many digits) become U+FFFD, 0x80–0x9F the Windows-1252
// characters. Named references use html.UnescapeString, which holds the full
// HTML5 table and applies the data-state rule for legacy names without a
// semicolon (the longest such name that prefixes the letters: "&notit;" is
// "¬it;"). It is handed one reference at a time so that its numeric
// handling, which overflows on long digit runs, is never used.
func decodeCharRef(s string, i int) (string, int) {
	j := i + 1
	if j < len(s) && s[j] == '#' {
		return decodeNumericRef(s, i)
	}
	k := j
	for k < len(s) && isAlnum(s[k]) {
		k++
	}
	if k == j {
		return "&", 1
	}
	if k < len(s) && s[k] == ';' {
		k++
	}
	ref := s[i:k]
	dec := html.UnescapeString(ref)
	if dec == ref {
		return "&", 1 // unknown name: the text stays as it is
	}
	return dec, k - i
}

func decodeNumericRef(s string, i int) (string, int) {
	k := i + 2
	hex := k < len(s) && (s[k] == 'x' || s[k] == 'X')
	if hex {
		k++
	}
	digits := k
	var v rune
	for ; k < len(s); k++ {
		c := s[k]
		var d rune
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case hex && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case hex && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		default:
			d = -1
		}
		if d < 0 {
			break
		}
		if v <= 0x10FFFF { // saturate: anything larger is U+FFFD anyway
			if hex {
				v = v*16 + d
			} else {
				v = v*10 + d
			}
		}
	}
	if k == digits {
		return "&", 1
	}
	if k < len(s) && s[k] == ';' {
		k++
	}
	switch {
	case v == 0, v > 0x10FFFF, v >= 0xD800 && v <= 0xDFFF:
		v = '\uFFFD'
	case v >= 0x80 && v <= 0x9F:
		v = windows1252[v-0x80]
	}
	return string(v), k - i
}

// windows1252 is the numeric character reference replacement table of the
// HTML Standard for 0x80–0x9F; the five unassigned bytes map to themselves.
var windows1252 = [32]rune{
	0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
	0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
}
