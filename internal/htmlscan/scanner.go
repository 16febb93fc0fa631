// Package htmlscan follows an HTML page as it is written, far enough to know
// where the snippet may go: before the last </body> end tag that stands in
// markup (the tokenizer's states), where a script becomes an HTML script
// that runs and leaves the page's own tree as it is (enough of the tree
// builder's open elements: foreign content, templates, framesets). It is not
// a parser; where a page does something it does not follow, it says so and
// the caller inserts nothing. It reads the page as a browser with scripting
// on does and, where <noscript> makes them differ, as one with scripting off.
// On the way it notes what the page already carries: the caller's queue stub
// in a script, a Content-Security-Policy in a <meta>. corpus_test.go proves
// it against golang.org/x/net/html on the html5lib-tests inputs.
package htmlscan

import "slices"

// Scanner follows an HTML page as it is written, a byte at a time and
// each byte once, far enough to know where a </body> end tag stands in markup:
// not inside a comment, a CDATA section, a tag's attribute, or the text of a
// script, style, textarea, title or other raw-text element, where the HTML
// parser would not read it as a tag. It is not a parser; where the page does
// something it does not follow (a script holding "<!--", which switches the
// parser's script states), it gives up and says so.
//
// A browser reads <noscript> two ways: with scripting on its content is raw
// text, with scripting off (a sandboxed iframe without allow-scripts) it is
// markup, where an injected <textarea> or attribute could swallow what
// follows. The Scanner reads the page the first way and, from a <noscript>
// start tag until the two readings agree again, the second way too; a
// </body> is an insertion point only where both readings put it.
//
// Besides, it reports what the page carries as a browser that runs its
// scripts reads it: a given text (Prefinery's queue stub) in a script, and a
// Content-Security-Policy set by a <meta> element.
type Scanner struct {
	offset int      // bytes scanned so far
	on     reading  // the page with scripting on
	off    *reading // the page with scripting off, while the two readings differ; nil when they agree
	facts  facts    // what the scripting-on reading found
}

// reading is one browser's reading of the page: the tokenizer's states and
// the open elements that decide where a script runs (tree.go).
type reading struct {
	scripting bool      // <noscript> holds raw text (scripting on) or markup (off)
	facts     *facts    // where to note what the page carries; nil in the scripting-off reading
	state     scanState // the tokenizer's state
	tagStart  int       // offset of the '<' of the construct being scanned
	name      []byte    // lowercased tag name so far, up to maxName bytes
	nameLong  bool      // the tag name is longer than maxName: no element the scanner knows
	endTag    bool      // the tag being scanned is an end tag
	rawText   string    // the raw-text element whose end tag ends stRawText
	rawEnd    string    // "</" + rawText
	quote     byte      // the quote closing the attribute value being scanned
	attrName  bool      // in a tag: an attribute name was seen, its value not yet
	inName    bool      // in a tag: the last byte was part of an attribute name
	match     int       // bytes of the awaited sequence matched so far
	dashes    int       // in a comment: dashes just seen
	bang      bool      // in a comment: "--!" just seen
	fresh     bool      // in a comment: nothing but dashes since "<!--"
	escape    int       // in a script: bytes of "<!--" matched so far
	lastBody  int       // offset of the last </body> in markup, or -1
	bodySafe  bool      // a script inserted at lastBody runs as an HTML script (tree.go)
	slash     bool      // in a tag: the last byte was a '/' between attributes
	unsure    bool      // the page does something the scanner does not follow
	plaintext bool      // <plaintext>: the rest of the page is text
	open      []element // the open elements that decide where a script runs (tree.go)
	frameset  bool      // the page has a <frameset>
}

type scanState uint8

