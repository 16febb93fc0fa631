package prefinery

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery/internal/cachecontrol"
	"github.com/prefinerykit/prefinery/internal/errs"
	"github.com/prefinerykit/prefinery/internal/secret"
	"github.com/prefinerykit/prefinery/internal/testkit"
)

// Config configures a [Kit]. The zero value of every optional field is safe
// and documented with "Default is …". [New] validates the whole Config and
// keeps a copy with the defaults filled in. The functions (User, Nonce,
// SkipAutoInsert) are called from many requests at once and must be safe for
// concurrent use.
type Config struct {
	// Secret is the project's Identity Verification Secret (Prefinery:
	// Settings > Project Settings), from SecretFromEnv, SecretFromFile or
	// NewSecret. Default is SecretFromEnv("PREFINERY_IDENTITY_SECRET"); New
	// fails when that is not set either.
	Secret Secret

	// Sessions is the app's scs session manager, where the signed-in user's
	// identifier lives under SessionKey. Set at most one of Sessions and
	// User. With neither, the app names each request's signed-in user by
	// calling Kit.Login from its own auth middleware, inside kit.Middleware:
	// the one line for a framework that keeps the user in its own context
	// (Echo's c.Get, gin's c.Get).
	Sessions *scs.SessionManager

	// SessionKey is the session key holding the signed-in user's identifier
	// as a string. Only with Sessions. Default is "prefinery.identifier".
	SessionKey string

	// User returns the signed-in user's identifier from the app's own
	// authentication, for apps that do not keep it in an scs session.
	// verified is true only when a user is signed in and identifier is
	// verified as theirs (an email address they confirmed, not one typed at
	// sign-up): a signature tells Prefinery the address is the user's. It
	// must derive the user from server-side state, never from the request's
	// parameters. The kit calls it when it
	// first needs the user in a request (a read of the identity, a page's
	// response header), with the request as the middleware received it, and
	// keeps the answer for the rest of the request. Default is nil.
	User func(r *http.Request) (identifier string, verified bool)

	// Kind is the identifier kind: KindEmail, KindReferralCode or KindID.
	// Default is KindEmail.
	Kind Kind

	// MaxIdentifierLength is the longest identifier signed, in bytes, at most
	// 4096; longer ones are refused (signed out, logged), never truncated.
	// Default is 320.
	MaxIdentifierLength int

	// ProjectKey is the KEY in Prefinery's embed snippet
	// (https://widget.prefinery.com/widget/v2/KEY.js): letters and digits.
	// Default is the PREFINERY_PROJECT_KEY environment variable, unless
	// WidgetURL is set or EndpointOnly; New fails when neither gives one.
	ProjectKey string

	// EndpointOnly says the app renders none of the kit's snippets (it uses
	// the identity endpoint, Kit.Sign, or pastes Prefinery's own snippet), so
	// New asks for no ProjectKey or WidgetURL. Default is false.
	EndpointOnly bool

	// WidgetURL overrides the loader's address: an absolute http(s) URL or a
	// path on the app's origin (an offline stand-in). Default is Prefinery's
	// URL for ProjectKey.
	WidgetURL string

	// Nonce returns the request's CSP nonce, for apps that make their own: the
	// kit puts it on every <script> it renders and leaves the CSP header
	// alone. A value that is not base64 is dropped and logged. Default is nil:
	// the kit makes a nonce per page (128 bits, crypto/rand), puts it on its
	// scripts, and adds it to the page's Content-Security-Policy (and
	// -Report-Only) when the header goes out, with the loader's origin and
	// WidgetSources. It never adds 'unsafe-inline', wildcards or schemes, and
	// adds no nonce to a policy that lets inline scripts run.
	Nonce func(r *http.Request) string

	// WidgetSources are the sources Prefinery's widget needs beyond its
	// loader, by CSP directive (connect-src, frame-src, img-src, style-src,
	// font-src, media-src), added to a page's policy where it restricts that
	// directive. They cannot be checked offline: confirm them against the
	// live widget. Each is an https origin or 'self'. Default is the loader's
	// origin for connect-src, frame-src, img-src and style-src.
	WidgetSources map[string][]string

	// AutoInsert makes the middleware insert the embed snippet before the
	// last </body> of HTML responses, for apps that do not edit templates.
	// Default is false.
	AutoInsert bool

	// SkipAutoInsert excludes requests from AutoInsert (it concerns nothing
	// else). Default is nil (none skipped).
	SkipAutoInsert func(r *http.Request) bool

	// CacheControl replaces the Cache-Control of every response that carries
	// the identity (and of signed-in users' pages). It may only be stricter
	// than the default: it must contain no-store, and may add private,
	// no-cache, must-revalidate, proxy-revalidate, no-transform and max-age=0.
	// Default is "no-store".
	CacheControl string

	// KeepCacheOnLogout stops Logout from sending Clear-Site-Data: "cache",
	// which makes the browser drop the pages it kept (back/forward cache
	// included) so the next person on it never sees the previous user's.
	// Default is false (the header is sent).
	KeepCacheOnLogout bool

	// UnsafeAllowSameSite lets the identity endpoint answer requests from
	// sibling subdomains (Sec-Fetch-Site: same-site), any of which could be
	// compromised. Default is false (403).
	UnsafeAllowSameSite bool

	// SPAOrigins are the origins ("https://app.example.com": scheme, host
	// and port only, exactly; no wildcards) of single-page apps served from
	// another origin that read the identity endpoint with a bearer token in
	// Authorization. A request from one of them is answered (same-site or
	// cross-site) with a CORS grant for that origin alone
	// (Access-Control-Allow-Origin, Vary: Origin), its preflight too; every
	// other promise of the endpoint holds. Other origins stay refused, and a
	// CORS middleware in front can never widen a signed response beyond
	// these. Trust only origins whose pages are yours: a page there can read
	// its user's identity. Default is none.
	SPAOrigins []string

	// SPAOriginsSendCookies lets SPAOrigins send the app's cookies with
	// their requests (Access-Control-Allow-Credentials: true), for an SPA on
	// another origin that authenticates with the app's session cookie. A
	// page on such an origin, if it were compromised, could read the signed-in
	// user's identity from the user's own browser. Default is false: bearer
	// tokens only.
	SPAOriginsSendCookies bool

	// Logger receives the kit's messages: errors, the wiring mistakes it
	// notices (each once, with the fix), warnings and debug notes. It never
	// receives a secret, a signature or an identifier. Default is
	// slog.Default().
	Logger *slog.Logger
}

