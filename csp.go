package prefinery

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// The kit's scripts must run under the app's own Content-Security-Policy.
// Without Config.Nonce, the kit gives each page a nonce of its own, puts it
// on its scripts, and internal/csp adds it to the policy when the header goes
// out, with the loader's source and the widget's hosts, and nothing else.

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
	if !isPlainHost(r.Host) {
		return ""
	}
	scheme := "http" // in CSP, an http: source matches https: too
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + k.cfg.WidgetURL
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
