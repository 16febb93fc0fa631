// Package csp is the kit's one reader and writer of Content-Security-Policy
// headers: it tokenises a policy as the CSP3 specification does (ASCII
// whitespace only; a token the browser ignores is ignored here too, and kept
// byte for byte), answers "does this response have a policy" and "does it
// sandbox the page", and adds the kit's nonce and sources to a page's policy.
package csp

import (
	"net/http"
	"strings"
)

// Header names, in canonical form: the enforced policy and the report-only one.
const (
	Enforced   = "Content-Security-Policy"
	ReportOnly = "Content-Security-Policy-Report-Only"
)

// Directive is one directive of a policy, as the browser reads it.
type Directive struct {
	Name    string   // lowercased
	Sources []string // the value, split on ASCII whitespace, as written
}

// Policy is one serialized policy: its tokens (the text between ';') as
// written, and which of them are the directives the browser applies.
type Policy struct {
	tokens     []string    // every ';'-separated token, untouched
	directives []Directive // the applied ones, in order
	at         []int       // directives[i] is tokens[at[i]]
}

// isASCIIWhitespace is the spec's ASCII whitespace: TAB, LF, FF, CR, SPACE.
// Unicode spaces (NBSP and the like) are not separators.
func isASCIIWhitespace(c byte) bool {
	return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

// trim strips leading and trailing ASCII whitespace.
func trim(s string) string {
	start, end := 0, len(s)
	for start < end && isASCIIWhitespace(s[start]) {
		start++
	}
	for end > start && isASCIIWhitespace(s[end-1]) {
		end--
	}
	return s[start:end]
}

// fields splits s on runs of ASCII whitespace.
func fields(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && isASCIIWhitespace(s[i]) {
			i++
		}
		start := i
		for i < len(s) && !isASCIIWhitespace(s[i]) {
			i++
		}
		if i > start {
			out = append(out, s[start:i])
		}
	}
	return out
}

// isDirectiveName reports whether s matches directive-name: 1*( ALPHA /
// DIGIT / "-" ).
func isDirectiveName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !('a' <= c && c <= 'z' || '0' <= s[i] && s[i] <= '9' || s[i] == '-') {
			return false
		}
	}
	return true
}

// isASCII reports whether s holds only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Parse reads one serialized policy as CSP3's "parse a serialized CSP" does:
// tokens split on ';' and trimmed of ASCII whitespace; an empty token, one
// that is not ASCII, or one whose name is not a directive name is ignored, as
// is a repeat of a name already seen (the first one counts).
func Parse(serialized string) *Policy {
	p := &Policy{tokens: strings.Split(serialized, ";")}
	for i, token := range p.tokens {
		token = trim(token)
		if token == "" || !isASCII(token) {
			continue
		}
		words := fields(token)
		if !isDirectiveName(words[0]) {
			continue
		}
		name := strings.ToLower(words[0])
		if p.Get(name) != nil {
			continue
		}
		p.directives = append(p.directives, Directive{Name: name, Sources: words[1:]})
		p.at = append(p.at, i)
	}
	return p
}

// ParseList reads a header value, which may hold several policies separated
// by ','; each is enforced (or reported) on its own.
func ParseList(value string) []*Policy {
	var out []*Policy
	for serialized := range strings.SplitSeq(value, ",") {
		out = append(out, Parse(serialized))
	}
	return out
}

// Directives returns the directives the browser applies, in order.
func (p *Policy) Directives() []Directive { return p.directives }

// Get returns the directive name (lowercase), or nil when the policy has none.
func (p *Policy) Get(name string) *Directive {
	for i := range p.directives {
		if p.directives[i].Name == name {
			return &p.directives[i]
		}
	}
	return nil
}

// Has reports whether h carries a Content-Security-Policy, enforced or
// report-only (a non-empty first value, as h.Get would find).
func Has(h http.Header) bool {
	has := func(v []string) bool { return len(v) > 0 && v[0] != "" }
	return has(h[Enforced]) || has(h[ReportOnly])
}

// Sandboxes reports whether h's enforced policies sandbox the page: its
// scripts would run in an opaque origin.
func Sandboxes(h http.Header) bool {
	for _, value := range h[Enforced] {
		for _, p := range ParseList(value) {
			if p.Get("sandbox") != nil {
				return true
			}
		}
	}
	return false
}
