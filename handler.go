package prefinery

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
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
// GET and HEAD only (405 otherwise). Signed in: 200 with the Web API's object,
// {"email":"…","signature":"…"}. Signed out: 401. Cross-site or same-site
// requests (by Fetch Metadata, or Origin when there is none), and subresource
// or no-cors loads: 403. No session: 500. Errors are a JSON {"error":"…"}
// that echoes nothing from the request. Every answer is no-store, Vary:
// Cookie, nosniff, Cross-Origin-Resource-Policy: same-origin, without CORS
// grants whatever a middleware in front set. Only the session (or
// Config.User) decides whose identity is returned.
func (k *Kit) IdentityHandler() http.Handler { return http.HandlerFunc(k.serveIdentity) }

func (k *Kit) serveIdentity(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		respond.Error(w, r, http.StatusMethodNotAllowed, "method not allowed: use GET")
		return
	}
	if reason := k.crossSiteReason(r); reason != "" {
		k.cfg.Logger.Debug("prefinery: identity endpoint refused a request", slog.String("reason", reason))
		respond.Error(w, r, http.StatusForbidden, "cross-site request refused")
		return
	}
	id, ok, err := k.requestIdentity(r)
	switch {
	case errors.Is(err, ErrNoSession):
		k.cfg.Logger.Error("prefinery: the identity endpoint is misconfigured", slog.Any("error", err))
		respond.Error(w, r, http.StatusInternalServerError, "server misconfigured")
		return
	case err != nil: // the session store failed (logged where it happened)
		respond.Error(w, r, http.StatusInternalServerError, "internal server error")
		return
	case !ok:
		respond.Error(w, r, http.StatusUnauthorized, "not signed in")
		return
	}
	body, err := id.MarshalJSON()
	if err != nil { // unreachable for identities the kit attached: they are validated
		k.cfg.Logger.Error("prefinery: the identity cannot be encoded", slog.String("kind", string(id.Kind)))
		respond.Error(w, r, http.StatusInternalServerError, "internal server error")
		return
	}
	respond.JSON(w, r, http.StatusOK, body)
}

// crossSiteReason applies the Fetch Metadata resource-isolation policy (and,
// for clients that send no Fetch Metadata, an Origin check). It returns why the
// request is refused, or "" to allow it. Requests with neither (curl, old
// browsers) are allowed: they cannot carry a victim's cookies cross-site.
func (k *Kit) crossSiteReason(r *http.Request) string {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		switch site {
		case "same-origin", "none":
		case "same-site":
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
	if !present {
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
