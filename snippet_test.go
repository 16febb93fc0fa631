package prefinery

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// renderFor renders the kit's helpers for a request whose signed-in user is
// identifier ("" for nobody), through the real middleware.
func renderFor(t testing.TB, kit *Kit, identifier string, render func(r *http.Request) string) string {
	t.Helper()
	var out string
	h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { out = render(r) }))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if identifier != "" {
		req = req.WithContext(context.WithValue(req.Context(), ctxUserKey{}, identifier))
	}
	h.ServeHTTP(httptest.NewRecorder(), req)
	return out
}

// userFromContext is a Config.User for tests: the identifier planted by renderFor.
func userFromContext(r *http.Request) (string, bool) {
	u, ok := r.Context().Value(ctxUserKey{}).(string)
	return u, ok
}

func embedOf(kit *Kit) func(r *http.Request) string {
	return func(r *http.Request) string {
		h, err := kit.embed(r)
		if err != nil {
			return "error: " + err.Error()
		}
		return string(h)
	}
}

func TestEmbedGolden(t *testing.T) {
	t.Parallel()
	nonce := func(*http.Request) string { return "rAnd0mN0nce+/=" }
	tests := []struct {
		golden     string
		edit       func(*Config)
		identifier string
		render     func(k *Kit) func(*http.Request) string
	}{
		{"anonymous", nil, "", embedOf},
		{"signed-in-email", nil, "alice@example.com", embedOf},
		{"signed-in-referral_code", func(c *Config) { c.Kind = KindReferralCode }, "REF123", embedOf},
		{"signed-in-id", func(c *Config) { c.Kind = KindID }, "4242", embedOf},
		{"nonce-anonymous", func(c *Config) { c.Nonce = nonce }, "", embedOf},
		{"nonce-signed-in", func(c *Config) { c.Nonce = nonce }, "alice@example.com", embedOf},
		{"widget-url", func(c *Config) { c.WidgetURL = "/static/prefinery-standin.js" }, "alice@example.com", embedOf},
		{"authenticate-only", func(c *Config) { c.Nonce = nonce }, "alice@example.com", func(k *Kit) func(*http.Request) string {
			return func(r *http.Request) string { html, _ := k.authenticate(r); return string(html) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			kit := newKit(t, Config{}, tt.edit)
			got := renderFor(t, kit, tt.identifier, tt.render(kit)) + "\n"
			path := filepath.Join("testdata", "golden", tt.golden+".html")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
}

func TestSnippetHelpersSignedOut(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	out := renderFor(t, kit, "", func(r *http.Request) string {
		html, err := kit.authenticate(r)
		assert.NoError(t, err)
		return string(html) + "|" + kit.signature(r) + "|" + kit.identifierOf(r)
	})
	assert.Equal(t, "||", out, "nothing about a user when nobody is signed in")
	embed := renderFor(t, kit, "", embedOf(kit))
	assert.NotContains(t, embed, "authenticateUser", "never an empty authenticateUser call")
	assert.Contains(t, embed, stubJS)
}

func TestEmbedWithoutLoader(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{EndpointOnly: true}, func(c *Config) { c.ProjectKey = "" })
	_, err := kit.embed(httptest.NewRequest(http.MethodGet, "/", nil))
	assert.ErrorIs(t, err, errNoLoader)
	assert.ErrorContains(t, err, "Config.ProjectKey")
}

func TestNonceValidation(t *testing.T) {
	t.Parallel()
	tests := []struct{ nonce, want string }{
		{"abc123XYZ", `nonce="abc123XYZ"`},
		{"a-b_c", `nonce="a-b_c"`},
		{`x" onload="alert(1)`, ""},
		{"<script>", ""},
		{"abc=def", ""},
		{strings.Repeat("a", 257), ""},
	}
	for _, tt := range tests {
		t.Run(tt.nonce, func(t *testing.T) {
			logger, logs := testLogger()
			kit := newKit(t, Config{}, func(c *Config) {
				c.Nonce = func(*http.Request) string { return tt.nonce }
				c.Logger = logger
			})
			out := renderFor(t, kit, "a@b.c", embedOf(kit))
			if tt.want != "" {
				assert.Equal(t, 3, strings.Count(out, tt.want), "every script carries the nonce")
				return
			}
			assert.NotContains(t, out, "nonce=", "an invalid nonce is dropped")
			assert.NotContains(t, out, "onload")
			assert.Contains(t, logs.String(), "not base64")
			assert.NotContains(t, logs.String(), tt.nonce[:3], "the rejected value is not logged")
		})
	}
}

func TestFuncMapInTemplate(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{Nonce: func(*http.Request) string { return "n0nce" }})
	page := template.Must(template.New("page").Funcs(kit.FuncMap()).Parse(
		`<head>{{prefineryEmbed .}}</head><script nonce="{{prefineryNonce .}}">` +
			`prefinery('getUser', {email: '{{prefineryIdentifier .}}', signature: '{{prefinerySignature .}}'}, cb);</script>`))
	out := renderFor(t, kit, "o'neil@example.com", func(r *http.Request) string {
		var b bytes.Buffer
		require.NoError(t, page.Execute(&b, r))
		return b.String()
	})
	sig := kit.Sign("o'neil@example.com")
	assert.Contains(t, out, `signature: '`+sig+`'`)
	assert.Contains(t, out, `email: 'o\u0027neil@example.com'`, "the identifier is escaped for a JS string")
	assert.Contains(t, out, `prefinery('authenticateUser', {"email":"o'neil@example.com","signature":"`+sig+`"});`)

	bad := template.Must(template.New("bad").Funcs(kit.FuncMap()).Parse(`{{prefineryEmbed "not a request"}}`))
	err := bad.Execute(&bytes.Buffer{}, nil)
	require.Error(t, err, "a wrong argument is a template error, not a panic")
	assert.Contains(t, err.Error(), "*http.Request")
}

func TestStubCSPSource(t *testing.T) {
	t.Parallel()
	assert.Regexp(t, `^'sha256-[A-Za-z0-9+/]{43}='$`, StubCSPSource())
	kit := newKit(t, Config{})
	assert.Contains(t, renderFor(t, kit, "", embedOf(kit)), ">"+stubJS+"</script>", "the hashed text is what is rendered")
}

// hostileIdentifiers must reach prefinery() unchanged and run nothing else.
var hostileIdentifiers = []string{
	`a"b@x.com`,
	`a'b@x.com`,
	`</script><script>window.pwned=1</script>@x.com`,
	`</SCRIPT ><script>window.pwned=1</script>`,
	`x@y.com<!--`,
	`<!--<script>`,
	"line\u2028para\u2029@x.com",
	"back`tick${window.pwned=1}@x.com",
	`\"};window.pwned=1;//`,
	`\u0022});window.pwned=1;//`,
	`]]></script>`,
	"emoji 🎉👩‍👩‍👧@x.com",
	strings.Repeat("ü", 150) + "@x.com",
	strings.Repeat("k", 320),
}

// inlineScripts parses rendered HTML and returns the inline script bodies, in order.
func inlineScripts(t testing.TB, page string) (inline []string, srcs []string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "script" {
			continue
		}
		src := ""
		for _, a := range n.Attr {
			if a.Key == "src" {
				src = a.Val
			}
		}
		if src != "" {
			srcs = append(srcs, src)
			continue
		}
		var body strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			body.WriteString(c.Data)
		}
		inline = append(inline, body.String())
	}
	return inline, srcs
}

