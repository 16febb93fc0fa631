package prefinery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Fuzz targets; seed corpora live in testdata/fuzz/<Target>/. Run one with
//
//	go test -run '^$' -fuzz '^FuzzEmbed$' -fuzztime 30s .

// FuzzSign checks Sign against crypto/hmac, for any secret and identifier.
func FuzzSign(f *testing.F) {
	f.Add(vendorSecret, "user@example.com")
	f.Add("secret", "Message")
	f.Add(strings.Repeat("k", 65), "")
	f.Fuzz(func(t *testing.T, secret, identifier string) {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(identifier))
		want := hex.EncodeToString(mac.Sum(nil))
		s := newSigner(secret)
		if got := s.Sign(identifier); got != want {
			t.Fatalf("Sign(%q) under %d-byte secret = %s, want %s", identifier, len(secret), got, want)
		}
		if got := string(s.AppendSign([]byte("prefix:"), identifier)); got != "prefix:"+want {
			t.Fatalf("AppendSign = %s", got)
		}
	})
}

// FuzzVerify: a signature verifies for its own identifier only, arbitrary
// input never panics, and Verify accepts only the signature up to hex case.
func FuzzVerify(f *testing.F) {
	f.Add("user@example.com", "other@example.com", "not a signature")
	f.Add("a", "A", strings.Repeat("0", 64))
	f.Add("", "\x00", strings.Repeat("é", 32))
	s, err := NewSigner(vendorSecret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, identifier, other, candidate string) {
		sig := s.Sign(identifier)
		if !s.Verify(identifier, sig) || !s.Verify(identifier, strings.ToUpper(sig)) {
			t.Fatalf("own signature of %q rejected", identifier)
		}
		if other != identifier && s.Verify(other, sig) {
			t.Fatalf("signature of %q accepted for %q", identifier, other)
		}
		if s.Verify(identifier, candidate) && !strings.EqualFold(candidate, sig) {
			t.Fatalf("Verify accepted %q for %q", candidate, identifier)
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
	kit := newSnippetKit(f, func(c *Config) { c.Nonce = func(*http.Request) string { return "bm9uY2U+/w==" } })
	f.Fuzz(func(t *testing.T, identifier string) {
		page := renderFor(t, kit, identifier, embedOf(kit))
		reference := renderFor(t, kit, identifier, func(r *http.Request) string { return referenceRender(t, kit, embedTemplate, r) })
		if page != reference {
			t.Fatalf("compiled output differs from html/template:\n%s\n%s", page, reference)
		}
		inline, srcs := inlineScripts(t, "<!doctype html><html><head>"+page+"</head><body></body></html>")
		if len(srcs) != 1 || srcs[0] != kit.loaderURL {
			t.Fatalf("loader scripts %q", srcs)
		}
		if len(inline) == 0 || inline[0] != stubJS {
			t.Fatalf("first script is not the stub: %q", inline)
		}
		if identifierProblem(identifier, kit.maxLen) != "" {
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
