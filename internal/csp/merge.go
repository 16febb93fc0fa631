package csp

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// The kit's scripts must run under the app's own policy. The Merger adds to
// a page's policy the kit's nonce, the loader's source and the widget's
// sources, and changes nothing else: it never adds 'unsafe-inline', a
// wildcard or a scheme, adds nothing to a directive that says 'none', and no
// nonce to a policy that lets inline scripts run (a nonce there would switch
// 'unsafe-inline' off for the app's own scripts). What the browser ignores in
// the app's policy stays as written, and stays ignored.

// fallbacks are, for each directive the kit adds to, the directives the
// browser falls back to when a policy lacks it (CSP3 §6.8.3), most specific
// first; the kit amends the first the policy has, or copies the first
// fallback it has under the directive's own name.
var fallbacks = map[string][]string{
	"script-src-elem": {"script-src-elem", "script-src", "default-src"},
	"frame-src":       {"frame-src", "child-src", "default-src"},
	"connect-src":     {"connect-src", "default-src"},
	"img-src":         {"img-src", "default-src"},
	"style-src":       {"style-src", "default-src"},
	"font-src":        {"font-src", "default-src"},
	"media-src":       {"media-src", "default-src"},
}

// noncePlaceholder stands for the page's nonce in a cached amended policy; a
// header value cannot hold a NUL, so it never collides with the policy's text.
const noncePlaceholder = "\x00nonce\x00"

// maxCached bounds the cache of amended policies: an app sends a few
// distinct policies, unless it puts a per-request nonce of its own in them.
const maxCached = 64

// Merger adds the kit's sources to pages' policies. It is safe for
// concurrent use and keeps the last few amended policies, since amending
// parses and rebuilds a policy, which costs microseconds per page.
type Merger struct {
	widget map[string][]string // sources by directive
	names  []string            // widget's keys, sorted

	mu    sync.Mutex
	cache map[string]string // amended header values (with noncePlaceholder), by loader and the app's value
}

// NewMerger returns a Merger adding widget's sources, by directive.
func NewMerger(widget map[string][]string) *Merger {
	return &Merger{widget: widget, names: slices.Sorted(maps.Keys(widget)), cache: map[string]string{}}
}

// Amend adds the kit's nonce, the loader's source (a CSP source expression,
// or "" for none) and the widget's sources to every policy of h's CSP headers.
func (m *Merger) Amend(h http.Header, nonce, loader string) {
	for _, name := range []string{Enforced, ReportOnly} {
		values := h[name]
		if len(values) == 0 {
			continue
		}
		amended := make([]string, len(values))
		for i, v := range values {
			amended[i] = strings.ReplaceAll(m.amendedValue(v, loader), noncePlaceholder, nonce)
		}
		h[name] = amended
	}
}

// amendedValue returns a header value with the kit's sources added and
// noncePlaceholder for the nonce, from the cache when it can.
func (m *Merger) amendedValue(value, loader string) string {
	key := loader + "\x00" + value
	m.mu.Lock()
	amended, ok := m.cache[key]
	m.mu.Unlock()
	if ok {
		return amended
	}
	policies := strings.Split(value, ",")
	for i, p := range policies {
		policies[i] = m.AmendPolicy(p, noncePlaceholder, loader)
	}
	amended = strings.Join(policies, ",")
	m.mu.Lock()
	if len(m.cache) < maxCached {
		m.cache[key] = amended
	}
	m.mu.Unlock()
	return amended
}

// AmendPolicy returns one serialized policy with the kit's nonce, the
// loader's source and the widget's sources added; unchanged when nothing in
// it restricts what the kit adds to.
func (m *Merger) AmendPolicy(serialized, nonce, loader string) string {
	p := Parse(serialized)
	if len(p.directives) == 0 {
		return serialized
	}
	e := editor{policy: p, added: map[int][]string{}}
	if i := e.effective("script-src-elem"); i >= 0 {
		sources := e.sources(i)
		if !allowsInline(sources) {
			e.add(i, "'nonce-"+nonce+"'")
		}
		if loader != "" && !hasSource(sources, "'strict-dynamic'") {
			e.add(i, loader)
		}
	}
	for _, name := range m.names {
		if i := e.effective(name); i >= 0 {
			e.add(i, m.widget[name]...)
		}
	}
	return e.serialize(serialized)
}

