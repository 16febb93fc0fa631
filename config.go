package prefinery

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/alexedwards/scs/v2"
)

// Config configures a [Kit]. The zero value of every optional field is safe
// and documented with "Default is …". [New] validates the whole Config and
// copies what it needs. The functions (User, Nonce, Skip) are called from
// many requests at once and must be safe for concurrent use.
type Config struct {
	// Secret is the project's Identity Verification Secret (Prefinery:
	// Settings > Project Settings), from SecretFromEnv, SecretFromFile or
	// NewSecret. Required.
	Secret Secret

	// Sessions is the app's scs session manager, where the signed-in user's
	// identifier lives under SessionKey. Set exactly one of Sessions and User.
	Sessions *scs.SessionManager

	// SessionKey is the session key holding the signed-in user's identifier
	// as a string. Only with Sessions. Default is "prefinery.identifier".
	SessionKey string

	// User returns the signed-in user's identifier from the app's own
	// authentication (ok false when nobody is signed in), for apps that do
	// not keep it in an scs session. It must derive the user from server-side
	// state, never from the request's parameters. Default is nil.
	User func(r *http.Request) (identifier string, ok bool)

	// Kind is the identifier kind: Email, ReferralCode or ID. Default is Email.
	Kind Kind

	// MaxIdentifierLength is the longest identifier signed, in bytes, at most
	// 4096; longer ones are refused (signed out, logged), never truncated.
	// Default is 320.
	MaxIdentifierLength int

	// ProjectKey is the KEY in Prefinery's embed snippet
	// (https://widget.prefinery.com/widget/v2/KEY.js): letters and digits.
	// Default is "" (no loader: the embed helpers return an error).
	ProjectKey string

	// WidgetURL overrides the loader's address: an absolute http(s) URL or a
	// path on the app's origin (an offline stand-in). Default is Prefinery's
	// URL for ProjectKey.
	WidgetURL string

	// Nonce returns the request's CSP nonce, put on every <script> the kit
	// renders. A value that is not base64 is dropped and logged. Default is
	// nil (no nonce attribute).
	Nonce func(r *http.Request) string

	// AutoInsert makes the middleware insert the embed snippet before the
	// last </body> of HTML responses, for apps that do not edit templates.
	// Default is false.
	AutoInsert bool

	// Skip excludes requests from AutoInsert. Default is nil (none skipped).
	Skip func(r *http.Request) bool

	// CacheControl is set on responses to signed-in users unless they already
	// say private or no-store; it must contain one of them. Default is
	// "private".
	CacheControl string

	// UnsafeAllowSameSite lets the identity endpoint answer requests from
	// sibling subdomains (Sec-Fetch-Site: same-site), any of which could be
	// compromised. Default is false (403).
	UnsafeAllowSameSite bool

	// ErrorLog receives the kit's operational messages. It never receives a
	// secret, a signature or an identifier. Default is slog.Default().
	ErrorLog *slog.Logger
}

// Defaults of Config's optional fields.
const (
	defaultSessionKey   = "prefinery.identifier"
	defaultCacheControl = "private"
	prefineryWidgetBase = "https://widget.prefinery.com/widget/v2/"
)

// validate returns the first problem, naming the field; it wraps
// ErrInvalidConfig and, for the secret, ErrInvalidSecret.
func (c *Config) validate() error {
	invalid := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if c.Secret.isZero() {
		return fmt.Errorf("%w: Secret: %w: none given; load it with SecretFromEnv or SecretFromFile", ErrInvalidConfig, ErrInvalidSecret)
	}
	switch {
	case c.Sessions != nil && c.User != nil:
		return invalid("Sessions, User", "set exactly one way to find the signed-in user, not both")
	case c.Sessions == nil && c.User == nil:
		return invalid("Sessions, User", "set Sessions (with an optional SessionKey) or User to tell the kit who is signed in")
	case c.User != nil && c.SessionKey != "":
		return invalid("SessionKey", "only used with Sessions, but User is set")
	}
	if c.Kind != "" && !c.Kind.valid() {
		return invalid("Kind", "%q is not one of %q, %q, %q", string(c.Kind), Email, ReferralCode, ID)
	}
	if c.MaxIdentifierLength < 0 || c.MaxIdentifierLength > maxIdentifierCeiling {
		return invalid("MaxIdentifierLength", "%d is outside 1..%d (0 means the default, %d)", c.MaxIdentifierLength, maxIdentifierCeiling, defaultMaxIdentifierLength)
	}
	if c.ProjectKey != "" && !isAlnum(c.ProjectKey, 64) {
		return invalid("ProjectKey", "must be 1 to 64 ASCII letters and digits, as in Prefinery's embed snippet")
	}
	if c.WidgetURL != "" {
		if err := checkWidgetURL(c.WidgetURL); err != nil {
			return invalid("WidgetURL", "%v", err)
		}
	}
	if c.AutoInsert && c.ProjectKey == "" && c.WidgetURL == "" {
		return invalid("AutoInsert", "needs ProjectKey (or WidgetURL) to know which loader to insert")
	}
	if c.CacheControl != "" && !hasDirective(c.CacheControl, "private") && !hasDirective(c.CacheControl, "no-store") {
		return invalid("CacheControl", "must include private or no-store, so shared caches never store a signature")
	}
	return nil
}

// isAlnum reports whether s is 1 to max ASCII letters and digits.
func isAlnum(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// checkWidgetURL accepts an absolute http(s) URL with a host, or a path on the
// app's origin ("/…" but not the scheme-relative "//…").
func checkWidgetURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	switch {
	case u.Scheme == "https" || u.Scheme == "http":
		if u.Host == "" {
			return fmt.Errorf("an absolute URL needs a host")
		}
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//"):
	default:
		return fmt.Errorf("must be an http(s) URL or a path starting with /")
	}
	return nil
}

// hasDirective reports whether the Cache-Control value v contains directive d.
func hasDirective(v, d string) bool {
	for part := range strings.SplitSeq(v, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.EqualFold(name, d) {
			return true
		}
	}
	return false
}
