package prefinery

import (
	"crypto/rand"
	"encoding/base64"
	"github.com/prefinerykit/prefinery/internal/csp"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// The kit's scripts must run under the app's own Content-Security-Policy.
// Without Config.Nonce, the kit gives each page a nonce of its own, puts it
// on its scripts, and internal/csp adds it to the policy when the header goes
// out (response.go), with the loader's source and the widget's hosts, and
// nothing else. This file makes the nonce and the sources; with Config.Nonce
// it validates the app's nonce.

// defaultWidgetSources are the hosts Prefinery's widget is expected to need
// beyond its loader script, by directive. They cannot be checked offline:
// confirm them against the live widget (the browser console lists
// violations) and override them with Config.WidgetSources.
func defaultWidgetSources(loader string) map[string][]string {
	if loader == "" {
		return nil
	}
	return map[string][]string{
		"connect-src": {loader},
		"frame-src":   {loader},
		"img-src":     {loader},
		"style-src":   {loader},
	}
}

// newNonce returns 128 bits from crypto/rand, base64url-encoded (no '+' to
// escape in attributes).
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// loaderOrigin is the CSP source for an absolute loader URL: its origin;
// "" for a path on the app's own origin or without a loader.
func loaderOrigin(loaderURL string) string {
	u, err := url.Parse(loaderURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// loaderSource is the CSP source the kit adds for its loader script on r's
// page: the loader's origin, or for a loader on the app's own origin (a
// stand-in, a proxy) its exact URL on the host r was sent to; never 'self',
// which would let any same-origin script (an upload) run. A Host that is not
// a plain host[:port] gets no source: the loader still runs by its nonce.
func (k *Kit) loaderSource(r *http.Request) string {
	if k.origin != "" || k.cfg.WidgetURL == "" {
		return k.origin
	}
	if origin := k.pageOrigin(r); origin != "" {
		return origin + k.cfg.WidgetURL
	}
	return ""
}

// pageOrigin is the origin the kit renders in front of a loader on the
// app's own origin (a path WidgetURL) on r's page: scheme://host of the host
// r was sent to, the origin loaderSource allows, so a <base href> injected
// into the page cannot point the kit's nonced loader elsewhere. It is ""
// for an absolute loader, or a Host that is not a plain host[:port].
func (k *Kit) pageOrigin(r *http.Request) string {
	if k.origin != "" || k.cfg.WidgetURL == "" || r == nil || !isPlainHost(r.Host) {
		return ""
	}
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host // in CSP, an http: source matches https: too
}

// isPlainHost reports whether host is letters, digits, '.', '-', ':', '['
// and ']' only: nothing that could end a CSP source or directive.
func isPlainHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// validNonce returns Config.Nonce's answer for r when it is plausible base64
// (standard or URL alphabet, at most 256 characters), and otherwise "" after
// logging that it was dropped; it never renders an unvalidated nonce.
func (k *Kit) validNonce(r *http.Request) string {
	if r == nil {
		return ""
	}
	if k.cfg.Nonce == nil { // the kit's own nonce, when the page has a CSP
		if c := k.cellOf(r.Context()); c != nil {
			return c.pageNonce()
		}
		return ""
	}
	n := k.cfg.Nonce(r)
	if n == "" {
		if c := k.cellOf(r.Context()); c != nil && csp.Has(c.header) {
			k.diag.report(appNonceMissing)
		}
		return ""
	}
	if !isBase64Token(n) {
		k.cfg.Logger.Warn("prefinery: Config.Nonce returned a value that is not base64; rendering the script without a nonce", slog.Int("length", len(n)))
		return ""
	}
	return n
}

// pageNonce returns the nonce for a script the kit renders: the page's, if
// it has one or its header (so far) carries a CSP; else "" and it notes that
// a script went out without one.
func (c *identityCell) pageNonce() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nonce == "" && !csp.Has(c.header) {
		c.bareScript = true
		return ""
	}
	if c.nonce == "" {
		c.nonce = newNonce()
	}
	return c.nonce
}

// isBase64Token reports whether s is 1 to 256 characters of base64 (either
// alphabet), with padding only at the end.
func isBase64Token(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	padding := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '=':
			padding = true
		case padding:
			return false
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '+', c == '/', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