// editor adds sources to a parsed policy and writes it back, rewriting only
// the directives it changed and appending the ones it created.
type editor struct {
	policy  *Policy
	created []Directive      // new directives, copied from a fallback
	added   map[int][]string // sources added, by index: directives, then created
}

// effective returns the index of the directive the kit amends for name, or
// -1 when nothing restricts it or it says 'none' (or lists no source). A policy that governs name
// only through a fallback gets a copy of the fallback under name's own
// directive (or, for scripts, script-src), so the fallback itself stays as
// strict as written for everything else it governs.
func (e *editor) effective(name string) int {
	for _, fallback := range fallbacks[name] {
		d := e.policy.Get(fallback)
		if d == nil {
			continue
		}
		if len(d.Sources) == 0 || hasSource(d.Sources, "'none'") {
			return -1 // an empty source list allows nothing, as 'none' (CSP3 §2.3.1)
		}
		if fallback == name || name == "script-src-elem" && fallback == "script-src" {
			return slices.IndexFunc(e.policy.directives, func(x Directive) bool { return x.Name == fallback })
		}
		target := name
		if name == "script-src-elem" {
			target = "script-src"
		}
		e.created = append(e.created, Directive{Name: target, Sources: slices.Clone(d.Sources)})
		return len(e.policy.directives) + len(e.created) - 1
	}
	return -1
}

// sources returns directive i's sources as they stand, with what was added.
func (e *editor) sources(i int) []string {
	if i < len(e.policy.directives) {
		return append(slices.Clip(e.policy.directives[i].Sources), e.added[i]...)
	}
	return append(slices.Clip(e.created[i-len(e.policy.directives)].Sources), e.added[i]...)
}

// add appends the sources directive i does not have yet.
func (e *editor) add(i int, sources ...string) {
	for _, s := range sources {
		if !hasSource(e.sources(i), s) {
			e.added[i] = append(e.added[i], s)
		}
	}
}

// serialize writes the policy back: untouched tokens as written (their
// whitespace too), a changed directive as its own text with the sources
// appended, created directives at the end. With nothing added it returns
// serialized itself.
func (e *editor) serialize(serialized string) string {
	if len(e.added) == 0 {
		return serialized
	}
	tokens := slices.Clone(e.policy.tokens)
	for i, at := range e.policy.at {
		if extra := e.added[i]; len(extra) > 0 {
			text := trim(tokens[at])
			tokens[at] = strings.Replace(tokens[at], text, text+" "+strings.Join(extra, " "), 1)
		}
	}
	if len(e.created) > 0 && trim(tokens[len(tokens)-1]) == "" {
		tokens = tokens[:len(tokens)-1] // a trailing ';'
	}
	for j, d := range e.created {
		words := append(append([]string{d.Name}, d.Sources...), e.added[len(e.policy.directives)+j]...)
		tokens = append(tokens, " "+strings.Join(words, " "))
	}
	return strings.Join(tokens, ";")
}

// hasSource reports whether sources holds s (keywords compare ignoring case).
func hasSource(sources []string, s string) bool {
	return slices.ContainsFunc(sources, func(x string) bool { return strings.EqualFold(x, s) })
}

// allowsInline reports whether a source list lets any inline script run:
// 'unsafe-inline' counts only without a nonce or hash beside it.
func allowsInline(sources []string) bool {
	if !hasSource(sources, "'unsafe-inline'") {
		return false
	}
	for _, s := range sources {
		l := strings.ToLower(s)
		if strings.HasPrefix(l, "'nonce-") || strings.HasPrefix(l, "'sha256-") || strings.HasPrefix(l, "'sha384-") || strings.HasPrefix(l, "'sha512-") {
			return false
		}
	}
	return true
}
