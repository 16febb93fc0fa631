package prefinery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prefinerykit/prefinery/internal/secret"
	"github.com/stretchr/testify/require"
)

// Fuzz targets; seed corpora live in testdata/fuzz/<Target>/. Run one with
//
//	go test -run '^$' -fuzz '^FuzzEmbed$' -fuzztime 30s .

// fuzzSharedSecret signs every FuzzSign input.
var fuzzSharedSecret = mustSecret(vendorSecretText)

// FuzzSign checks signing against crypto/hmac used the textbook way, for any
// secret and identifier, with fresh and pooled HMAC states.
func FuzzSign(f *testing.F) {
	f.Add(vendorSecretText, "user@example.com")
	f.Add("secret", "Message")
	f.Add(strings.Repeat("k", 65), "")
	f.Fuzz(func(t *testing.T, secret, identifier string) {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(identifier))
		want := hex.EncodeToString(mac.Sum(nil))
		s := uncheckedSecret(secret)
		for _, round := range []string{"first", "pooled state"} {
			if got := s.key.Sign(identifier); got != want {
				t.Fatalf("sign(%q) under %d-byte secret, %s = %s, want %s", identifier, len(secret), round, got, want)
			}
		}
		// One secret across all inputs: its pooled states, reused by every
		// input, must answer each identifier with its own signature.
		if got := fuzzSharedSecret.key.Sign(identifier); got != naiveSign(vendorSecretText, identifier) {
			t.Fatalf("shared secret: sign(%q) = %s", identifier, got)
		}
	})
}

// FuzzIdentityJSON: for any identifier and signature, MarshalJSON either
// refuses, or writes printable ASCII JSON that decodes to exactly the identity.
func FuzzIdentityJSON(f *testing.F) {
	sig := mustSecret(vendorSecretText).key.Sign("user@example.com")
	f.Add("user@example.com", sig)
	f.Add("Ё\"});document.title='X';//@example.com", sig)
	f.Add("👩\u2028</script>", "</script><script>alert(1)</script>")
	f.Fuzz(func(t *testing.T, identifier, signature string) {
		b, err := Identity{Kind: KindEmail, Identifier: identifier, Signature: signature}.MarshalJSON()
		if err != nil {
			if identifierProblem(identifier, maxIdentifierCeiling) == "" && secret.IsSignature(signature) {
				t.Fatalf("refused a valid identity %q: %v", identifier, err)
			}
			return
		}
		for _, c := range b {
			if c < 0x20 || c > 0x7e || c == '<' || c == '>' || c == '&' {
				t.Fatalf("byte %#x in %s", c, b)
			}
		}
		var back map[string]string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("not JSON: %v: %s", err, b)
		}
		if len(back) != 2 || back["email"] != identifier || back["signature"] != signature {
			t.Fatalf("%s decodes to %q", b, back)
		}
	})
}

// FuzzEmbed renders the embed snippet for any identifier: either the kit
// refuses it (stub and loader only), or the HTML parses into exactly the stub,
// the loader and one authenticateUser call whose argument decodes back to the
// identifier and its signature. The compiled renderer must also equal
// executing html/template.
func FuzzEmbed(f *testing.F) {
	for _, id := range hostileIdentifiers {
		f.Add(id)
	}
	kit := newKit(f, Config{Nonce: func(*http.Request) string { return "bm9uY2U+/w==" }})
	f.Fuzz(func(t *testing.T, identifier string) {
		page := renderFor(t, kit, identifier, embedOf(kit))
		reference := renderFor(t, kit, identifier, func(r *http.Request) string { return referenceRender(t, kit, embedTemplate, r) })
		if page != reference {
			t.Fatalf("compiled output differs from html/template:\n%s\n%s", page, reference)
		}
		inline, srcs := inlineScripts(t, "<!doctype html><html><head>"+page+"</head><body></body></html>")
		if len(srcs) != 1 || srcs[0] != kit.cfg.WidgetURL {
			t.Fatalf("loader scripts %q", srcs)
		}
		if len(inline) == 0 || inline[0] != stubJS {
			t.Fatalf("first script is not the stub: %q", inline)
		}
		if identifierProblem(identifier, kit.cfg.MaxIdentifierLength) != "" {
			if len(inline) != 1 {
				t.Fatalf("refused identifier %q still rendered %d inline scripts", identifier, len(inline))
			}
			return
		}
		if len(inline) != 2 {
			t.Fatalf("%q: %d inline scripts, want stub and authenticateUser", identifier, len(inline))
		}
		const prefix, suffix = "prefinery('authenticateUser', ", ");"
		call := inline[1]
		if !strings.HasPrefix(call, prefix) || !strings.HasSuffix(call, suffix) {
			t.Fatalf("unexpected script %q", call)
		}
		var params map[string]string
		if err := json.Unmarshal([]byte(call[len(prefix):len(call)-len(suffix)]), &params); err != nil {
			t.Fatalf("argument is not one JSON object: %v in %q", err, call)
		}
		if len(params) != 2 || params["email"] != identifier || params["signature"] != kit.Sign(identifier) {
			t.Fatalf("argument %q does not carry %q and its signature", params, identifier)
		}
	})
}

// FuzzCallParams: for any field name and string value beside other fields,
// encodeParams either refuses a string that is not valid UTF-8, or writes printable ASCII JSON without the
// characters HTML gives meaning to, which decodes to exactly the parameters.
func FuzzCallParams(f *testing.F) {
	f.Add("dom_id", "referrals", 3.5)
	f.Add("first_name", "Zoë </script><!-- \"'\u2028", -1.0)
	f.Add("\x00name\\", "a\xffb", 0.0)
	f.Fuzz(func(t *testing.T, name, value string, number float64) {
		params := map[string]any{"n": number, "nested": []any{"Zoë\u2028", true, nil}}
		params[name] = value
		b, err := encodeParams(params, nil)
		if err != nil {
			if utf8.ValidString(name) && utf8.ValidString(value) {
				t.Fatalf("refused valid parameters: %v", err)
			}
			return
		}
		if !utf8.ValidString(name) || !utf8.ValidString(value) {
			t.Fatalf("accepted invalid UTF-8: %s", b)
		}
		for _, c := range b {
			if c < 0x20 || c > 0x7e || c == '<' || c == '>' || c == '&' {
				t.Fatalf("byte %#x in %s", c, b)
			}
		}
		var back, want map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("not JSON: %v: %s", err, b)
		}
		std, err := json.Marshal(params)
		if err != nil {
			return // a number JSON cannot hold (NaN, ±Inf) is refused by both
		}
		require.NoError(t, json.Unmarshal(std, &want))
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("%s decodes to %v, want %v", b, back, want)
		}
		// With the signed-in user's identity: its kind and signature join
		// the fields, replacing fields of those names.
		id := Identity{Kind: KindEmail, Identifier: "amy@example.com", Signature: strings.Repeat("ab", 32)}
		if b, err = encodeParams(params, &id); err != nil {
			t.Fatalf("refused with an identity: %v", err)
		}
		params["email"], params["signature"] = id.Identifier, id.Signature
		std, _ = json.Marshal(params)
		back, want = nil, nil
		require.NoError(t, json.Unmarshal(b, &back), "%s", b)
		require.NoError(t, json.Unmarshal(std, &want))
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("with identity: %s decodes to %v, want %v", b, back, want)
		}
	})
}
