package prefinery

import (
	"context"
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
	if k == nil {
		return nilKitHandler("Middleware")
	}
	if k.cfg.AutoInsert {
		next = k.insertSnippet(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cell := &identityCell{kit: k, req: r, header: w.Header(), loaded: k.loadedToken(r.Context())}
		guard := &guardWriter{ResponseWriter: w, cell: cell}
		r = r.WithContext(context.WithValue(r.Context(), identityKey{k}, cell))
		if isConditional(r.Header) && cell.signedIn() {
			dropRevalidation(r)
		}
		next.ServeHTTP(guard, r)
		guard.finish()
	})
}

// loadedToken is the token of the scs session the request loaded, "" without
// Sessions, outside LoadAndSave (reported where the identity is read), or
// for a new session.
func (k *Kit) loadedToken(ctx context.Context) string {
	if k.cfg.Sessions == nil {
		return ""
	}
	var token string
	_ = withSession(func() error { token = k.cfg.Sessions.Token(ctx); return nil })
	return token
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
// media) keep their revalidation: they never carry a signature. r gets a
// header of its own; the caller's is left as it was.
func dropRevalidation(r *http.Request) {
	if !revalidationDroppable(r.Header) {
		return
	}
	r.Header = r.Header.Clone()
	deleteRevalidation(r.Header)
}

// revalidationDroppable reports whether h asks to revalidate something that
// may be a page.
func revalidationDroppable(h http.Header) bool {
	switch h.Get("Sec-Fetch-Dest") {
	case "image", "style", "script", "font", "audio", "video", "track", "manifest":
		return false
	}
	return isConditional(h)
}

// deleteRevalidation deletes h's revalidation fields.
func deleteRevalidation(h http.Header) {
	h.Del("If-None-Match")
	h.Del("If-Modified-Since")
}
