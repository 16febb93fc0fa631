package prefinery

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The Web API calls a page makes for its signed-in user, rendered whole so no
// app writes JavaScript around template values: the name, the identity and
// the app's extra fields go through html/template's script escaping, and every
// string in the parameters is ASCII-only JSON, as the identity is.

// webAPICalls are the Prefinery Web API calls prefineryCall renders: the ones
// Prefinery documents that take the user's identity. authenticateUser has
// its own helpers (prefineryEmbed, prefineryAuthenticate).
var webAPICalls = map[string]bool{
	"addUser": true, "getUser": true, "embedReferralPage": true, "popupReferralPage": true,
	"recordFormImpression": true, "triggerRewards": true, "getReferralCode": true, "getReferrerCode": true,
}

// domID is what embedReferralPage's dom_id may be: an HTML id that needs no
// escaping anywhere.
var domID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// jsPath is a callback: a global function, or a dotted path to one.
var jsPath = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]{0,63}(\.[A-Za-z_$][A-Za-z0-9_$]{0,63}){0,7}$`)

// callData is what the "call" template renders.
type callData struct {
	Nonce    string
	Name     string
	Params   json.Marshaler // asciiJSON
	Callback []string       // the callback's path from window, or nil
}

// asciiJSON is JSON whose every non-ASCII rune is written as \uXXXX.
type asciiJSON []byte

// MarshalJSON returns the JSON as it is.
func (j asciiJSON) MarshalJSON() ([]byte, error) { return j, nil }

// toASCIIJSON encodes v with encoding/json (HTML-safe) and writes every
// non-ASCII rune as \uXXXX; in JSON they can only stand inside strings, so
// the result decodes to the same value under any page charset.
func toASCIIJSON(v any) (asciiJSON, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: the parameters are not valid UTF-8", ErrInvalidIdentifier)
	}
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return b, nil
	}
	out := make([]byte, 0, len(b)+32)
	for _, r := range string(b) {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
		} else {
			out = appendASCIIString(out, string(r))
		}
	}
	return out, nil
}

// callParams merges the request's identity into the app's fields: the
// identity's kind and signature win over fields of the same name.
func (k *Kit) callParams(r *http.Request, fields map[string]any, needIdentity bool) (map[string]any, error) {
	params := make(map[string]any, len(fields)+2)
	for name, v := range fields {
		params[name] = v
	}
	id, ok := k.requestIdentity(r)
	if !ok {
		if needIdentity {
			return nil, nil // nobody signed in: nothing to render
		}
		return params, nil
	}
	if err := id.check(); err != nil { // planted identities are checked as for authenticateUser
		return nil, err
	}
	if v, given := params[string(id.Kind)]; given && v != id.Value {
		return nil, fmt.Errorf("%w: the fields give a %s other than the signed-in user's", ErrInvalidIdentifier, id.Kind)
	}
	params[string(id.Kind)] = id.Value
	params["signature"] = id.Signature
	return params, nil
}

// renderCall renders prefinery(name, params[, callback]) for r. It renders
// nothing when the call needs a signed-in user and there is none.
func (k *Kit) renderCall(r *http.Request, name string, fields map[string]any, callback string, needIdentity bool) (template.HTML, error) {
	if !webAPICalls[name] {
		return "", fmt.Errorf("prefinery: %q is not a Web API call the kit renders (addUser, getUser, embedReferralPage, popupReferralPage, recordFormImpression, triggerRewards, getReferralCode, getReferrerCode)", name)
	}
	var path []byte
	if callback != "" {
		if !jsPath.MatchString(callback) {
			return "", fmt.Errorf("prefinery: %s: the callback must name a global function (onUser, or app.onUser), not %q", name, callback)
		}
		path, _ = json.Marshal(strings.Split(callback, ".")) // identifiers: nothing to escape
	}
	params, err := k.callParams(r, fields, needIdentity)
	if err != nil || params == nil {
		return "", err
	}
	encoded, err := toASCIIJSON(params)
	if err != nil {
		return "", err
	}
	nonce := k.validNonce(r)
	return k.calls[name][b2i(nonce != "")][b2i(path != nil)].render(nonce, encoded, path), nil
}

// embedReferralPage renders the call that shows the signed-in user's referral
// page inside the element whose id is domID; nothing when signed out.
func (k *Kit) embedReferralPage(r *http.Request, id string) (template.HTML, error) {
	if !domID.MatchString(id) {
		return "", fmt.Errorf("prefinery: embedReferralPage: the dom_id must be an HTML id of letters, digits, '-' and '_', not %q", id)
	}
	return k.renderCall(r, "embedReferralPage", map[string]any{"dom_id": id}, "", true)
}

// popupReferralPage renders the call that opens the signed-in user's referral
// page in a popup; nothing when signed out.
func (k *Kit) popupReferralPage(r *http.Request) (template.HTML, error) {
	return k.renderCall(r, "popupReferralPage", nil, "", true)
}

// getUser renders getUser for the signed-in user, answering the global
// function callback; nothing when signed out.
func (k *Kit) getUser(r *http.Request, callback string) (template.HTML, error) {
	return k.renderCall(r, "getUser", nil, callback, true)
}

// addUser renders addUser with the app's fields, signed when a user is
// signed in (so an existing email does not get 403).
func (k *Kit) addUser(r *http.Request, fields map[string]any) (template.HTML, error) {
	return k.renderCall(r, "addUser", fields, "", false)
}

// call renders any other documented Web API call for the signed-in user.
func (k *Kit) call(r *http.Request, name string, fields map[string]any) (template.HTML, error) {
	return k.renderCall(r, name, fields, "", true)
}
