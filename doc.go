// Package prefinery integrates Prefinery's JavaScript widget, with Identity
// Verification enforced, into Go net/http apps.
//
// With Identity Verification on, Prefinery's Web API calls such as
// prefinery('authenticateUser', {email, signature}) must carry a signature:
// the lowercase hex HMAC-SHA256 of the user's identifier (email, referral code
// or id) under the project's Identity Verification Secret, computed on the
// server. This package computes it for the signed-in user of each request and
// gets it to the browser safely: through a template helper, an automatic
// insertion, or a JSON endpoint for single-page apps.
//
// # Quick start
//
// Create one [Kit] at start-up with [New], chain [Kit.Middleware] after the
// scs session manager's LoadAndSave, sign users in with [Kit.Login], and put
// {{prefineryEmbed .Request}} in the layout template's <head>:
//
//	sessions := scs.New()
//	kit, err := prefinery.New(prefinery.Config{
//		Secret:     secret, // prefinery.SecretFromEnv("PREFINERY_IDENTITY_SECRET")
//		Sessions:   sessions,
//		ProjectKey: "ab12cd34",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	layout := template.Must(template.New("layout").Funcs(kit.FuncMap()).Parse(layoutHTML))
//	mux.Handle("/prefinery/identity", kit.IdentityHandler())
//	http.ListenAndServe(addr, alice.New(sessions.LoadAndSave, kit.Middleware).Then(mux))
//
// The runnable version is examples/basic (go run ./examples/basic).
//
// # Sessions
//
// The kit reads the signed-in user's identifier from the scs session under
// [Config.SessionKey] (default [DefaultSessionKey]; use the app's own key, such
// as "userEmail", if it has one), or from [Config.User] for apps with their own
// authentication. [Kit.Login] and [Kit.Logout] store and remove the identifier
// and renew the session token, which defeats session fixation. The kit keeps no
// state of its own: the signature is a pure function of the secret and the
// identifier, so app instances sharing sessions (scs's Redis or Postgres
// stores) always agree. [Kit.SessionErrorFunc] is an scs ErrorFunc that answers
// store failures with a generic JSON 500 and logs them.
//
// # Templates
//
// [Kit.FuncMap] adds prefineryEmbed (stub, loader and authenticateUser call),
// prefineryLoader, prefineryAuthenticate, prefinerySignature,
// prefineryIdentifier and prefineryNonce to an html/template. [Kit.Embed],
// [Kit.Loader] and [Kit.Script] return the same HTML for handlers that build it
// into their data. Every value is escaped by html/template for its context, and
// every <script> carries the CSP nonce from [Config.Nonce]. [StubCSPSource] is
// the hash of the constant stub for hash-based policies. [Kit.AutoInsert] (or
// [Config.AutoInsert]) inserts the snippet before </body> of HTML responses for
// apps that do not want to touch their templates.
//
// # Single-page apps
//
// [Kit.IdentityHandler] serves GET /prefinery/identity: the signed-in user's
// {"email":"…","signature":"…"}, ready for prefinery('authenticateUser', …),
// or 401 when nobody is signed in. It refuses cross-site requests using Fetch
// Metadata and Origin, sends no CORS headers, and is never cached.
//
// # Security
//
// The kit signs only what the server knows: the identifier comes from the
// session or [Config.User], never from the request. It signs exactly the bytes
// it emits: no lowercasing or trimming, and identifiers it could not emit
// faithfully (invalid UTF-8, control characters, longer than
// [Config.MaxIdentifierLength]) are refused, not mangled. The secret is never
// printed: [Signer], [Config] and [Kit] are redacted under every fmt verb,
// slog, encoding/json and encoding/xml, and no error contains it. Responses to
// signed-in users are marked Cache-Control: private. [Kit.Rotate] swaps the
// secret atomically. A leaked signature stays valid until the secret is
// regenerated in Prefinery, which has no de-authentication call.
//
// # Performance
//
// [Signer] precomputes the HMAC pad states, so a signature costs two SHA-256
// block compressions for identifiers under 56 bytes, and [Signer.AppendSign]
// does not allocate. For a signed-in user the middleware makes one
// allocation, holding the request copy, its context and the response writer
// (what a bare context.WithValue plus r.WithContext costs), and signs lazily:
// at most once per request, and not at all when nothing reads the identity.
// BENCHMARKS.md has the figures.
//
// # Concurrency
//
// [Signer] and [Kit] are safe for concurrent use by any number of goroutines;
// an [Identity] is a plain value.
package prefinery
