package filter

// The open-element model of appendHTMLText. It keeps the stack of open
// elements only as exactly as the text needs: which node is current decides
// between foreign content and HTML rules (NUL characters, CDATA, whether
// <style> or <title> starts raw text), and which <template> is open decides
// what is hidden. The in-body rules that move the stack are reduced to their
// effect on it: the implied closing of <p>, <li>, <dd>, <dt> and headings by
// start tags, end tags closing the topmost element of their name where the
// in-body rules would find it (in scope, or before a special element), and
// the adoption agency keeping only the special elements above a closed
// formatting element. Implied end tags other than those, and the table and
// select insertion modes, are not modelled.

func (p *htmlText) startTag(t *tag) {
	p.skipLF = false
	if !p.startTagIsForeign(t) {
		p.htmlStartTag(t)
		return
	}
	if t.causesExit() {
		p.popToHTMLOrIntegrationPoint()
		p.htmlStartTag(t)
		return
	}
	if !t.selfClosing {
		p.push(t, p.top().ns)
	}
}

// startTagIsForeign is parse5's shouldProcessStartTagTokenInForeignContent.
func (p *htmlText) startTagIsForeign(t *tag) bool {
	if !p.currentNotInHTML() {
		return false
	}
	top := p.top()
	if t.name == "svg" && top.ns == nsMath && top.name == "annotation-xml" {
		return false
	}
	if !top.htmlIP && !top.textIP {
		return true
	}
	return (t.name == "mglyph" || t.name == "malignmark") && !top.htmlIP
}

// htmlStartTag applies the in-body (and in-head) start tag rules.
func (p *htmlText) htmlStartTag(t *tag) {
	switch t.name {
	case "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir",
		"div", "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "main",
		"menu", "nav", "ol", "p", "search", "section", "summary", "ul", "hr":
		p.closeP()
	case "form":
		// With the form element pointer set and no template open, a
		// nested <form> is ignored.
		if p.formPointer && len(p.templates) == 0 {
			return
		}
		p.closeP()
	case "h1", "h2", "h3", "h4", "h5", "h6":
		p.closeP()
		if n := len(p.open); n > 0 && p.open[n-1].ns == nsHTML && isHeading(p.open[n-1].name) {
			p.open = p.open[:n-1]
		}
	case "li", "dd", "dt":
		p.closeListItem(t.name)
		p.closeP()
	case "a", "nobr":
		// A second <a> first runs the adoption agency for the open one.
		if i := p.findFormatting(t.name); i >= 0 {
			p.adopt(i)
		}
	case "button":
		if i := p.inScope(t.name); i >= 0 {
			p.open = p.open[:i]
		}
	}
	switch t.name {
	case "svg", "math":
		if !t.selfClosing {
			ns := nsSVG
			if t.name == "math" {
				ns = nsMath
			}
			p.push(t, ns)
		}
	case "template":
		p.templates = append(p.templates, len(p.open))
		p.push(t, nsHTML)
	case "title":
		p.rawText(t.name, true)
	case "textarea":
		p.skipLF = true
		p.rawText(t.name, true)
	case "xmp":
		p.closeP()
		p.rawText(t.name, false)
	case "style", "iframe", "noembed", "noframes", "noscript":
		p.rawText(t.name, false)
	case "script":
		end := scriptEnd(p.s, p.pos)
		p.rawEnd(end, t.name)
	case "plaintext":
		p.rawChars(p.s[p.pos:], false)
		p.pos = len(p.s)
	case "pre", "listing":
		p.closeP()
		p.push(t, nsHTML)
		p.skipLF = true
	case "form":
		p.push(t, nsHTML)
		if len(p.templates) == 0 {
			p.formPointer = true
			p.top().form = true
		}
	default:
		if !noElement(t.name) {
			p.push(t, nsHTML)
		}
	}
}

