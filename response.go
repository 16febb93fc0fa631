package prefinery

import (
	"bufio"
	"net"
	"net/http"
	"strings"
)

// unsafeOnSignedResponses are the headers a response carrying a signature
// must not have: validators (a later conditional request would get 304 and
// replay the old body), CDN cache controls (a CDN that honours them ignores
// Cache-Control) and CORS grants (another origin could read the signature).
// The names are in canonical form, as http.Header keys them.
var unsafeOnSignedResponses = []string{
	"Etag", "Last-Modified",
	"Cdn-Cache-Control", "Cloudflare-Cdn-Cache-Control", "Surrogate-Control",
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers",
}

// writeHeaderCheck runs once, as the final header is about to go out: a
// response that carried the identity, or a signed-in user's page (which may
// render it later), gets the protections.
func (s *signedResponse) writeHeaderCheck() {
	if s.wroteHeader {
		return
	}
	s.wroteHeader = true
	h := s.Header()
	page := mayRenderIdentity(h.Get("Content-Type"))
	amend := page && s.kit.nonce == nil && hasCSP(h)
	if page {
		s.lookUp() // a signed-in user's page is protected even before a read
	}
	s.mu.Lock()
	if amend && s.nonce == "" {
		s.nonce = newNonce()
	}
	nonce, renderedNoNonce := s.nonce, s.renderedNoNonce
	protect := s.read || s.identifier != "" && page
	s.headerDone, s.protected = true, protect
	s.mu.Unlock()
	if amend {
		s.kit.amendCSP(h, nonce)
		if renderedNoNonce {
			s.kit.lateCSP.Do(func() {
				s.kit.log.Warn("prefinery: the page's Content-Security-Policy was set after the kit rendered its scripts, which carry no nonce and will be blocked; set the CSP header before the handler runs")
			})
		}
	}
	if !protect {
		return
	}
	h["Cache-Control"] = []string{s.kit.cacheControl} // a fresh slice per response
	h["Pragma"] = []string{"no-cache"}
	h["Expires"] = []string{"0"}
	for _, name := range unsafeOnSignedResponses {
		delete(h, name)
	}
}

// hasCSP reports whether h carries a Content-Security-Policy, enforced or
// report-only.
func hasCSP(h http.Header) bool {
	has := func(v []string) bool { return len(v) > 0 && v[0] != "" } // as h.Get(name) != ""
	return has(h["Content-Security-Policy"]) || has(h["Content-Security-Policy-Report-Only"])
}

// mayRenderIdentity reports whether a response of this Content-Type can be a
// page that renders the identity after its header went out: HTML, or not yet
// known (net/http sniffs it from the body).
func mayRenderIdentity(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.TrimSpace(mediaType)
	return mediaType == "" || strings.EqualFold(mediaType, "text/html") || strings.EqualFold(mediaType, "application/xhtml+xml")
}

func (s *signedResponse) WriteHeader(code int) {
	if code >= 200 { // 1xx responses (103 Early Hints) are not final
		s.writeHeaderCheck()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *signedResponse) Write(b []byte) (int, error) {
	s.writeHeaderCheck()
	return s.ResponseWriter.Write(b)
}

// FlushError flushes the underlying writer (http.ResponseController uses it).
func (s *signedResponse) FlushError() error {
	s.writeHeaderCheck()
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Flush is http.Flusher, for handlers that assert it directly.
func (s *signedResponse) Flush() { _ = s.FlushError() }

// Hijack is http.Hijacker, for handlers that assert it directly.
func (s *signedResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *signedResponse) Unwrap() http.ResponseWriter { return s.ResponseWriter }