type nodeResult struct {
	Calls [][]any `json:"calls"`
	Pwned any     `json:"pwned"`
	Error string  `json:"error"`
}

// runInNode executes each page's inline scripts in Node with Prefinery's stub.
func runInNode(t *testing.T, pages [][]string) []nodeResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: install Node.js to run the rendered scripts in a JS engine (.ci/run does)")
	}
	in, err := json.Marshal(pages)
	require.NoError(t, err)
	cmd := exec.Command(node, "testdata/node/run-scripts.js")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	require.NoError(t, err)
	var results []nodeResult
	require.NoError(t, json.Unmarshal(out, &results))
	require.Len(t, results, len(pages))
	return results
}

// TestHostileIdentifiersInNode renders each hostile identifier and runs the
// result in Node: the authenticateUser call receives the identifier byte for
// byte and nothing else runs.
func TestHostileIdentifiersInNode(t *testing.T) {
	t.Parallel()
	// 1 KiB of mixed text: over the default limit, so this kit raises it.
	identifiers := append(slices.Clone(hostileIdentifiers), strings.Repeat("</script>ü🎉\u2028'\"", 64)[:1024])
	for _, kind := range []Kind{KindEmail, KindReferralCode} {
		kit := newKit(t, Config{Kind: kind, MaxIdentifierLength: 2048})
		var pages [][]string
		for _, id := range identifiers {
			page := "<!doctype html><html><head>" + renderFor(t, kit, id, embedOf(kit)) + "</head><body></body></html>"
			inline, srcs := inlineScripts(t, page)
			require.Len(t, inline, 2, "stub and authenticateUser, nothing else, for %q", id)
			require.Equal(t, []string{kit.cfg.WidgetURL}, srcs)
			pages = append(pages, inline)
		}
		for i, res := range runInNode(t, pages) {
			id := identifiers[i]
			assert.Empty(t, res.Error, "%q", id)
			assert.Nil(t, res.Pwned, "%q ran code", id)
			require.Len(t, res.Calls, 1, "%q", id)
			require.Len(t, res.Calls[0], 2)
			assert.Equal(t, "authenticateUser", res.Calls[0][0])
			params, ok := res.Calls[0][1].(map[string]any)
			require.True(t, ok)
			assert.Equal(t, map[string]any{string(kind): id, "signature": kit.Sign(id)}, params, "%q", id)
		}
	}
}

// TestPlantedIdentityNeverRendersScripts: an identity planted with
// WithIdentity whose signature is not 64 lowercase hex characters is an error
// in every helper, and nothing is rendered.
func TestPlantedIdentityNeverRendersScripts(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	for _, sig := range []string{`</script><script>alert(1)</script>`, strings.Repeat("A", 64), strings.Repeat("a", 63), ""} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req = req.WithContext(kit.WithIdentity(req.Context(), Identity{Kind: KindEmail, Identifier: "a@b.c", Signature: sig}))
		html, err := kit.embed(req)
		assert.ErrorIs(t, err, ErrInvalidIdentifier, "%q", sig)
		assert.Empty(t, html)
		html, err = kit.authenticate(req)
		assert.ErrorIs(t, err, ErrInvalidIdentifier)
		assert.Empty(t, html)
		tmpl := template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(`<head>{{prefineryEmbed .}}</head>`))
		var out strings.Builder
		assert.Error(t, tmpl.Execute(&out, req), "the template stops")
		assert.NotContains(t, out.String(), "<script", "nothing of the snippet went out")
	}
}
