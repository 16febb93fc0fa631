package htmlscan

// The tree builder's side, as far as the scanner needs it. Where a </body>
// stands in markup is the tokenizer's question; whether a <script> inserted
// before it becomes an HTML script that runs is the tree builder's: not
// inside an open <svg> or <math> (it would be a foreign script, or text), not
// inside a <template> (inert), not in a frameset document (ignored, its text
// left as whitespace). The scanner follows the open elements that decide it:
// everything under a foreign root or a template, with the HTML elements at
// their integration points; it does not track the HTML elements outside
// them, which never change those answers. Where it cannot tell, it answers
// "not safe", and the kit inserts nothing.

type namespace uint8

const (
	nsHTML namespace = iota
	nsSVG
	nsMath
)

// element is one open element the scanner tracks.
type element struct {
	name string // lowercased; "" for a name too long to matter
	ns   namespace
}

// maxOpen bounds the elements tracked; a page nesting deeper is not followed.
const maxOpen = 512

// breakout are the start tags that end foreign content (HTML's "parsing
// main in foreign content" rules). <font> breaks out only with color, face
// or size attributes, which the scanner does not read: it stays in foreign
// content, the cautious answer.
var breakout = map[string]bool{
	"b": true, "big": true, "blockquote": true, "body": true, "br": true, "center": true, "code": true,
	"dd": true, "div": true, "dl": true, "dt": true, "em": true, "embed": true, "h1": true, "h2": true,
	"h3": true, "h4": true, "h5": true, "h6": true, "head": true, "hr": true, "i": true, "img": true,
	"li": true, "listing": true, "menu": true, "meta": true, "nobr": true, "ol": true, "p": true,
	"pre": true, "ruby": true, "s": true, "small": true, "span": true, "strong": true, "strike": true,
	"sub": true, "sup": true, "table": true, "tt": true, "u": true, "ul": true, "var": true,
}

// voidElements never have an end tag, so they are never tracked.
var voidElements = map[string]bool{
	"area": true, "base": true, "basefont": true, "bgsound": true, "br": true, "col": true, "embed": true,
	"frame": true, "hr": true, "img": true, "input": true, "keygen": true, "link": true, "meta": true,
	"param": true, "source": true, "track": true, "wbr": true,
}

// current is the adjusted current node: the innermost tracked element, or
// an HTML element when none is tracked.
func (m *reading) current() element {
	if len(m.open) == 0 {
		return element{ns: nsHTML}
	}
	return m.open[len(m.open)-1]
}

// htmlIntegrationPoint reports whether start tags inside e may follow
// HTML's rules: SVG foreignObject, desc and title, and MathML annotation-xml
// (one only with an HTML encoding, which the scanner does not read; taking
// them all as integration points keeps math open in the scanner's view at
// least as long as in the browser's, the cautious side).
func htmlIntegrationPoint(e element) bool {
	return e.ns == nsSVG && (e.name == "foreignobject" || e.name == "desc" || e.name == "title") ||
		e.ns == nsMath && e.name == "annotation-xml"
}

// mathTextIntegrationPoint reports whether e is a MathML text integration point.
func mathTextIntegrationPoint(e element) bool {
	return e.ns == nsMath && (e.name == "mi" || e.name == "mo" || e.name == "mn" || e.name == "ms" || e.name == "mtext")
}

// inForeignContent reports whether a start tag name is processed by the
// rules for foreign content rather than HTML's.
func (m *reading) inForeignContent(name string) bool {
	cur := m.current()
	switch {
	case cur.ns == nsHTML, htmlIntegrationPoint(cur):
		return false
	case mathTextIntegrationPoint(cur):
		return name == "mglyph" || name == "malignmark"
	}
	return true
}

// push tracks an open element; a page nesting past maxOpen is not followed.
func (m *reading) push(e element) {
	if len(m.open) == maxOpen {
		m.unsure = true
		return
	}
	m.open = append(m.open, e)
}

// openElement applies a start tag to the open elements and reports whether its
// content is raw text (only HTML elements switch the tokenizer so).
func (m *reading) openElement(name string, selfClosing bool) (rawText bool) {
	if m.inForeignContent(name) {
		if !breakout[name] {
			if !selfClosing {
				m.push(element{name: name, ns: m.current().ns})
			}
			return false
		}
		for len(m.open) > 0 {
			cur := m.current()
			if cur.ns == nsHTML || htmlIntegrationPoint(cur) || mathTextIntegrationPoint(cur) {
				break
			}
			m.open = m.open[:len(m.open)-1]
		}
	}
	switch {
	case name == "svg" || name == "math":
		if !selfClosing {
			ns := nsSVG
			if name == "math" {
				ns = nsMath
			}
			m.push(element{name: name, ns: ns})
		}
		return false
	case name == "template":
		m.push(element{name: name})
		return false
	case name == "frameset":
		m.frameset = true
	case name == "noscript" && !m.scripting:
		m.push(element{name: name}) // markup; kept open, as "in head noscript" takes what follows (cautious)
	case rawTextElements[name] || name == "plaintext":
		return true
	case len(m.open) > 0 && !voidElements[name]:
		m.push(element{name: name}) // inside a template, an integration point or (scripting off) a noscript
	}
	return false
}

// closeElement applies an end tag to the open elements.
func (m *reading) closeElement(name string) {
	if cur := m.current(); cur.ns != nsHTML {
		// Foreign content: close the innermost element of that name, unless
		// an HTML element comes first, whose rules then apply.
		for i := len(m.open) - 1; i >= 0; i-- {
			e := m.open[i]
			if e.ns == nsHTML {
				break
			}
			if e.name == name && name != "" {
				m.open = m.open[:i]
				return
			}
		}
	}
	// HTML's rules: </template> closes the innermost template and all it
	// holds; another end tag closes the innermost HTML element of its name,
	// never past a foreign element or a template.
	if name == "template" {
		for i := len(m.open) - 1; i >= 0; i-- {
			if e := m.open[i]; e.ns == nsHTML && e.name == "template" {
				m.open = m.open[:i]
				return
			}
		}
		return
	}
	for i := len(m.open) - 1; i >= 0; i-- {
		e := m.open[i]
		if e.ns == nsHTML && e.name == name && name != "" {
			m.open = m.open[:i]
			return
		}
		if e.ns != nsHTML || e.name == "template" {
			return
		}
	}
}

// inTemplate reports whether a template is open: what it holds is inert.
func (m *reading) inTemplate() bool {
	for _, e := range m.open {
		if e.ns == nsHTML && e.name == "template" {
			return true
		}
	}
	return false
}

// safeHere reports whether a script inserted at this point of the page
// becomes an HTML script that runs, without changing the page's own tree.
func (m *reading) safeHere() bool {
	return len(m.open) == 0 && !m.frameset
}
