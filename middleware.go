package prefinery

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
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
// change it for the rest of the request. A
// response that carries the identity (or may: a page of a signed-in user) is
// made no-store, without validators, CDN cache headers or CORS grants, when
// its header is written, whatever the handler set; without Config.Nonce, a
// page's Content-Security-Policy gets the nonce the kit put on its scripts.
// With Config.AutoInsert the embed snippet is inserted into HTML pages.
func (k *Kit) Middleware(next http.Handler) http.Handler {
	if k.autoInsert {
		next = k.insertSnippet(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := &signedResponse{Context: r.Context(), ResponseWriter: w, kit: k, req: r}
		r = r.WithContext(s)
		if isConditional(r.Header) && s.signedIn() {
			dropRevalidation(r)
		}
		next.ServeHTTP(s, r)
	})
}

// identifier returns the signed-in user's identifier as stored, "" when
// nobody is signed in, and an error wrapping ErrNoSession when the kit is not
// behind LoadAndSave. It is validated when first read (validIdentifier).
func (k *Kit) identifier(r *http.Request) (string, error) {
	if k.user != nil {
		v, ok := k.user(r)
		if !ok {
			return "", nil
		}
		return v, nil
	}
	v, err := k.sessionIdentifier(r.Context())
	if err != nil {
		k.misconfigured.Do(func() {
			k.log.Error("prefinery: no scs session in the request context; every request looks signed out. Put kit.Middleware inside sessions.LoadAndSave")
		})
	}
	return v, err
}

// validIdentifier reports whether the kit can sign and emit v faithfully,
// logging (without the value) why not: the user is then signed out for
// Prefinery while the app keeps working.
func (k *Kit) validIdentifier(v string) bool {
	if problem := identifierProblem(v, k.maxLen); problem != "" {
		k.log.Warn("prefinery: identifier refused; the user is treated as signed out for Prefinery",
			slog.String("kind", string(k.kind)), slog.String("reason", problem))
		return false
	}
	return true
}

// identity returns the request's identity: the one the middleware attached,
// or else a fresh lookup (for handlers mounted without the middleware).
func (k *Kit) identity(r *http.Request) (Identity, bool, error) {
	if s, ok := r.Context().Value(identityKey{k}).(*signedResponse); ok {
		id, ok := s.identity()
		if !ok {
			return Identity{}, false, s.err()
		}
		return id, true, nil
	}
	if id, ok := k.requestIdentity(r); ok {
		return id, true, nil
	}
	v, err := k.identifier(r)
	if err != nil || v == "" {
		return Identity{}, false, err
	}
	// The same first read the middleware's state does: validate, check the
	// logout marker, sign.
	s := &signedResponse{Context: r.Context(), kit: k, identifier: v}
	s.looked.Store(true)
	id, ok := s.identity()
	return id, ok, s.lookupErr
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

// signedResponse is one request's identity and response: the request's
// context (which answers the Kit's key with it), the identifier signed in now
// (looked up in the session when first needed), its signature once read, and
// the response writer that guards the header. It is never reused: a handler
// may keep its request past its return.
type signedResponse struct {
	context.Context
	http.ResponseWriter
	kit *Kit
	req *http.Request // as the middleware got it, for the lookup

	looked     atomic.Bool // identifier and lookupErr are known (set under mu)
	mu         sync.Mutex
	lookupErr  error  // why the identity could not be read, if it could not
	identifier string // "" when signed out; changed by Login and Logout
	checked    bool   // identifier validated (valid holds the answer)
	valid      bool
	signature  string // set by the first read of this identifier
	read       bool   // an identity was handed out during this request
	nonce      string // the page's CSP nonce, made on first use (without Config.Nonce)

	renderedNoNonce bool // a kit script was rendered before the page had a CSP

	headerDone bool // the header went out
	protected  bool // with the protections

	wroteHeader bool // headerDone, for the writing goroutine without the lock
}

// Value returns s for the Kit's identity key and defers every other key to
// the request's own context.
func (s *signedResponse) Value(key any) any {
	if key == (identityKey{s.kit}) {
		return s
	}
	return s.Context.Value(key)
}

// String describes the context without the identity (personal data).
func (s *signedResponse) String() string {
	return fmt.Sprint(s.Context) + ".WithValue(prefinery identity)"
}

// identity validates and signs the current identifier on its first read, with
// the secret current then; later reads return the same signature.
func (s *signedResponse) identity() (Identity, bool) {
	s.lookUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.identifier == "" {
		return Identity{}, false
	}
	if !s.checked {
		s.checked, s.valid = true, s.kit.validIdentifier(s.identifier)
		if s.valid {
			loggedOut, err := s.kit.sessionLoggedOut(s.Context)
			s.valid = !loggedOut && err == nil
			if err != nil {
				s.lookupErr = err
			}
		}
	}
	if !s.valid {
		return Identity{}, false
	}
	if s.signature == "" {
		s.signature = s.kit.Sign(s.identifier)
	}
	if !s.read {
		s.read = true
		if s.headerDone && !s.protected {
			s.kit.lateRead.Do(func() {
				s.kit.log.Warn("prefinery: the identity was read after the response header was sent without no-store; render it before writing the response, or give the response a text/html Content-Type")
			})
		}
	}
	return Identity{Kind: s.kit.kind, Value: s.identifier, Signature: s.signature}, true
}

// lookUp reads the signed-in user's identifier from the session (or
// Config.User) once, on first need. The lookup runs outside the lock, as it
// calls the app's code; a Login or Logout that landed meanwhile wins.
func (s *signedResponse) lookUp() {
	if s.looked.Load() {
		return
	}
	v, err := s.kit.identifier(s.req) // on error (logged), the request looks signed out
	s.mu.Lock()
	if !s.looked.Load() {
		s.identifier, s.lookupErr = v, err
		s.looked.Store(true)
	}
	s.mu.Unlock()
}

// signedIn reports whether a user is signed in for this request now.
func (s *signedResponse) signedIn() bool {
	s.lookUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identifier != ""
}

// renderNonce returns the nonce for a script the kit renders: the page's, if
// it has one or its header (so far) carries a CSP; else "" and it notes that
// a script went out without one.
func (s *signedResponse) renderNonce() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nonce == "" && !hasCSP(s.ResponseWriter.Header()) {
		s.renderedNoNonce = true
		return ""
	}
	if s.nonce == "" {
		s.nonce = newNonce()
	}
	return s.nonce
}

// err is why the identity could not be read, if a lookup failed.
func (s *signedResponse) err() error {
	s.lookUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookupErr
}

// headerSent reports whether the response header went out.
func (s *signedResponse) headerSent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headerDone
}

// setIdentifier is Login and Logout taking effect for the rest of the request.
func (s *signedResponse) setIdentifier(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identifier, s.checked, s.valid, s.signature, s.lookupErr = v, false, false, "", nil
	s.looked.Store(true)
}