func (p *htmlText) push(t *tag, ns namespace) {
	e := element{name: t.name, ns: ns}
	switch ns {
	case nsSVG:
		e.htmlIP = t.name == "foreignobject" || t.name == "desc" || t.name == "title"
	case nsMath:
		switch t.name {
		case "mi", "mo", "mn", "ms", "mtext":
			e.textIP = true
		case "annotation-xml":
			e.htmlIP = t.hasEncoding &&
				(asciiEqualFold(t.encoding, "text/html") || asciiEqualFold(t.encoding, "application/xhtml+xml"))
		}
	}
	p.open = append(p.open, e)
}

func (p *htmlText) popToHTMLOrIntegrationPoint() {
	for p.currentNotInHTML() && !p.top().htmlIP && !p.top().textIP {
		p.open = p.open[:len(p.open)-1]
	}
}

// closeP closes a <p> in button scope.
func (p *htmlText) closeP() {
	if i := p.inScope("p"); i >= 0 {
		p.open = p.open[:i]
	}
}

// closeListItem closes an open li (or dd/dt) before a new one, searching
// down to the first special element other than address, div and p.
func (p *htmlText) closeListItem(name string) {
	for i := len(p.open) - 1; i >= 0; i-- {
		e := &p.open[i]
		if e.ns == nsHTML && (e.name == name || name != "li" && (e.name == "dd" || e.name == "dt")) {
			p.open = p.open[:i]
			return
		}
		if isSpecial(e) && !(e.ns == nsHTML && (e.name == "address" || e.name == "div" || e.name == "p")) {
			return
		}
	}
}

// inScope returns the index of the topmost HTML element named name that is
// in the scope the in-body rules use for it, or -1.
func (p *htmlText) inScope(name string) int {
	for i := len(p.open) - 1; i >= 0; i-- {
		e := &p.open[i]
		if e.ns == nsHTML && e.name == name {
			return i
		}
		if isScopeBoundary(e, name) {
			return -1
		}
	}
	return -1
}

// findFormatting returns the index of the topmost HTML element named name
// above the innermost template, or -1.
func (p *htmlText) findFormatting(name string) int {
	for i := len(p.open) - 1; i >= 0; i-- {
		e := &p.open[i]
		if e.ns == nsHTML && e.name == name {
			return i
		}
		if e.ns == nsHTML && e.name == "template" {
			return -1
		}
	}
	return -1
}

// adopt closes the formatting element at i as the adoption agency leaves
// the stack: the special elements above it stay open (with clones of the
// formatting element inside them, which hold no text of their own), and
// everything above the last of them closes.
func (p *htmlText) adopt(i int) {
	kept := p.open[:i]
	for _, e := range p.open[i+1:] {
		if isSpecial(&e) {
			kept = append(kept, e)
		}
	}
	p.open = kept
}

func (p *htmlText) endTag(t *tag) {
	p.skipLF = false
	if !p.currentNotInHTML() {
		p.htmlEndTag(t)
		return
	}
	if t.name == "p" || t.name == "br" {
		p.popToHTMLOrIntegrationPoint()
		p.htmlEndTag(t)
		return
	}
	// The topmost foreign element of that name closes, unless an HTML
	// element is above it.
	for i := len(p.open) - 1; i >= 0 && p.open[i].ns != nsHTML; i-- {
		if p.open[i].name == t.name {
			p.open = p.open[:i]
			return
		}
	}
	p.htmlEndTag(t)
}

// htmlEndTag applies the in-body end tag rules to the open elements.
func (p *htmlText) htmlEndTag(t *tag) {
	switch kind := endTagKind(t.name); kind {
	case endTemplate:
		if n := len(p.templates); n > 0 {
			p.open = p.open[:p.templates[n-1]]
			p.templates = p.templates[:n-1]
		}
	case endFormatting:
		i := p.findFormatting(t.name)
		if i >= 0 && p.inScope(t.name) == i {
			p.adopt(i)
		} else if i < 0 {
			p.closeOther(t.name)
		}
	case endHeading:
		for i := len(p.open) - 1; i >= 0; i-- {
			e := &p.open[i]
			if e.ns == nsHTML && isHeading(e.name) {
				p.open = p.open[:i]
				return
			}
			if isScopeBoundary(e, t.name) {
				return
			}
		}
	case endForm:
		p.closeForm()
	case endScoped:
		if i := p.inScope(t.name); i >= 0 {
			p.open = p.open[:i]
		}
	default:
		p.closeOther(t.name)
	}
}

