package prefinery

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/prefinerykit/prefinery/internal/respond"
)

// IdentityHandler returns the handler of the identity endpoint, typically
// mounted as
//
//	mux.Handle("/prefinery/identity", kit.IdentityHandler())
//
// behind the scs SessionManager's LoadAndSave. A single-page app fetches it
// and passes the answer to prefinery('authenticateUser', …).
//
// GET and HEAD only (405 otherwise; OPTIONS is a preflight from
// Config.SPAOrigins). Signed in: 200 with the Web API's object,
// {"email":"…","signature":"…"}. Signed out: 401. Cross-site or same-site
// requests (by Fetch Metadata, or Origin when there is none: a non-browser
// client sending a foreign Origin is refused as a browser would be), and
// subresource or no-cors loads: 403, logged once with the origin and the
// fix; from one of Config.SPAOrigins, the answer carries a CORS grant for
// that origin alone. No session: 500. Errors are a JSON {"error":"…"} that
// echoes nothing from the request. Every answer is no-store, Vary: Cookie,
// nosniff, Cross-Origin-Resource-Policy: same-origin, without any other CORS
// grant whatever a middleware in front set. Only the session (or
// Config.User) decides whose identity is returned.
func (k *Kit) IdentityHandler() http.Handler {
	if k == nil {
		return nilKitHandler("IdentityHandler")
	}
	return http.HandlerFunc(k.serveIdentity)
}

func (k *Kit) serveIdentity(w http.ResponseWriter, r *http.Request) {
	grant := k.spaGrant(r)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		k.preflight(w, r, grant)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		respond.ErrorFor(w, r, http.StatusMethodNotAllowed, "method not allowed: use GET", grant)
		return
	}
	if reason := k.crossSiteReason(r, grant.Origin != ""); reason != "" {
		k.refuse(w, r, reason)
		return
	}
	id, ok, err := k.requestIdentity(r)
	switch {
	case errors.Is(err, ErrNoSession):
		k.cfg.Logger.Error("prefinery: the identity endpoint is misconfigured", slog.Any("error", err))
		respond.ErrorFor(w, r, http.StatusInternalServerError, "server misconfigured", grant)
		return
	case err != nil: // the session store failed (logged where it happened)
		respond.ErrorFor(w, r, http.StatusInternalServerError, "internal server error", grant)
		return
	case !ok:
		respond.ErrorFor(w, r, http.StatusUnauthorized, "not signed in", grant)
		return
	}
	body, err := id.MarshalJSON()
	if err != nil { // unreachable for identities the kit attached: they are validated
		k.cfg.Logger.Error("prefinery: the identity cannot be encoded", slog.String("kind", string(id.Kind)))
		respond.ErrorFor(w, r, http.StatusInternalServerError, "internal server error", grant)
		return
	}
	respond.JSONFor(w, r, http.StatusOK, body, grant)
}

// spaGrant is the CORS grant for r: its Origin when it is one of
// Config.SPAOrigins, with credentials when Config.SPAOriginsSendCookies.
func (k *Kit) spaGrant(r *http.Request) respond.Grant {
	origin := r.Header.Values("Origin")
	if len(origin) != 1 || !slices.Contains(k.cfg.SPAOrigins, origin[0]) {
		return respond.Grant{}
	}
	return respond.Grant{Origin: origin[0], Credentials: k.cfg.SPAOriginsSendCookies}
}

// preflight answers a CORS preflight: 204 with the grant for a trusted
// origin asking for GET or HEAD with at most an Authorization header; 403
// (logged once, with the fix) for any other.
func (k *Kit) preflight(w http.ResponseWriter, r *http.Request, grant respond.Grant) {
	method := r.Header.Get("Access-Control-Request-Method")
	if grant.Origin == "" || method != http.MethodGet && method != http.MethodHead || !onlyAuthorization(r.Header.Get("Access-Control-Request-Headers")) {
		k.refuse(w, r, "a preflight from an origin not in Config.SPAOrigins, or for more than GET with Authorization")
		return
	}
	h := w.Header()
	for _, name := range respond.CORSHeaders {
		delete(h, name)
	}
	h.Set("Access-Control-Allow-Origin", grant.Origin)
	h.Set("Access-Control-Allow-Methods", "GET, HEAD")
	h.Set("Access-Control-Allow-Headers", "Authorization")
	h.Set("Access-Control-Max-Age", "600")
	if grant.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Add("Vary", "Origin")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// onlyAuthorization reports whether a preflight's requested headers are at
// most Authorization.
func onlyAuthorization(requested string) bool {
	for name := range strings.SplitSeq(requested, ",") {
		if name = strings.TrimSpace(name); name != "" && !strings.EqualFold(name, "Authorization") {
			return false
		}
	}
	return true
}

// refuse answers 403 and says why: the body for non-browser clients, the
// log (once per Kit, at WARN, with the origin and the fix) for the app's
// developers.
func (k *Kit) refuse(w http.ResponseWriter, r *http.Request, reason string) {
	origin := r.Header.Get("Origin")
	if len(origin) > 200 {
		origin = origin[:200]
	}
	k.diag.report(endpointRefused, slog.String("origin", origin), slog.String("reason", reason))
	k.cfg.Logger.Debug("prefinery: identity endpoint refused a request", slog.String("origin", origin), slog.String("reason", reason))
	respond.Error(w, r, http.StatusForbidden, "cross-origin read refused: only the app's own pages and Config.SPAOrigins may read the identity")
}

// crossSiteReason applies the Fetch Metadata resource-isolation policy (and,
// for clients that send no Fetch Metadata, an Origin check). It returns why the
// request is refused, or "" to allow it. Requests with neither (curl, old
// browsers) are allowed: they cannot carry a victim's cookies cross-site.
func (k *Kit) crossSiteReason(r *http.Request, trusted bool) string {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		switch {
		case trusted: // one of Config.SPAOrigins, same-site or cross-site
		case site == "same-origin" || site == "none":
		case site == "same-site":
			if !k.cfg.UnsafeAllowSameSite {
				return "same-site request"
			}
		default: // cross-site, or a value this policy does not know
			return "cross-site request"
		}
		switch r.Header.Get("Sec-Fetch-Mode") {
		case "", "cors", "same-origin", "navigate":
		default: // no-cors, websocket, …
			return "disallowed fetch mode"
		}
		switch r.Header.Get("Sec-Fetch-Dest") {
		case "", "empty", "document":
		default: // script, image, iframe, object, embed, style, worker, …
			return "disallowed fetch destination"
		}
		return ""
	}
	origin, present := r.Header["Origin"]
	if !present || trusted {
		return ""
	}
	if len(origin) != 1 || origin[0] == "null" {
		return "opaque origin"
	}
	u, err := url.Parse(origin[0])
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return "origin does not match host"
	}
	return ""
}
