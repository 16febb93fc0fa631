package prefinery

import (
	"bufio"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/prefinerykit/prefinery/internal/cachecontrol"
	"github.com/prefinerykit/prefinery/internal/csp"
	"github.com/prefinerykit/prefinery/internal/respond"
)

// unsafeOnSignedResponses are the headers a response carrying a signature
// must not have: validators (a later conditional request would get 304 and
// replay the old body) and CDN cache controls (a CDN that honours them
// ignores Cache-Control); respond.CORSHeaders go too (another origin could
// read the signature). The names are in canonical form, as http.Header keys
// them.
var unsafeOnSignedResponses = slices.Concat([]string{"Etag", "Last-Modified"}, cdnCacheHeaders, respond.CORSHeaders)

// guardWriter is the response writer of a request through the middleware:
// when the final header is about to go out, it runs the save check and
// applies what a signed response must carry (see writeHeaderOnce). It is
// used by one handler at a time, as any ResponseWriter.
type guardWriter struct {
	http.ResponseWriter
	cell        *identityCell
	wroteHeader bool // the final header went out (or the connection was hijacked)
	protected   bool // it went out with the protections of a signed response
}

// writeHeaderOnce runs once, as the final header (status code) is about to
// go out, and returns the code to send: scs saves the session next, so the
// save check runs first; a sign-in or sign-out in an htmx request reloads
// the page (reloadForHTMX); a response that carried the identity, or a
// signed-in user's page (which may render it later), gets the protections;
// a page under a CSP gets the nonce added to it.
func (w *guardWriter) writeHeaderOnce(code int) int {
	if w.wroteHeader {
		return code
	}
	w.wroteHeader = true
	c, k := w.cell, w.cell.kit
	c.guardSave()
	h := w.Header()
	if code == http.StatusNotFound && k.origin == "" && k.cfg.WidgetURL != "" && c.req.URL.Path == k.cfg.WidgetURL {
		k.diag.report(loaderNotFound)
	}
	if c.req.Header.Get("HX-Request") == "true" && c.signChanged() {
		code = reloadForHTMX(h, code)
	}
	respond.DedupeVary(h)
	page := mayRenderIdentity(h.Get("Content-Type"))
	amend := page && k.cfg.Nonce == nil && csp.Has(h)
	if page {
		c.lookUp() // a signed-in user's page is protected even before a read
	}
	c.mu.Lock()
	if amend && c.nonce == "" {
		c.nonce = newNonce()
	}
	nonce, bareScript := c.nonce, c.bareScript
	w.protected = c.read || c.identifier != "" && page
	c.mu.Unlock()
	if amend {
		k.csp.Amend(h, nonce, k.loaderSource(c.req))
		if bareScript {
			k.diag.report(cspAfterScripts)
		}
	}
	if !w.protected {
		if nonce != "" {
			keepFromSharedCaches(h)
		}
		return code
	}
	h["Cache-Control"] = []string{k.cfg.CacheControl} // a fresh slice per response
	h["Pragma"] = []string{"no-cache"}
	h["Expires"] = []string{"0"}
	grant := h.Get("Access-Control-Allow-Origin")
	for _, name := range unsafeOnSignedResponses {
		delete(h, name)
	}
	if g := k.spaGrant(c.req); g.Origin != "" && grant == g.Origin {
		h.Set("Access-Control-Allow-Origin", g.Origin) // the one grant a signed response may carry
		if g.Credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	return code
}

// reloadForHTMX makes htmx load the whole page after a sign-in or sign-out
// in one of its requests: htmx swaps <body> (hx-boost) or a target and keeps
// the page's <head>, so an embed there would go on telling the widget the
// previous user, whose signature would stay in the document. A redirect
// becomes HX-Redirect (htmx would follow a 3xx inside its request and swap
// the next page's body only); any other answer gets HX-Refresh.
func reloadForHTMX(h http.Header, code int) int {
	if location := h.Get("Location"); code >= 300 && code < 400 && location != "" {
		h.Del("Location")
		h.Set("HX-Redirect", location)
		return http.StatusOK
	}
	h.Set("HX-Refresh", "true")
	return code
}

// finish runs when the handler returned: the save check if no header went
// out (scs saves the session now), and the report of an identity that was
// read but did not leave under the protections: read after an unprotected
// header, or written to a writer captured outside the middleware (as gin's
// is by a c.Next() that keeps it).
func (w *guardWriter) finish() {
	c := w.cell
	if !w.wroteHeader {
		c.guardSave()
	}
	if w.protected || !c.wasRead() {
		return
	}
	if w.wroteHeader {
		c.kit.diag.report(readAfterHeader)
	} else {
		c.kit.diag.report(writerBypassed)
	}
}

// cdnCacheHeaders are the headers by which a CDN may be told to cache what
// Cache-Control forbids it to.
var cdnCacheHeaders = []string{"Cdn-Cache-Control", "Cloudflare-Cdn-Cache-Control", "Surrogate-Control"}

// keepFromSharedCaches makes a page that carries the kit's nonce private to
// one browser: a shared cache (a CDN, a proxy) that served one copy to every
// visitor would make the nonce public, and a markup injection that the app's
// CSP had neutralised could then run a script with it and read the identity
// of whoever is signed in. The page may still be cached by the browser.
func keepFromSharedCaches(h http.Header) {
	if cc := h["Cache-Control"]; cachecontrol.SharedCacheMayStore(strings.Join(cc, ", ")) {
		h["Cache-Control"] = []string{cachecontrol.Private(strings.Join(cc, ", "))}
	}
	for _, name := range cdnCacheHeaders {
		delete(h, name)
	}
}

// mayRenderIdentity reports whether a response of this Content-Type can be a
// page that renders the identity after its header went out: HTML, or not yet
// known (net/http sniffs it from the body).
func mayRenderIdentity(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.TrimSpace(mediaType)
	return mediaType == "" || strings.EqualFold(mediaType, "text/html") || strings.EqualFold(mediaType, "application/xhtml+xml")
}

func (w *guardWriter) WriteHeader(code int) {
	if code >= 200 { // 1xx responses (103 Early Hints) are not final
		code = w.writeHeaderOnce(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *guardWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// FlushError flushes the underlying writer (http.ResponseController uses it).
func (w *guardWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is http.Flusher, for handlers that assert it directly.
func (w *guardWriter) Flush() { _ = w.FlushError() }

// Hijack is http.Hijacker, for handlers that assert it directly. The
// connection is the handler's from then on: no header of the kit's goes out.
func (w *guardWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.wroteHeader {
		w.cell.guardSave()
		w.wroteHeader = true
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *guardWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
