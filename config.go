package prefinery

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/alexedwards/scs/v2"
)

// DefaultSessionKey is the scs session key the kit reads the signed-in user's
// identifier from, unless [Config.SessionKey] names the app's own key.
const DefaultSessionKey = "prefinery.identifier"

// DefaultCacheControl is the Cache-Control directive [Kit.Middleware] puts on
// responses to signed-in users, so that no shared cache stores a page carrying
// one user's signature and hands it to another.
const DefaultCacheControl = "private"

// Config configures a [Kit]. Every optional field's zero value is safe and
// documented with "Default is …". [New] validates the whole Config up front.
//
// A Config holds the secret: it prints as redacted under every fmt verb, slog,
// encoding/json and encoding/xml, so logging a Config never leaks it. New
// copies what it needs, so a Config may be reused or changed afterwards; its
// functions (User, Nonce, Skip) are called concurrently from many requests and
// must be safe for concurrent use.
type Config struct {
	// Secret is the project's Identity Verification Secret, copied from
	// Prefinery's project settings. Required; at least MinSecretLength bytes.
	// Its bytes are the HMAC key as given. Load it with SecretFromEnv or
	// SecretFromFile; never commit it.
	Secret string

	// Sessions is the app's scs session manager, where the signed-in user's
	// identifier lives under SessionKey. Exactly one of Sessions and User must
	// be set. Requests must pass through Sessions.LoadAndSave before the kit.
	Sessions *scs.SessionManager

	// SessionKey is the session key holding the signed-in user's identifier as
	// a string. Use the app's existing key (for example "userEmail") if it has
	// one. Only valid with Sessions. Default is DefaultSessionKey.
	SessionKey string

	// User, as an alternative to Sessions, returns the signed-in user's
	// identifier from the app's own authentication (ok false when nobody is
	// signed in). It must derive the user from server-side state, never from
	// request parameters. Default is nil (use Sessions).
	User func(r *http.Request) (identifier string, ok bool)

	// Kind says which identifier is signed: Email, ReferralCode or ID.
	// Default is Email.
	Kind Kind

	// MaxIdentifierLength is the longest identifier, in bytes, the kit signs;
	// longer ones are refused (treated as signed out and logged), never
	// truncated. At most 4096. Default is DefaultMaxIdentifierLength (320).
	MaxIdentifierLength int

	// ProjectKey is the project's key in Prefinery's embed snippet (the KEY in
	// https://widget.prefinery.com/widget/v2/KEY.js): letters and digits only.
	// Needed by the embed helpers unless WidgetURL is set. Default is "" (no
	// loader: the embed helpers return an error saying so).
	ProjectKey string

	// WidgetURL overrides the loader script's address: an absolute http(s) URL
	// or a path on the app's own origin starting with "/" (for tests and
	// offline stand-ins). Default is Prefinery's v2 URL built from ProjectKey.
	WidgetURL string

	// Nonce returns the request's CSP nonce, which the kit puts on every
	// <script> it renders. A nonce that is not base64 is dropped and logged,
	// never rendered. Default is nil (no nonce attribute).
	Nonce func(r *http.Request) string

	// AutoInsert makes Kit.Middleware also insert the embed snippet before the
	// last </body> of HTML responses, as Kit.AutoInsert does. Default is false.
	AutoInsert bool

	// Skip excludes requests from AutoInsert (for example an admin area).
	// Default is nil (no request is skipped).
	Skip func(r *http.Request) bool

	// CacheControl is set on responses to signed-in users by Kit.Middleware,
	// unless the response already says private or no-store. It must include
	// the directive private or no-store. Default is DefaultCacheControl
	// ("private").
	CacheControl string

	// UnsafeAllowSameSite lets the identity endpoint answer requests with
	// Sec-Fetch-Site: same-site, that is from sibling subdomains, any of which
	// could be compromised. Default is false (refused with 403).
	UnsafeAllowSameSite bool

	// ErrorLog receives the kit's operational messages (refused identifiers,
	// misconfiguration, session store failures). It never receives the
	// secret, a signature or an identifier. Default is slog.Default().
	ErrorLog *slog.Logger
}

// prefineryWidgetBase is the directory of Prefinery's v2 loader scripts.
const prefineryWidgetBase = "https://widget.prefinery.com/widget/v2/"

// validate checks every field and returns the first problem, wrapping
// ErrInvalidConfig (or ErrInvalidSecret). Messages never quote the secret.
func (c *Config) validate() error {
	if err := checkSecret(c.Secret); err != nil {
		return fmt.Errorf("%w: Secret: %w", ErrInvalidConfig, err)
	}
	invalid := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
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
		return invalid("MaxIdentifierLength", "%d is outside 1..%d (0 means the default, %d)", c.MaxIdentifierLength, maxIdentifierCeiling, DefaultMaxIdentifierLength)
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

// describe is the redacted one-line description used by every printing path.
func (c Config) describe() string {
	lookup := "User func"
	if c.Sessions != nil {
		lookup = fmt.Sprintf("Sessions key %q", cmp.Or(c.SessionKey, DefaultSessionKey))
	}
	return fmt.Sprintf("prefinery.Config{Secret: %s, Kind: %s, %s, ProjectKey: %q, AutoInsert: %t}",
		redacted, cmp.Or(c.Kind, Email), lookup, c.ProjectKey, c.AutoInsert)
}

// String returns a description of the Config with the secret redacted.
func (c Config) String() string { return c.describe() }

// GoString returns the same redacted description, for %#v.
func (c Config) GoString() string { return c.describe() }

// Format prints the redacted description under every fmt verb.
func (c Config) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.describe()) }

// LogValue makes slog print the Config with the secret redacted.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.describe()) }

// MarshalJSON encodes the redacted description as a JSON string.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.describe()) }

// MarshalText encodes the redacted description (encoding/xml and friends).
func (c Config) MarshalText() ([]byte, error) { return []byte(c.describe()), nil }
