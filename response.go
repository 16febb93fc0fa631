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

// writeHeaderCheck runs once, as the final header is about to go out: a
// response that carried the identity, or a signed-in user's page (which may
// render it later), gets the protections; a page under a CSP gets the nonce
// added to it.
func (s *requestState) writeHeaderCheck() {
	if s.headerSent.Load() {
		return
	}
	s.guardSave() // scs saves the session as the header goes out
	h := s.Header()
	respond.DedupeVary(h)
	page := mayRenderIdentity(h.Get("Content-Type"))
	amend := page && s.kit.cfg.Nonce == nil && csp.Has(h)
	if page {
		s.lookUp() // a signed-in user's page is protected even before a read
	}
	s.mu.Lock()
	if s.headerSent.Load() {
		s.mu.Unlock()
		return
	}
	if amend && s.nonce == "" {
		s.nonce = newNonce()
	}
	nonce, renderedNoNonce := s.nonce, s.renderedNoNonce
	protect := s.read.Load() || s.identifier != "" && page
	s.protected = protect
	s.headerSent.Store(true)
	s.mu.Unlock()
	if amend {
		s.kit.csp.Amend(h, nonce, s.kit.loaderSource(s.req))
		if renderedNoNonce {
			s.kit.diag.report(cspAfterScripts)
		}
	}
	if !protect {
		if nonce != "" {
			keepFromSharedCaches(h)
		}
		return
	}
	h["Cache-Control"] = []string{s.kit.cfg.CacheControl} // a fresh slice per response
	h["Pragma"] = []string{"no-cache"}
	h["Expires"] = []string{"0"}
	for _, name := range unsafeOnSignedResponses {
		delete(h, name)
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

func (s *requestState) WriteHeader(code int) {
	if code >= 200 { // 1xx responses (103 Early Hints) are not final
		s.writeHeaderCheck()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *requestState) Write(b []byte) (int, error) {
	s.writeHeaderCheck()
	return s.ResponseWriter.Write(b)
}

// FlushError flushes the underlying writer (http.ResponseController uses it).
func (s *requestState) FlushError() error {
	s.writeHeaderCheck()
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Flush is http.Flusher, for handlers that assert it directly.
func (s *requestState) Flush() { _ = s.FlushError() }

// Hijack is http.Hijacker, for handlers that assert it directly. The
// connection is the handler's from then on: no header of the kit's goes out.
func (s *requestState) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.mu.Lock()
	s.headerSent.Store(true)
	s.mu.Unlock()
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *requestState) Unwrap() http.ResponseWriter { return s.ResponseWriter }
