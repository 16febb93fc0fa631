package prefinery

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referenceRender executes the template itself, as the compiled path claims to.
func referenceRender(t testing.TB, kit *Kit, tmpl int, r *http.Request) string {
	t.Helper()
	data := snippetData{Nonce: kit.validNonce(r)}
	if tmpl != authenticateTemplate {
		data.Src = kit.cfg.WidgetURL
		if r != nil && strings.HasPrefix(kit.cfg.WidgetURL, "/") {
			data.Src = kit.pageOrigin(r) + kit.cfg.WidgetURL
		}
	}
	if tmpl != loaderTemplate {
		if id, ok := kit.templateIdentity(r); ok {
			data.Identity = id
		} else if tmpl == authenticateTemplate {
			return ""
		}
	}
	var b strings.Builder
	require.NoError(t, snippets.ExecuteTemplate(&b, templateNames[tmpl], data))
	return b.String()
}

// TestCompiledMatchesTemplate checks the compiled snippets against executing
// html/template, for every template, kind, nonce alphabet and hostile identifier.
func TestCompiledMatchesTemplate(t *testing.T) {
	t.Parallel()
	nonces := []string{"", "abcXYZ0189", "a+b/c=", "++++", "-_-_", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=="}
	identifiers := append([]string{""}, hostileIdentifiers...)
	for _, kind := range []Kind{KindEmail, KindReferralCode, KindID} {
		for _, loader := range []string{"", "/static/w.js"} {
			for _, nonce := range nonces {
				kit := newKit(t, Config{}, func(c *Config) {
					c.Kind = kind
					c.Nonce = func(*http.Request) string { return nonce }
					if loader != "" {
						c.WidgetURL = loader
					}
				})
				for _, id := range identifiers {
					for tmpl := range templateCount {
						got := renderFor(t, kit, id, func(r *http.Request) string {
							h, err := kit.render(r, tmpl)
							require.NoError(t, err)
							return string(h)
						})
						want := renderFor(t, kit, id, func(r *http.Request) string { return referenceRender(t, kit, tmpl, r) })
						assert.Equal(t, want, got, "template %s, kind %s, nonce %q, identifier %q", templateNames[tmpl], kind, nonce, id)
					}
				}
			}
		}
	}
}

// TestCompiledCallsMatchTemplate: every compiled Web API call, with and
// without a nonce and a callback, and hostile field values, is byte for byte
// what executing the "call" template gives.
func TestCompiledCallsMatchTemplate(t *testing.T) {
	t.Parallel()
	fields := []map[string]any{
		nil,
		{"first_name": `Zoë </script><!-- "'`, "n": 3, "nested": map[string]any{"a": []any{"\u2028", true}}},
	}
	for _, nonce := range []string{"", "a+b/c=", "abc-_XYZ"} {
		kit := newKit(t, Config{Nonce: func(*http.Request) string { return nonce }})
		for name := range webAPICalls {
			for _, callback := range []string{"", "onUser", "app.$cb_1"} {
				for _, f := range fields {
					renderFor(t, kit, "amy@example.com", func(r *http.Request) string {
						got, err := kit.renderCall(r, name, f, callback, true)
						require.NoError(t, err)
						encoded, ok, err := kit.callParams(r, f, true)
						require.NoError(t, err)
						require.True(t, ok)
						data := callData{Nonce: kit.validNonce(r), Name: name, Params: encoded}
						if callback != "" {
							data.Callback = strings.Split(callback, ".")
						}
						var want strings.Builder
						require.NoError(t, snippets.ExecuteTemplate(&want, "call", data))
						assert.Equal(t, want.String(), string(got), "%s, nonce %q, callback %q", name, nonce, callback)
						return ""
					})
				}
			}
		}
	}
}
