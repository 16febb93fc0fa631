package prefinery

import (
	"fmt"
	"html/template"
	"strings"
	"sync"
)

// The kit's snippets are rendered by html/template, but executing a template
// per request costs microseconds and dozens of allocations. So New executes
// each template once per shape (with or without a nonce, with or without an
// identity), with sentinel values in the two places that vary per request, and
// keeps the output split at those places. A request then fills the holes with
// exactly what html/template itself would produce there:
//
//   - the nonce, in an attribute: validated base64, whose only character
//     html/template escapes in that context is '+' (as "&#43;");
//   - the identity, in a script: html/template renders a json.Marshaler as its
//     HTML-safe encoding/json output, which is Identity.MarshalJSON;
//   - for a loader on the app's own origin (a path), the request's origin in
//     front of it: a scheme and a host of letters, digits and ".-:[]", which
//     html/template's URL normalizer and attribute escaper leave as they are.
//
// TestCompiledMatchesTemplate and FuzzEmbed check that the result is byte for
// byte what executing the template gives.

// hole says what a skeleton piece is followed by.
type hole uint8

const (
	noHole hole = iota
	nonceHole
	identityHole // the identity, or a call's parameters: JSON
	callbackHole // a call's callback path: a JSON array of identifiers
	originHole   // the request's origin, before a loader path
)

// nonceSentinel survives attribute escaping unchanged and cannot occur in the
// constant parts of the templates.
const nonceSentinel = "PrefineryNonceHole7d1e"

// identitySentinelJSON is what identitySentinel marshals to; html/template
// inserts JSON objects without padding, as it does a real Identity.
const identitySentinelJSON = `{"prefineryIdentityHole":7}`

// callbackSentinel is the callback path html/template renders as
// ["PrefineryCallbackHole5c"]: identifiers need no escaping there.
const (
	callbackSentinel     = "PrefineryCallbackHole5c"
	callbackSentinelJSON = `["` + callbackSentinel + `"]`
)

// originSentinel stands before a loader path: a relative URL segment that
// html/template leaves unchanged, as it does the origin that replaces it.
const originSentinel = "PrefineryOriginHole3b"

type identitySentinel struct{}

func (identitySentinel) MarshalJSON() ([]byte, error) { return []byte(identitySentinelJSON), nil }

// piece is constant HTML followed by a hole (or by nothing).
type piece struct {
	text string
	hole hole
}

// skeleton is one template's output for one shape, split at its holes.
type skeleton struct {
	pieces     []piece
	size       int // bytes of constant text
	nonceHoles int
}

// Template shapes, indexes into Kit.snippets.
const (
	embedTemplate = iota
	loaderTemplate
	authenticateTemplate
	templateCount
)

var templateNames = [templateCount]string{"embed", "loader-only", "authenticate"}

// skeletonSet holds every shape: [template][has nonce][has identity].
type skeletonSet [templateCount][2][2]skeleton

// compileSkeletons renders every template shape for a Kit whose loader is src.
func compileSkeletons(src string) (*skeletonSet, error) {
	var set skeletonSet
	for t, name := range templateNames {
		for _, withNonce := range []bool{false, true} {
			for _, withIdentity := range []bool{false, true} {
				data := snippetData{Src: src}
				if strings.HasPrefix(src, "/") {
					data.Src = originSentinel + src
				}
				if withNonce {
					data.Nonce = nonceSentinel
				}
				if withIdentity {
					data.Identity = identitySentinel{}
				}
				var b strings.Builder
				if err := snippets.ExecuteTemplate(&b, name, data); err != nil {
					return nil, fmt.Errorf("prefinery: compiling the %s snippet: %w", name, err)
				}
				set[t][b2i(withNonce)][b2i(withIdentity)] = splitSkeleton(b.String())
			}
		}
	}
	return &set, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// splitSkeleton cuts rendered HTML at the sentinels.
func splitSkeleton(out string) skeleton {
	sentinels := []struct {
		text string
		hole hole
	}{{nonceSentinel, nonceHole}, {identitySentinelJSON, identityHole}, {callbackSentinelJSON, callbackHole}, {originSentinel, originHole}}
	var s skeleton
	for {
		at, which := -1, 0
		for k, sen := range sentinels {
			if i := strings.Index(out, sen.text); i >= 0 && (at < 0 || i < at) {
				at, which = i, k
			}
		}
		if at < 0 {
			s.pieces = append(s.pieces, piece{text: out})
			s.size += len(out)
			return s
		}
		sen := sentinels[which]
		s.pieces = append(s.pieces, piece{text: out[:at], hole: sen.hole})
		s.size += at
		if sen.hole == nonceHole {
			s.nonceHoles++
		}
		out = out[at+len(sen.text):]
	}
}

// render fills the skeleton's holes. nonce must be validated base64,
// origin a scheme and a plain host (or ""), identity the output of
// Identity.MarshalJSON (or a call's ASCII JSON parameters), and callback a
// JSON array of validated identifiers.
func (s *skeleton) render(nonce, origin string, identity, callback []byte) template.HTML {
	var b strings.Builder
	b.Grow(s.size + s.nonceHoles*len(nonce) + len(origin) + len(identity) + len(callback)) // a '+' in the nonce may still grow it
	for _, p := range s.pieces {
		b.WriteString(p.text)
		switch p.hole {
		case nonceHole:
			writeAttrBase64(&b, nonce)
		case identityHole:
			b.Write(identity)
		case callbackHole:
			b.Write(callback)
		case originHole:
			b.WriteString(origin)
		}
	}
	return template.HTML(b.String())
}

// callSkeletons are the compiled Web API calls: [has nonce][has callback].
type callSkeletons map[string]*[2][2]skeleton

// compiledCalls compiles the calls once per process, on first use: they
// depend on nothing a Kit configures.
var compiledCalls = sync.OnceValues(compileCalls)

// compileCalls renders the call template once per documented call and shape.
func compileCalls() (callSkeletons, error) {
	set := callSkeletons{}
	for name := range webAPICalls {
		var shapes [2][2]skeleton
		for _, withNonce := range []bool{false, true} {
			for _, withCallback := range []bool{false, true} {
				data := callData{Name: name, Params: identitySentinel{}}
				if withNonce {
					data.Nonce = nonceSentinel
				}
				if withCallback {
					data.Callback = []string{callbackSentinel}
				}
				var b strings.Builder
				if err := snippets.ExecuteTemplate(&b, "call", data); err != nil {
					return nil, fmt.Errorf("prefinery: compiling the %s call: %w", name, err)
				}
				shapes[b2i(withNonce)][b2i(withCallback)] = splitSkeleton(b.String())
			}
		}
		set[name] = &shapes
	}
	return set, nil
}

// writeAttrBase64 writes a validated base64 token as html/template escapes it
// in a quoted attribute value: '+' becomes "&#43;", the rest is unchanged.
func writeAttrBase64(b *strings.Builder, token string) {
	for {
		i := strings.IndexByte(token, '+')
		if i < 0 {
			b.WriteString(token)
			return
		}
		b.WriteString(token[:i])
		b.WriteString("&#43;")
		token = token[i+1:]
	}
}
