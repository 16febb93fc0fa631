// Package prefinery integrates Prefinery's JavaScript widget, with Identity
// Verification enforced, into Go net/http apps.
//
// With Identity Verification on, Prefinery's Web API calls such as
// prefinery('authenticateUser', {email, signature}) must carry a signature:
// the lowercase hex HMAC-SHA256 of the user's identifier (email, referral code
// or id) under the project's Identity Verification Secret, computed on the
// server. This package computes it for the signed-in user of each request and
// gets it to the browser safely: through a template function, an automatic
// insertion, or a JSON endpoint for single-page apps.
//
// # Quick start
//
// Load the secret, create one [Kit] with [New], put [Kit.Middleware] inside
// the scs session manager's LoadAndSave, sign users in with [Kit.Login], and
// put {{prefineryEmbed .Request}} in the layout's <head>: the examples of
// [Kit.Middleware] and [Kit.FuncMap] show each step as code the compiler
// checks (package docs carry no code of their own, so none can rot).
// The runnable version is examples/basic (go run ./examples/basic).
//
// # Sessions
//
// The kit reads the signed-in user's identifier from the scs session under
// [Config.SessionKey], or from [Config.User] for apps with their own
// authentication. [Kit.Login] and [Kit.Logout] store and remove it and renew
// the session token. A signature is a pure function of the secret and the
// identifier, so app instances sharing sessions always agree.
// [Kit.SessionErrorFunc] answers session store failures with a generic JSON 500.
//
// # Templates
//
// [Kit.FuncMap] adds prefineryEmbed (stub, loader and authenticateUser call),
// the loader and authenticate parts on their own, and whole Web API calls
// (prefineryEmbedReferralPage, prefineryGetUser, prefineryAddUser, …) to an
// html/template. [Config.AutoInsert] inserts the snippet into HTML responses
// instead. Every script carries a nonce that the kit merges into the page's
// own Content-Security-Policy (or [Config.Nonce]'s). Handlers read the
// identity with [Kit.Identity]; tests plant one with [Kit.WithIdentity].
//
// # Single-page apps
//
// [Kit.IdentityHandler] serves GET /prefinery/identity: the signed-in user's
// {"email":"…","signature":"…"}, ready for prefinery('authenticateUser', …),
// or 401. It refuses cross-site reads and is never cached.
//
// # Webhooks
//
// Prefinery's signed webhook deliveries are received by the package
// github.com/prefinerykit/prefinery/webhook, which verifies them, answers
// them the way Prefinery's retries expect, and processes each once.
//
// # Layout
//
// This package is the identity path users call: [Kit] over a validated
// [Config], [Secret], [Identity], the middleware with its identity cell and
// guard writer,
// sessions, rendering and AutoInsert. Parsers live in internal packages, each
// with its tests and fuzzer: internal/csp (Content-Security-Policy),
// internal/htmlscan (where AutoInsert may insert), internal/cachecontrol;
// the key material and pooled HMAC states are internal/secret's, shared with
// the webhook package and the prefinery-sign command.
//
// # Security
//
// The kit signs only the identifier the server holds for the signed-in user,
// byte for byte as it emits it; its output goes only through html/template; a
// [Secret] never prints. SECURITY.md states the whole model, and the test
// behind each claim.
package prefinery
