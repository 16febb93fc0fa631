package htmlscan

import "html"

// facts are what the scripting-on reading finds in the page besides the
// insertion point. The tokenizer's states say where each byte stands, so a
// stub in a comment or an attribute, or "http-equiv" in a script, is no fact.
type facts struct {
	hasStub bool    // a script's text holds the stub
	stub    matcher // the stub, in the text of the script being scanned

	metaCSP bool // a <meta> sets a Content-Security-Policy
	// The <meta> start tag being scanned, if any:
	meta      bool   // the tag being scanned is a <meta> start tag
	attr      int    // bytes of "http-equiv" the attribute name being scanned matches; -1: it differs
	equivSeen bool   // the tag's first http-equiv attribute came (the tokenizer drops a repeat)
	inEquiv   bool   // in that attribute's value
	equiv     []byte // its value so far, up to maxEquiv+1 bytes
}

const (
	httpEquiv = "http-equiv"
	cspEquiv  = "content-security-policy"
	// maxEquiv bounds the http-equiv value kept: room for cspEquiv with a
	// character reference for each byte; a longer value is taken as another.
	maxEquiv = 256
)

// tagNamed starts a tag's attributes; meta says whether it is a <meta> start tag.
func (f *facts) tagNamed(meta bool) {
	f.meta, f.attr, f.equivSeen, f.inEquiv, f.equiv = meta, -1, false, false, f.equiv[:0]
}

// nameByte follows a byte of an attribute name; first says it starts one.
func (f *facts) nameByte(c byte, first bool) {
	if f == nil || !f.meta {
		return
	}
	if first {
		f.equivSeen = f.equivSeen || f.attr == len(httpEquiv) // the one before had no value
		f.attr = 0
	}
	if f.attr >= 0 && f.attr < len(httpEquiv) && lower(c) == httpEquiv[f.attr] {
		f.attr++
	} else {
		f.attr = -1
	}
}

// valueStarts follows the '=' before an attribute value.
func (f *facts) valueStarts() {
	if f == nil || !f.meta {
		return
	}
	if f.attr == len(httpEquiv) && !f.equivSeen {
		f.equivSeen, f.inEquiv = true, true
	}
	f.attr = -1
}

// valueByte follows a byte of an attribute value.
func (f *facts) valueByte(c byte) {
	if f != nil && f.inEquiv && len(f.equiv) <= maxEquiv {
		f.equiv = append(f.equiv, c)
	}
}

// valueEnds follows the end of an attribute value.
func (f *facts) valueEnds() {
	if f != nil {
		f.inEquiv = false
	}
}

// tagEnds ends the tag and reports whether it is a <meta> whose first
// http-equiv attribute names a Content-Security-Policy.
func (f *facts) tagEnds() bool {
	csp := f.meta && len(f.equiv) <= maxEquiv && equalFold(f.equiv, cspEquiv)
	f.meta, f.inEquiv = false, false
	return csp
}

// equalFold reports whether the attribute value b, its character references
// decoded, is s (ASCII lower case) in any ASCII case.
func equalFold(b []byte, s string) bool {
	v := string(b)
	for _, c := range b {
		if c == '&' {
			// html.UnescapeString differs from an attribute's decoding only
			// for legacy named references, none of which yields a letter or '-'.
			v = html.UnescapeString(v)
			break
		}
	}
	if len(v) != len(s) {
		return false
	}
	for i := range len(v) {
		if lower(v[i]) != s[i] {
			return false
		}
	}
	return true
}

// matcher finds a text in a stream of bytes, each byte once
// (Knuth–Morris–Pratt).
type matcher struct {
	text string
	next []int // next[i]: the longest proper prefix of text[:i+1] that is also its suffix
	n    int   // bytes of text matched so far
}

func newMatcher(text string) matcher {
	next := make([]int, len(text))
	for i, k := 1, 0; i < len(text); i++ {
		for k > 0 && text[i] != text[k] {
			k = next[k-1]
		}
		if text[i] == text[k] {
			k++
		}
		next[i] = k
	}
	return matcher{text: text, next: next}
}

// step follows byte c and reports whether the text ends with it.
func (m *matcher) step(c byte) bool {
	if len(m.text) == 0 {
		return false
	}
	for m.n > 0 && m.text[m.n] != c {
		m.n = m.next[m.n-1]
	}
	if m.text[m.n] == c {
		m.n++
	}
	if m.n == len(m.text) {
		m.n = m.next[m.n-1]
		return true
	}
	return false
}