const (
	stData          scanState = iota
	stTagOpen                 // after '<'
	stMarkupDecl              // after "<!"
	stTagName                 // in a start or end tag's name
	stInTag                   // in a tag, between attributes
	stAttrValue               // after '=' in a tag, before the value
	stQuotedValue             // in a quoted attribute value
	stUnquotedValue           // in an unquoted attribute value
	stComment                 // after "<!--", until "-->"
	stBogusComment            // after "<!", "<?" or "</" + non-letter, until '>'
	stCDATA                   // after "<![CDATA[", until "]]>"
	stRawText                 // in a raw-text element, until its end tag
)

// rawTextElements are the elements whose content the HTML parser reads as
// text up to their own end tag (RCDATA and raw text alike, for this purpose).
var rawTextElements = map[string]bool{
	"script": true, "style": true, "textarea": true, "title": true, "xmp": true,
	"iframe": true, "noembed": true, "noframes": true, "noscript": true,
}

// New returns a Scanner at the start of a page, looking for stub (a text
// without '<') in the page's scripts.
func New(stub string) *Scanner {
	s := &Scanner{on: reading{scripting: true, lastBody: -1}}
	s.facts.stub = newMatcher(stub)
	s.on.facts = &s.facts
	return s
}

// InsertionPoint returns the offset of the last </body> the scanner saw in
// markup, or -1 when there is none or it is unsure of the page. With scripting
// off the page must read the same there.
func (s *Scanner) InsertionPoint() int {
	at := s.on.insertionPoint()
	if s.off != nil && s.off.insertionPoint() != at {
		return -1
	}
	return at
}

// HoldFrom returns the offset from which the page must be held back while it
// streams: the last </body> seen in markup (the snippet may go there), or the
// start of a tag not finished yet (it may be one; a tag counts once its '>'
// is seen), in either reading. Everything before may be sent.
func (s *Scanner) HoldFrom() int {
	hold := s.on.holdFrom(s.offset)
	if s.off != nil {
		hold = min(hold, s.off.holdFrom(s.offset))
	}
	return hold
}

// HasStub reports whether the text of a script element (an HTML one, in the
// scripting-on reading) holds the stub given to New.
func (s *Scanner) HasStub() bool { return s.facts.hasStub }

// MetaCSP reports whether the page has a <meta> element that sets a
// Content-Security-Policy: a <meta> start tag in markup (not in a template's
// inert contents) whose first http-equiv attribute's value is
// "content-security-policy" in any ASCII case, as a browser compares it
// (after character references; no whitespace trimmed). A browser applies
// one only in <head>; the scanner does not tell head from body.
func (s *Scanner) MetaCSP() bool { return s.facts.metaCSP }

// Write scans the next bytes of the page.
func (s *Scanner) Write(p []byte) {
	for i, c := range p {
		at := s.offset + i
		if c == '>' && s.off == nil && s.on.endsNoscriptTag() {
			s.off = s.on.fork()
		}
		s.on.step(c, at)
		if s.off != nil {
			s.off.step(c, at)
			if c == '>' && s.off.agrees(&s.on) {
				s.off = nil
			}
		}
	}
	s.offset += len(p)
}

func (m *reading) insertionPoint() int {
	if m.unsure || !m.bodySafe || m.frameset {
		return -1
	}
	return m.lastBody
}

func (m *reading) holdFrom(offset int) int {
	hold := offset
	switch m.state {
	case stTagOpen, stTagName, stInTag, stAttrValue, stQuotedValue, stUnquotedValue:
		hold = m.tagStart // an unfinished tag: it may be a </body>
	}
	if m.lastBody >= 0 {
		hold = min(hold, m.lastBody)
	}
	return hold
}

// endsNoscriptTag reports whether a '>' now ends a <noscript> start tag,
// where the readings with scripting on and off part.
func (m *reading) endsNoscriptTag() bool {
	if m.endTag || m.nameLong || string(m.name) != "noscript" {
		return false
	}
	switch m.state {
	case stTagName, stInTag, stAttrValue, stUnquotedValue:
		return true
	}
	return false
}

