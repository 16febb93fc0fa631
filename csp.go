package prefinery

import (
	"crypto/rand"
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The kit's scripts must run under the app's own Content-Security-Policy.
// Without Config.Nonce, the kit gives each page a nonce of its own, puts it
// on its scripts, and adds it to the policy when the header goes out. It only
// ever adds a nonce, the loader's origin and the widget's hosts: never
// 'unsafe-inline', a wildcard or a scheme, and nothing to a directive that
// says 'none' or to a policy that already lets inline scripts run (a nonce
// there would switch 'unsafe-inline' off for the app's own scripts).

// cspHeaders are the headers the kit amends, in canonical form.
var cspHeaders = []string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"}

// defaultWidgetSources are the hosts Prefinery's widget is expected to need
// beyond its loader script, by directive. They cannot be checked offline:
// confirm them against the live widget (the browser console lists
// violations) and override them with Config.WidgetSources.
func defaultWidgetSources(loaderOrigin string) map[string][]string {
	if loaderOrigin == "" || loaderOrigin == "'self'" {
		return nil
	}
	return map[string][]string{
		"connect-src": {loaderOrigin},
		"frame-src":   {loaderOrigin},
		"img-src":     {loaderOrigin},
		"style-src":   {loaderOrigin},
	}
}

// newNonce returns 128 bits from crypto/rand, base64url-encoded (no '+' to
// escape in attributes).
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// loaderOrigin is the CSP source for the loader script's URL: its origin, or
// 'self' for a path on the app's own origin.
func loaderOrigin(loaderURL string) string {
	u, err := url.Parse(loaderURL)
	if err != nil || u.Host == "" {
		return "'self'"
	}
	return u.Scheme + "://" + u.Host
}

// amendCSP adds the kit's sources to every policy in h's CSP headers.
func (k *Kit) amendCSP(h http.Header, nonce string) {
	for _, name := range cspHeaders {
		values := h[name]
		if len(values) == 0 {
			continue
		}
		amended := make([]string, len(values))
		for i, v := range values {
			amended[i] = strings.ReplaceAll(k.amendedValue(v), noncePlaceholder, nonce)
		}
		h[name] = amended
	}
}

// noncePlaceholder stands for the page's nonce in a cached amended policy; a
// header value cannot hold a NUL, so it never collides with the policy's text.
const noncePlaceholder = "\x00nonce\x00"

// maxCachedPolicies bounds the cache of amended policies: an app sends a few
// distinct policies, unless it puts its own per-request nonce in them.
const maxCachedPolicies = 64

// amendedValue returns a CSP header value with the kit's sources added and
// noncePlaceholder for the nonce, from a small cache: amending parses and
// rebuilds the policy, which costs microseconds per page.
func (k *Kit) amendedValue(value string) string {
	k.cspMu.Lock()
	amended, ok := k.cspCache[value]
	k.cspMu.Unlock()
	if ok {
		return amended
	}
	policies := strings.Split(value, ",")
	for j, p := range policies {
		policies[j] = k.amendPolicy(p, noncePlaceholder)
	}
	amended = strings.Join(policies, ", ")
	k.cspMu.Lock()
	if len(k.cspCache) < maxCachedPolicies {
		k.cspCache[value] = amended
	}
	k.cspMu.Unlock()
	return amended
}

// cspDirective is one directive of a policy: its name and source list.
type cspDirective struct {
	name    string // lowercased
	sources []string
}

// parsePolicy splits one serialized policy into directives (CSP3 §2.2.1):
// ';'-separated, each a name followed by whitespace-separated sources; later
// duplicates of a name are ignored by browsers and dropped here.
func parsePolicy(policy string) []cspDirective {
	var out []cspDirective
	for part := range strings.SplitSeq(policy, ";") {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			continue
		}
		name := strings.ToLower(fields[0])
		if slices.ContainsFunc(out, func(d cspDirective) bool { return d.name == name }) {
			continue
		}
		out = append(out, cspDirective{name: name, sources: fields[1:]})
	}
	return out
}

func serializePolicy(directives []cspDirective) string {
	parts := make([]string, len(directives))
	for i, d := range directives {
		parts[i] = strings.Join(append([]string{d.name}, d.sources...), " ")
	}
	return strings.Join(parts, "; ")
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

// amendPolicy adds the kit's nonce, loader origin and widget sources to one
// policy, and changes nothing else.
func (k *Kit) amendPolicy(policy, nonce string) string {
	directives := parsePolicy(policy)
	if len(directives) == 0 {
		return policy
	}
	find := func(name string) int {
		return slices.IndexFunc(directives, func(d cspDirective) bool { return d.name == name })
	}
	// effective returns the index of the first of names the policy has,
	// else adds a copy of default-src under the last of names; -1 when
	// nothing restricts them.
	effective := func(names ...string) int {
		for _, n := range names {
			if i := find(n); i >= 0 {
				return i
			}
		}
		if i := find("default-src"); i >= 0 {
			directives = append(directives, cspDirective{name: names[len(names)-1], sources: slices.Clone(directives[i].sources)})
			return len(directives) - 1
		}
		return -1
	}
	add := func(i int, sources ...string) {
		for _, s := range sources {
			if !hasSource(directives[i].sources, s) {
				directives[i].sources = append(directives[i].sources, s)
			}
		}
	}
	changed := false
	if i := effective("script-src-elem", "script-src"); i >= 0 && !hasSource(directives[i].sources, "'none'") {
		if !allowsInline(directives[i].sources) {
			add(i, "'nonce-"+nonce+"'")
		}
		if !hasSource(directives[i].sources, "'strict-dynamic'") {
			add(i, k.loaderOrigin)
		}
		changed = true
	}
	for _, name := range slices.Sorted(maps.Keys(k.widgetSources)) {
		if i := effective(name); i >= 0 && !hasSource(directives[i].sources, "'none'") {
			add(i, k.widgetSources[name]...)
			changed = true
		}
	}
	if !changed {
		return policy
	}
	return serializePolicy(directives)
}
