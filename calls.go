package prefinery

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"slices"
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

// isDOMID reports whether s may be embedReferralPage's dom_id: an HTML id of
// at most 64 ASCII letters, digits, '-' and '_', starting with a letter, that
// needs no escaping anywhere.
func isDOMID(s string) bool {
	letter := func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
	if s == "" || len(s) > 64 || !letter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !letter(c) && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

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

// encodeParams encodes a call's parameters as one JSON object in ASCII only:
// the app's fields, names sorted as encoding/json sorts a map's, then the
// identity's kind and signature when id is not nil (they replace fields of
// the same names). Strings are written by the identity's escaper; other
// values go through toASCIIJSON. A name or string value that is not valid
// UTF-8 is refused: encoding/json would replace it, and the widget would get
// another string than the app's. (Strings inside other values are
// encoding/json's to encode.)
func encodeParams(fields map[string]any, id *Identity) (asciiJSON, error) {
	names := make([]string, 0, len(fields))
	for name := range fields {
		if id == nil || name != string(id.Kind) && name != "signature" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	b := append(make([]byte, 0, 128+64*len(names)), '{')
	var err error
	field := func(name string, value any) {
		if err != nil {
			return
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		if b, err = appendJSONString(b, name); err != nil {
			return
		}
		b = append(b, ':')
		if v, ok := value.(string); ok {
			b, err = appendJSONString(b, v)
			return
		}
		var encoded asciiJSON
		encoded, err = toASCIIJSON(value)
		b = append(b, encoded...)
	}
	for _, name := range names {
		field(name, fields[name])
	}
	if id != nil {
		field(string(id.Kind), id.Identifier)
		field("signature", id.Signature)
	}
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as a JSON string in ASCII only.
func appendJSONString(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, errors.New("prefinery: a call parameter is not valid UTF-8 (the widget would get another string)")
	}
	b = append(b, '"')
	b = appendASCIIString(b, s)
	return append(b, '"'), nil
}

// toASCIIJSON encodes v with encoding/json (HTML-safe) and writes DEL and
// every non-ASCII rune as \uXXXX; in JSON they can only stand inside strings, so
// the result decodes to the same value under any page charset.
func toASCIIJSON(v any) (asciiJSON, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		return nil, errors.New("prefinery: the call parameters are not valid UTF-8 (the widget would get other strings)")
	}
	printable := true
	for _, c := range b {
		if c >= 0x7f {
			printable = false
			break
		}
	}
	if printable {
		return b, nil
	}
	out := make([]byte, 0, len(b)+32)
	for _, r := range string(b) {
		if r < 0x7f {
			out = append(out, byte(r))
		} else {
			out = appendASCIIString(out, string(r))
		}
	}
	return out, nil
}

// callParams encodes the call's parameters for r: the app's fields and, for
// a signed-in user, the identity. ok is false when the call needs a
// signed-in user and there is none: nothing is rendered then.
func (k *Kit) callParams(r *http.Request, fields map[string]any, needIdentity bool) (params asciiJSON, ok bool, err error) {
	id, signedIn := k.templateIdentity(r)
	if !signedIn {
		if needIdentity {
			return nil, false, nil
		}
		params, err = encodeParams(fields, nil)
		return params, err == nil, err
	}
	if err := id.check(); err != nil { // planted identities are checked as for authenticateUser
		return nil, false, err
	}
	if v, given := fields[string(id.Kind)]; given && v != id.Identifier {
		return nil, false, fmt.Errorf("prefinery: the fields give a %s other than the signed-in user's, which the kit will not sign", id.Kind)
	}
	params, err = encodeParams(fields, &id)
	return params, err == nil, err
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
	encoded, ok, err := k.callParams(r, fields, needIdentity)
	if !ok {
		return "", err
	}
	nonce := k.validNonce(r)
	calls, err := compiledCalls()
	if err != nil {
		return "", err
	}
	return calls[name][b2i(nonce != "")][b2i(path != nil)].render(nonce, "", encoded, path), nil
}

// embedReferralPage renders the call that shows the signed-in user's referral
// page inside the element whose id is domID; nothing when signed out.
func (k *Kit) embedReferralPage(r *http.Request, domID string) (template.HTML, error) {
	if !isDOMID(domID) {
		return "", fmt.Errorf("prefinery: embedReferralPage: the dom_id must be an HTML id of letters, digits, '-' and '_', not %q", domID)
	}
	return k.renderCall(r, "embedReferralPage", map[string]any{"dom_id": domID}, "", true)
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