// fork returns the scripting-off reading of the page read so far.
func (m *reading) fork() *reading {
	off := *m
	off.scripting, off.facts = false, nil
	off.name = append([]byte(nil), m.name...)
	off.open = append([]element(nil), m.open...)
	return &off
}

// agrees reports whether the scripting-off reading m has come back to the
// scripting-on one: both in markup, with the same open elements and findings.
func (m *reading) agrees(on *reading) bool {
	return m.state == stData && on.state == stData && m.lastBody == on.lastBody && m.bodySafe == on.bodySafe &&
		m.unsure == on.unsure && m.plaintext == on.plaintext && m.frameset == on.frameset && slices.Equal(m.open, on.open)
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isHTMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// step advances the scanner over byte c at offset at.
func (m *reading) step(c byte, at int) {
	if m.unsure || m.plaintext {
		return
	}
	switch m.state {
	case stData:
		if c == '<' {
			m.state, m.tagStart = stTagOpen, at
		}
	case stTagOpen:
		switch {
		case c == '!':
			m.state, m.match = stMarkupDecl, 0
		case c == '/':
			m.state, m.endTag, m.name, m.nameLong, m.slash = stTagName, true, m.name[:0], false, false
		case c == '?':
			m.state = stBogusComment
		case isASCIILetter(c):
			m.state, m.endTag, m.name, m.nameLong, m.slash = stTagName, false, append(m.name[:0], lower(c)), false, false
		default:
			m.state = stData
			if c == '<' {
				m.state, m.tagStart = stTagOpen, at
			}
		}
	case stMarkupDecl:
		m.markupDecl(c)
	case stTagName:
		switch {
		case isASCIILetter(c) || (len(m.name) > 0 && c != '>' && c != '/' && !isHTMLSpace(c)):
			if len(m.name) < maxName {
				m.name = append(m.name, lower(c))
			} else {
				m.nameLong = true
			}
		case len(m.name) == 0: // "</" not followed by a letter
			if c == '>' {
				m.state = stData
			} else {
				m.state = stBogusComment
			}
		case c == '>':
			m.tagEnd(at)
		default:
			m.state, m.attrName, m.inName, m.slash = stInTag, false, false, c == '/'
			if m.facts != nil {
				m.facts.tagNamed(!m.endTag && !m.nameLong && string(m.name) == "meta")
			}
		}
	case stInTag:
		switch {
		case c == '>':
			m.tagEnd(at)
		case c == '=' && m.attrName:
			m.state, m.attrName, m.inName, m.slash = stAttrValue, false, false, false
			m.facts.valueStarts()
		case c == '/':
			m.attrName, m.inName, m.slash = false, false, true
		case isHTMLSpace(c):
			m.inName, m.slash = false, false
		default: // a name character ('=' included when it starts a name)
			m.facts.nameByte(c, !m.inName)
			m.attrName, m.inName, m.slash = true, true, false
		}
	case stAttrValue:
		switch {
		case isHTMLSpace(c):
		case c == '"' || c == '\'':
			m.state, m.quote = stQuotedValue, c
		case c == '>':
			m.tagEnd(at)
		default:
			m.state = stUnquotedValue
			m.facts.valueByte(c)
		}
	case stQuotedValue:
		if c == m.quote {
			m.state, m.attrName, m.slash = stInTag, false, false
			m.facts.valueEnds()
		} else {
			m.facts.valueByte(c)
		}
	case stUnquotedValue:
		switch {
		case isHTMLSpace(c):
			m.state, m.attrName = stInTag, false
			m.facts.valueEnds()
		case c == '>':
			m.tagEnd(at)
		default:
			m.facts.valueByte(c)
		}
	case stComment:
		m.comment(c)
	case stBogusComment:
		if c == '>' {
			m.state = stData
		}
	case stCDATA:
		m.cdata(c)
	case stRawText:
		m.rawTextByte(c, at)
	}
}

// maxName is the longest tag name the scanner keeps: longer than any it
// knows (annotation-xml, foreignobject).
const maxName = 32

// tagEnd finishes the tag whose '>' is at offset at: the open elements
// change, a </body> is noted with whether a script may go before it, and an
// HTML raw-text element switches the scanner to its text.
func (m *reading) tagEnd(at int) {
	m.state = stData
	name := string(m.name)
	if m.nameLong {
		name = ""
	}
	selfClosing := m.slash
	m.slash = false
	if m.facts != nil && m.facts.tagEnds() && !m.inTemplate() { // a <meta> CSP start tag
		m.facts.metaCSP = true
	}
	if m.endTag {
		m.closeElement(name)
		if name == "body" {
			m.lastBody, m.bodySafe = m.tagStart, m.safeHere()
		}
		return
	}
	if !m.openElement(name, selfClosing) {
		return
	}
	if name == "plaintext" {
		m.plaintext = true
		return
	}
	m.state, m.rawText, m.rawEnd, m.match = stRawText, name, "</"+name, 0
	if name == "script" && m.facts != nil {
		m.facts.stub.n = 0 // the stub must stand in one script's text
	}
}

// markupDecl follows "<!": a comment, a CDATA section or a bogus comment.
func (m *reading) markupDecl(c byte) {
	const comment, cdata = "--", "[CDATA["
	m.match++
	switch {
	case m.match <= len(comment) && c == comment[m.match-1]:
		if m.match == len(comment) {
			m.state, m.dashes, m.bang, m.fresh = stComment, 0, false, true
		}
	case m.match <= len(cdata) && c == cdata[m.match-1] && (m.match > 1 || c == '['):
		if m.match == len(cdata) {
			m.state, m.match = stCDATA, 0
			if m.current().ns == nsHTML { // CDATA only in foreign content; in HTML a bogus comment
				m.state = stBogusComment
			}
		}
	default:
		m.state = stBogusComment
		if c == '>' {
			m.state = stData
		}
	}
}

// comment follows a comment's text until "-->" or "--!>"; "<!-->" and
// "<!--->" are empty comments.
func (m *reading) comment(c byte) {
	switch {
	case c == '>' && (m.dashes >= 2 || m.bang || m.fresh && m.dashes <= 1):
		m.state = stData
	case c == '-':
		m.dashes++
		m.bang = false
	case c == '!' && m.dashes >= 2:
		m.bang, m.dashes, m.fresh = true, 0, false
	default:
		m.dashes, m.bang, m.fresh = 0, false, false
	}
}

// cdata follows a CDATA section until "]]>". match counts trailing ']'.
func (m *reading) cdata(c byte) {
	switch {
	case c == '>' && m.match >= 2:
		m.state = stData
	case c == ']':
		m.match++
	default:
		m.match = 0
	}
}

// rawTextByte follows raw text until "</" + its element's name + a space,
// '/' or '>'. match counts the bytes of that end tag matched so far. In a
// script, "<!--" switches the HTML parser into states where "</script>" may
// not end it: the scanner gives up on such a page.
func (m *reading) rawTextByte(c byte, at int) {
	if m.rawText == "script" {
		const open = "<!--"
		switch {
		case c == open[m.escape]:
			if m.escape++; m.escape == len(open) {
				m.unsure = true
			}
		case c == '<':
			m.escape = 1
		default:
			m.escape = 0
		}
		if m.facts != nil && !m.facts.hasStub && m.facts.stub.step(c) {
			m.facts.hasStub = true
		}
	}
	want := m.rawEnd
	switch {
	case m.match < len(want) && lower(c) == want[m.match]:
		m.match++
	case m.match == len(want) && (isHTMLSpace(c) || c == '/' || c == '>'):
		m.tagStart, m.endTag, m.name = at-len(want), true, append(m.name[:0], m.rawText...)
		m.match, m.escape = 0, 0
		m.state, m.attrName = stInTag, false
		if c == '>' {
			m.tagEnd(at)
		}
	default:
		m.match = 0
		if c == '<' {
			m.match = 1
		}
	}
}
