package prefinery

import (
	"crypto/rand"
	"encoding/base64"
	"net/url"
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
	if loader == "" || loader == "'self'" {
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

// loaderSource is the CSP source for the loader script's URL: its origin, or
// 'self' for a path on the app's own origin, or "" without a loader.
func loaderSource(loaderURL string) string {
	if loaderURL == "" {
		return ""
	}
	u, err := url.Parse(loaderURL)
	if err != nil || u.Host == "" {
		return "'self'"
	}
	return u.Scheme + "://" + u.Host
}