// Defaults of Config's optional fields.
const (
	defaultSessionKey    = "prefinery.identifier"
	defaultSecretEnv     = "PREFINERY_IDENTITY_SECRET"
	defaultProjectKeyEnv = "PREFINERY_PROJECT_KEY"
	defaultCacheControl  = "no-store"
	prefineryWidgetBase  = "https://widget.prefinery.com/widget/v2/"
)

// normalized returns the Config a Kit keeps: validated, with every default
// filled in (the loader's URL from ProjectKey among them). The Secret is
// checked, then left to the Kit, which swaps it on Rotate. In a test binary
// (inTest), a secret and a loader that neither c nor the environment names
// are the test secret and the stand-in's (see [New]).
func (c Config) normalized(inTest bool) (Config, error) {
	c.SPAOrigins = slices.Clone(c.SPAOrigins) // the app's slice may change after New
	if _, set := os.LookupEnv(defaultSecretEnv); c.Secret.isZero() && inTest && !set {
		c.Secret = Secret{key: secret.New(testkit.SecretText)} // a constant NewSecret accepts (TestTestBinaryDefaults)
	}
	if c.Secret.isZero() {
		s, err := SecretFromEnv(defaultSecretEnv)
		if err != nil {
			return c, configError("Secret", "none given, and "+errs.Reason(err), err)
		}
		c.Secret = s
	}
	if c.ProjectKey == "" && c.WidgetURL == "" && !c.EndpointOnly {
		key, ok := os.LookupEnv(defaultProjectKeyEnv)
		switch {
		case ok && !isAlnum(key, 64):
			return c, configError("ProjectKey", "the environment variable "+defaultProjectKeyEnv+" must be 1 to 64 ASCII letters and digits, as in Prefinery's embed snippet")
		case ok:
			c.ProjectKey = key
		case inTest:
			c.WidgetURL = testkit.WidgetURL
		}
	}
	if err := c.validate(); err != nil {
		return c, err
	}
	c.Kind = cmp.Or(c.Kind, KindEmail)
	if c.Sessions != nil {
		c.SessionKey = cmp.Or(c.SessionKey, defaultSessionKey)
	}
	c.MaxIdentifierLength = cmp.Or(c.MaxIdentifierLength, defaultMaxIdentifierLength)
	c.CacheControl = cmp.Or(c.CacheControl, defaultCacheControl)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	if c.WidgetURL == "" && c.ProjectKey != "" {
		c.WidgetURL = prefineryWidgetBase + c.ProjectKey + ".js"
	}
	if c.WidgetSources == nil {
		c.WidgetSources = defaultWidgetSources(loaderOrigin(c.WidgetURL))
	}
	return c, nil
}

