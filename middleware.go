package prefinery

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// Middleware attaches the signed-in user's identity to the request context,
// where [Kit.Identity], the template functions and the identity endpoint find
// it. Chain it inside the scs SessionManager's LoadAndSave:
//
//	sessions.LoadAndSave(kit.Middleware(mux))
//
// The identifier comes only from the session (or Config.User), never from the
// request. It is signed lazily, at most once per request, when first read.
// Responses to signed-in users are made private to shared caches when their
// header is written, whatever the handler set. With Config.AutoInsert the
// embed snippet is inserted into HTML pages.
func (k *Kit) Middleware(next http.Handler) http.Handler {
	if k.autoInsert {
		next = k.insertSnippet(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		identifier, err := k.identifier(r)
		if err != nil || identifier == "" {
			next.ServeHTTP(w, r)
			return
		}
		sr := &signedResponse{Context: r.Context(), ResponseWriter: w, kit: k, identifier: identifier}
		next.ServeHTTP(sr, r.WithContext(sr))
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
	if id, ok := k.requestIdentity(r); ok {
		return id, true, nil
	}
	v, err := k.identifier(r)
	if err != nil || v == "" || !k.validIdentifier(v) {
		return Identity{}, false, err
	}
	return Identity{Kind: k.kind, Value: v, Signature: k.Sign(v)}, true, nil
}

// signedResponse is one signed-in user's request: its identity, signed on
// first read, the request's context (which answers the Kit's key with it), and
// the response writer that keeps the response out of shared caches. It is
// never reused: a handler may keep its request past its return.
type signedResponse struct {
	context.Context
	http.ResponseWriter
	kit        *Kit
	identifier string // as stored; validated on first read

	readOnce  sync.Once
	valid     bool
	signature string

	headerChecked bool
}

// Value returns s for the Kit's identity key and defers every other key to
// the request's own context.
func (s *signedResponse) Value(key any) any {
	if key == (identityKey{s.kit}) {
		return s
	}
	return s.Context.Value(key)
}

// String describes the context without the identity (the identifier is
// personal data).
func (s *signedResponse) String() string {
	return fmt.Sprint(s.Context) + ".WithValue(prefinery identity)"
}

// identity validates and signs on first read, from any goroutine, with the
// secret current then; later reads return the same answer.
func (s *signedResponse) identity() (Identity, bool) {
	s.readOnce.Do(func() {
		if s.valid = s.kit.validIdentifier(s.identifier); s.valid {
			s.signature = s.kit.Sign(s.identifier)
		}
	})
	if !s.valid {
		return Identity{}, false
	}
	return Identity{Kind: s.kit.kind, Value: s.identifier, Signature: s.signature}, true
}

// checkHeader runs once, as the header is about to be sent: a response that
// may carry a signature must never be stored by a shared cache.
func (s *signedResponse) checkHeader() {
	if s.headerChecked {
		return
	}
	s.headerChecked = true
	h := s.Header()
	for _, cc := range h["Cache-Control"] {
		if hasDirective(cc, "private") || hasDirective(cc, "no-store") {
			return
		}
	}
	h.Set("Cache-Control", s.kit.cacheControl)
}

func (s *signedResponse) WriteHeader(code int) {
	if code >= 200 { // 1xx responses (103 Early Hints) are not final
		s.checkHeader()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *signedResponse) Write(b []byte) (int, error) {
	s.checkHeader()
	return s.ResponseWriter.Write(b)
}

// FlushError flushes the underlying writer (http.ResponseController uses it).
func (s *signedResponse) FlushError() error {
	s.checkHeader()
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
