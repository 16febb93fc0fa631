// Package respond writes the kit's JSON answers (the identity endpoint's and
// the webhook handler's) with the headers every one of them carries, and
// holds the one list of CORS headers the kit strips.
package respond

import (
	"net/http"
	"slices"
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
	JSONFor(w, r, status, body, Grant{})
}

// Grant is a CORS grant for one origin ("" for none): the identity
// endpoint's answer to a single-page app the app trusts.
type Grant struct {
	Origin      string
	Credentials bool // Access-Control-Allow-Credentials: true
}

// JSONFor is JSON with g's CORS grant, and only it: Access-Control-Allow-Origin
// g.Origin, Vary: Origin, and credentials when g says so. The resource
// policy stays same-origin: it governs no-cors loads, never a CORS read.
func JSONFor(w http.ResponseWriter, r *http.Request, status int, body []byte, g Grant) {
	h := w.Header()
	for _, name := range CORSHeaders {
		delete(h, name)
	}
	if g.Origin != "" {
		h.Set("Access-Control-Allow-Origin", g.Origin)
		if g.Credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		h.Add("Vary", "Origin")
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
	ErrorFor(w, r, status, message, Grant{})
}

// ErrorFor is Error with g's CORS grant, so the granted page can read why.
func ErrorFor(w http.ResponseWriter, r *http.Request, status int, message string, g Grant) {
	JSONFor(w, r, status, []byte(`{"error":"`+message+`"}`+"\n"), g)
}

// VaryCookie reports whether h's Vary already lists Cookie (scs adds it).
func VaryCookie(h http.Header) bool {
	return slices.ContainsFunc(varyFields(h), func(f string) bool { return strings.EqualFold(f, "Cookie") })
}

// DedupeVary lists each of h's Vary fields once, in one value, in the order
// first given (scs and nosurf both add Cookie). A header with at most one
// Vary value is left as it is.
func DedupeVary(h http.Header) {
	if len(h["Vary"]) < 2 {
		return
	}
	var fields []string
	for _, f := range varyFields(h) {
		if !slices.ContainsFunc(fields, func(x string) bool { return strings.EqualFold(x, f) }) {
			fields = append(fields, f)
		}
	}
	h["Vary"] = []string{strings.Join(fields, ", ")}
}

// varyFields splits every Vary value of h into its fields.
func varyFields(h http.Header) []string {
	var fields []string
	for _, v := range h["Vary"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				fields = append(fields, f)
			}
		}
	}
	return fields
}