// validate returns the first problem, naming the field; it wraps
// ErrInvalidConfig.
func (c *Config) validate() error {
	invalid := func(field, format string, args ...any) error {
		return configError(field, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Sessions != nil && c.User != nil:
		return invalid("Sessions, User", "set exactly one way to find the signed-in user, not both")
	case c.User != nil && c.SessionKey != "":
		return invalid("SessionKey", "only used with Sessions, but User is set")
	}
	if c.Kind != "" && !c.Kind.valid() {
		return invalid("Kind", "%q is not one of %q, %q, %q", string(c.Kind), KindEmail, KindReferralCode, KindID)
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
	for directive, sources := range c.WidgetSources {
		if err := checkWidgetSources(directive, sources); err != nil {
			return invalid("WidgetSources", "%v", err)
		}
	}
	switch {
	case c.EndpointOnly && (c.ProjectKey != "" || c.WidgetURL != ""):
		return invalid("EndpointOnly", "says the app renders none of the kit's snippets, but ProjectKey or WidgetURL names a loader for them; drop EndpointOnly, or the loader")
	case c.EndpointOnly && c.Nonce != nil:
		return invalid("Nonce", "is for the kit's scripts, and EndpointOnly says the app renders none; drop one of them")
	case c.EndpointOnly && c.AutoInsert:
		return invalid("AutoInsert", "inserts the kit's snippet, and EndpointOnly says the app renders none; drop one of them")
	case c.SkipAutoInsert != nil && !c.AutoInsert:
		return invalid("SkipAutoInsert", "only excludes requests from AutoInsert, which is off; set AutoInsert, or drop SkipAutoInsert")
	}
	if c.ProjectKey == "" && c.WidgetURL == "" {
		const where = "the KEY in Prefinery's https://widget.prefinery.com/widget/v2/KEY.js, given here or in the environment variable " + defaultProjectKeyEnv + " (or WidgetURL for an offline stand-in)"
		switch {
		case c.AutoInsert:
			return invalid("AutoInsert", "needs ProjectKey to know which loader to insert: "+where)
		case !c.EndpointOnly:
			return invalid("ProjectKey", "the embed snippet needs it: "+where+"; set EndpointOnly if the app renders no snippet")
		}
	}
	if c.CacheControl != "" {
		if err := checkCacheControl(c.CacheControl); err != nil {
			return invalid("CacheControl", "%v", err)
		}
	}
	for _, origin := range c.SPAOrigins {
		if err := checkOrigin(origin); err != nil {
			return invalid("SPAOrigins", "%v", err)
		}
	}
	if c.SPAOriginsSendCookies && len(c.SPAOrigins) == 0 {
		return invalid("SPAOriginsSendCookies", "lets SPAOrigins send cookies, but none is given")
	}
	return nil
}

// checkOrigin accepts an origin as browsers serialise it in the Origin
// header: http or https, a lower-case host, an optional port, nothing else.
func checkOrigin(origin string) error {
	u, err := url.Parse(origin)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not an origin: %v", origin, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: an origin is http:// or https://", origin)
	case u.Host == "" || strings.ContainsAny(u.Host, "*") || u.User != nil:
		return fmt.Errorf("%q: an origin names one host (no wildcards, no user)", origin)
	case u.Scheme+"://"+u.Host != origin || u.Host != strings.ToLower(u.Host):
		return fmt.Errorf("%q: an origin is scheme://host[:port] in lower case, without a path or a trailing slash, as the Origin header sends it", origin)
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

// checkWidgetSources accepts only directives the widget may need and
// sources that name an origin: never a wildcard, a scheme or a keyword that
// widens a policy.
func checkWidgetSources(directive string, sources []string) error {
	switch directive {
	case "connect-src", "frame-src", "img-src", "style-src", "font-src", "media-src":
	default:
		return fmt.Errorf("%q is not a directive the widget needs (connect-src, frame-src, img-src, style-src, font-src, media-src)", directive)
	}
	for _, s := range sources {
		if s == "'self'" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" || strings.Contains(u.Host, "*") || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("%s: %q must be an https origin (https://host) or 'self': no wildcard, scheme or keyword that widens the policy", directive, s)
		}
	}
	return nil
}

// stricterThanNoStore are the directives Config.CacheControl may add to
// no-store: none lets any cache keep the response.
var stricterThanNoStore = map[string]string{
	"no-store": "", "private": "", "no-cache": "", "must-revalidate": "",
	"proxy-revalidate": "", "no-transform": "", "max-age": "0",
}

// checkCacheControl accepts a Cache-Control value that contains no-store and
// otherwise only directives that keep it from being stored.
func checkCacheControl(v string) error {
	directives, err := cachecontrol.Parse(v)
	if err != nil {
		return err
	}
	noStore := false
	for _, d := range directives {
		want, ok := stricterThanNoStore[d.Name]
		if !ok || d.Value != want || (d.HasValue != (want != "")) {
			return fmt.Errorf("%q would let a cache keep a signed response; use no-store, optionally with private, no-cache, must-revalidate or max-age=0", d.Raw)
		}
		noStore = noStore || d.Name == "no-store"
	}
	if !noStore {
		return fmt.Errorf("must contain no-store: a signed response is never stored, by any cache")
	}
	return nil
}