// closeForm is </form>. Outside templates it removes the element the form
// element pointer names, and only that element, if it is in scope; the
// pointer is cleared even when that element was closed by other means.
func (p *htmlText) closeForm() {
	if len(p.templates) > 0 {
		if i := p.inScope("form"); i >= 0 {
			p.open = p.open[:i]
		}
		return
	}
	if !p.formPointer {
		return
	}
	p.formPointer = false
	for i := len(p.open) - 1; i >= 0; i-- {
		e := &p.open[i]
		if e.form {
			p.open = append(p.open[:i], p.open[i+1:]...)
			return
		}
		if isScopeBoundary(e, "form") {
			return
		}
	}
}

// closeOther is "any other end tag": the topmost element of that name
// closes unless a special element is above it.
func (p *htmlText) closeOther(name string) {
	for i := len(p.open) - 1; i >= 0; i-- {
		e := &p.open[i]
		if e.ns == nsHTML && e.name == name {
			p.open = p.open[:i]
			return
		}
		if isSpecial(e) {
			return
		}
	}
}

// End tag kinds of the in-body insertion mode.
const (
	endOther      = iota // "any other end tag"
	endScoped            // closes the element if it is in scope
	endHeading           // h1–h6: the topmost heading in scope closes
	endFormatting        // the adoption agency
	endTemplate          // closes the innermost template
	endForm              // </form>, see closeForm
)

func endTagKind(name string) int {
	switch name {
	case "address", "article", "aside", "blockquote", "button", "center", "details", "dialog",
		"dir", "div", "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup",
		"listing", "main", "menu", "nav", "ol", "pre", "search", "section", "summary", "ul",
		"p", "li", "dd", "dt", "applet", "marquee", "object":
		return endScoped
	case "form":
		return endForm
	case "h1", "h2", "h3", "h4", "h5", "h6":
		return endHeading
	case "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u":
		return endFormatting
	case "template":
		return endTemplate
	}
	return endOther
}

func isHeading(name string) bool {
	return len(name) == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6'
}

// isScopeBoundary reports whether e ends the "has an element in scope"
// search for name (list item scope for li, button scope for p).
func isScopeBoundary(e *element, name string) bool {
	switch e.ns {
	case nsMath:
		return e.textIP || e.name == "annotation-xml"
	case nsSVG:
		return e.htmlIP
	}
	switch e.name {
	case "applet", "caption", "html", "table", "td", "th", "marquee", "object", "template":
		return true
	case "ol", "ul":
		return name == "li"
	case "button":
		return name == "p"
	}
	return false
}

// isSpecial reports whether e is in the HTML Standard's special category.
func isSpecial(e *element) bool {
	switch e.ns {
	case nsMath:
		return e.textIP || e.name == "annotation-xml"
	case nsSVG:
		return e.htmlIP
	}
	switch e.name {
	case "address", "applet", "area", "article", "aside", "base", "basefont", "bgsound",
		"blockquote", "body", "br", "button", "caption", "center", "col", "colgroup", "dd",
		"details", "dir", "div", "dl", "dt", "embed", "fieldset", "figcaption", "figure",
		"footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head",
		"header", "hgroup", "hr", "html", "iframe", "img", "input", "keygen", "li", "link",
		"listing", "main", "marquee", "menu", "meta", "nav", "noembed", "noframes", "noscript",
		"object", "ol", "p", "param", "plaintext", "pre", "script", "search", "section",
		"select", "source", "style", "summary", "table", "tbody", "td", "template", "textarea",
		"tfoot", "th", "thead", "title", "tr", "track", "ul", "wbr", "xmp":
		return true
	}
	return false
}

// noElement reports whether a start tag leaves no open element behind: void
// elements, and tags the template context ignores.
func noElement(name string) bool {
	switch name {
	case "area", "base", "basefont", "bgsound", "br", "col", "embed", "hr", "img", "image",
		"input", "keygen", "link", "meta", "param", "source", "track", "wbr",
		"frame", "frameset", "head", "body", "html":
		return true
	}
	return false
}
