// Package respond writes the kit's JSON answers (the identity endpoint's and
// the webhook handler's) with the headers every one of them carries, and
// holds the one list of CORS headers the kit strips.
package respond

import (
	"net/http"
	"strings"
)

// CORSHeaders are the CORS response headers, in canonical form. The kit
// removes them from every response that carries a signature, so a CORS
// middleware that reflects origins can never expose one to another origin.
var CORSHeaders = []string{
	"Access-Control-Allow-Origin",
	"Access-Control-Allow-Credentials",
	"Access-Control-Allow-Headers",
	"Access-Control-Allow-Methods",
	"Access-Control-Expose-Headers",
	"Access-Control-Max-Age",
}

// JSON writes a JSON response: no-store, nosniff, same-origin resource
// policy, Vary: Cookie (once) and no CORS grants, whatever a middleware in
// front set. A HEAD request gets the headers without the body.
func JSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	for _, name := range CORSHeaders {
		delete(h, name)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !VaryCookie(h) {
		h.Add("Vary", "Cookie")
	}
	h.Del("Content-Length")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// Error writes {"error": message}. message is a constant of the kit, never
// request data, so it needs no escaping.
func Error(w http.ResponseWriter, r *http.Request, status int, message string) {
	JSON(w, r, status, []byte(`{"error":"`+message+`"}`+"\n"))
}

// VaryCookie reports whether h's Vary already lists Cookie (scs adds it).
func VaryCookie(h http.Header) bool {
	for _, v := range h["Vary"] {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), "Cookie") {
				return true
			}
		}
	}
	return false
}
