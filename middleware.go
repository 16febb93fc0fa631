package prefinery

import (
	"log/slog"
	"net/http"
)

// Middleware attaches the signed-in user's identity to the request context,
// where [Kit.Identity], the template functions and the identity endpoint find
// it. Chain it inside the scs SessionManager's LoadAndSave:
//
//	sessions.LoadAndSave(kit.Middleware(mux))
//
// The identifier comes only from the session (or Config.User), never from the
// request. It is looked up when first needed (a read, a page's header) and
// validated and signed once, when first read; [Kit.Login] and [Kit.Logout]
// change it for the rest of the request. A response that carries the
// identity (or may: a page of a signed-in user) is made no-store, without
// validators, CDN cache headers or CORS grants, when its header is written,
// whatever the handler set; without Config.Nonce, a page's
// Content-Security-Policy gets the nonce the kit put on its scripts. With
// Config.AutoInsert the embed snippet is inserted into HTML pages.
func (k *Kit) Middleware(next http.Handler) http.Handler {
	if k.cfg.AutoInsert {
		next = k.insertSnippet(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := &requestState{Context: r.Context(), ResponseWriter: w, kit: k, req: r}
		r = r.WithContext(s)
		if isConditional(r.Header) && s.signedIn() {
			dropRevalidation(r)
		}
		next.ServeHTTP(s, r)
		s.guardSave() // scs saves the session now if the handler wrote nothing
		s.checkBypass()
	})
}

// signedInIdentifier returns the signed-in user's identifier as the session
// (or Config.User) holds it, "" when nobody is signed in, and an error
// wrapping ErrNoSession when the kit is not behind LoadAndSave. It is not
// validated yet: firstRead does that.
func (k *Kit) signedInIdentifier(r *http.Request) (string, error) {
	if k.cfg.Sessions == nil && k.cfg.User == nil {
		return "", nil // the app names the user with Login, request by request
	}
	if k.cfg.User != nil {
		v, ok := k.cfg.User(r)
		if !ok {
			return "", nil
		}
		return v, nil
	}
	v, err := k.sessionIdentifier(r.Context())
	if err != nil {
		k.diag.report(noSession)
	}
	return v, err
}

// firstRead turns a signed-in user's identifier into the Identity the kit
// hands out, and is the one place that does: it validates the identifier
// (one the kit cannot emit faithfully is logged, without its value, and
// treated as signed out) and signs it with the current secret. A logged-out
// session needs no check here: Logout renewed its token, and the session
// store's guard keeps a request in flight from saving it again (replaced.go).
func (k *Kit) firstRead(identifier string) (Identity, bool) {
	if problem := identifierProblem(identifier, k.cfg.MaxIdentifierLength); problem != "" {
		k.cfg.Logger.Warn("prefinery: identifier refused; the user is treated as signed out for Prefinery",
			slog.String("kind", string(k.cfg.Kind)), slog.String("reason", problem))
		return Identity{}, false
	}
	return Identity{Kind: k.cfg.Kind, Identifier: identifier, Signature: k.Sign(identifier)}, true
}

// isConditional reports whether h asks for revalidation (If-None-Match or
// If-Modified-Since).
func isConditional(h http.Header) bool {
	return len(h["If-None-Match"]) > 0 || len(h["If-Modified-Since"]) > 0
}

// dropRevalidation removes If-None-Match and If-Modified-Since from a
// signed-in user's request for a page, so no handler answers 304 and lets the
// browser show a page it kept from before (another user's, or a signed-out
// one). Subresources a browser marks as such (images, styles, scripts, fonts,
// media) keep their revalidation: they never carry a signature.
func dropRevalidation(r *http.Request) {
	switch r.Header.Get("Sec-Fetch-Dest") {
	case "image", "style", "script", "font", "audio", "video", "track", "manifest":
		return
	}
	r.Header = r.Header.Clone()
	r.Header.Del("If-None-Match")
	r.Header.Del("If-Modified-Since")
}
