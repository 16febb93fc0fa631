package prefinery

import (
	"encoding/json"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var callScript = regexp.MustCompile(`^<script hx-history="false" data-turbo-temporary>prefinery\("(\w+)", (\{.*?\})(, function \(result\) \{ (\[.*?\])\.reduce\(function \(o, k\) \{ return o\[k\]; \}, window\)\(result\); \})?\);</script>$`)

// renderTemplate executes a template using the kit's functions for identifier.
func renderTemplate(t *testing.T, kit *Kit, identifier, text string, data any) (string, error) {
	t.Helper()
	tmpl := template.Must(template.New("t").Funcs(kit.FuncMap()).Parse(text))
	var out string
	var err error
	renderFor(t, kit, identifier, func(r *http.Request) string {
		var b strings.Builder
		err = tmpl.Execute(&b, map[string]any{"Request": r, "Data": data})
		out = b.String()
		return out
	})
	return out, err
}

func TestCompleteCalls(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	const amy = "amy@example.com"
	sig := kit.Sign(amy)
	tests := []struct {
		name, text string
		data       any
		wantCall   string
		wantParams map[string]any
		wantPath   string
	}{
		{"embedReferralPage", `{{prefineryEmbedReferralPage .Request "referrals"}}`, nil,
			"embedReferralPage", map[string]any{"email": amy, "signature": sig, "dom_id": "referrals"}, ""},
		{"popupReferralPage", `{{prefineryPopupReferralPage .Request}}`, nil,
			"popupReferralPage", map[string]any{"email": amy, "signature": sig}, ""},
		{"getUser", `{{prefineryGetUser .Request "app.onUser"}}`, nil,
			"getUser", map[string]any{"email": amy, "signature": sig}, `["app","onUser"]`},
		{"addUser signed", `{{prefineryAddUser .Request (prefineryFields "first_name" .Data "utm_source" "news")}}`, "Zoë </script><!--",
			"addUser", map[string]any{"email": amy, "signature": sig, "first_name": "Zoë </script><!--", "utm_source": "news"}, ""},
		{"generic call", `{{prefineryCall .Request "triggerRewards" nil}}`, nil,
			"triggerRewards", map[string]any{"email": amy, "signature": sig}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := renderTemplate(t, kit, amy, tt.text, tt.data)
			require.NoError(t, err)
			for _, c := range []byte(out) {
				require.Less(t, c, byte(0x80), "ASCII only: %s", out)
			}
			m := callScript.FindStringSubmatch(out)
			require.NotNil(t, m, "one whole call: %s", out)
			assert.Equal(t, tt.wantCall, m[1])
			var params map[string]any
			require.NoError(t, json.Unmarshal([]byte(m[2]), &params))
			assert.Equal(t, tt.wantParams, params)
			assert.Equal(t, tt.wantPath, m[4])
			assert.Equal(t, 1, strings.Count(out, "<script"), "no field breaks out of the script")
		})
	}
}

func TestCompleteCallsSignedOut(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	for _, text := range []string{
		`{{prefineryEmbedReferralPage .Request "referrals"}}`,
		`{{prefineryPopupReferralPage .Request}}`,
		`{{prefineryGetUser .Request "onUser"}}`,
		`{{prefineryCall .Request "getReferralCode" nil}}`,
	} {
		out, err := renderTemplate(t, kit, "", text, nil)
		require.NoError(t, err)
		assert.Empty(t, out, "%s renders nothing for nobody", text)
	}
	out, err := renderTemplate(t, kit, "", `{{prefineryAddUser .Request (prefineryFields "email" "new@example.com")}}`, nil)
	require.NoError(t, err)
	m := callScript.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.JSONEq(t, `{"email":"new@example.com"}`, m[2], "a signup form's addUser is unsigned")
}

func TestCompleteCallsRefuse(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	for _, text := range []string{
		`{{prefineryEmbedReferralPage .Request "x\" onload=\"alert(1)"}}`,
		`{{prefineryEmbedReferralPage .Request ""}}`,
		`{{prefineryGetUser .Request "alert(1)//"}}`,
		`{{prefineryGetUser .Request "a..b"}}`,
		`{{prefineryCall .Request "eval" nil}}`,
		`{{prefineryCall .Request "authenticateUser" nil}}`,
		`{{prefineryAddUser .Request (prefineryFields "email" "someone.else@example.com")}}`,
		`{{prefineryAddUser .Request (prefineryFields "email")}}`,
		`{{prefineryAddUser .Request (prefineryFields "first_name" "Zo\xeb")}}`, // Latin-1, not UTF-8
	} {
		out, err := renderTemplate(t, kit, "amy@example.com", text, nil)
		assert.Error(t, err, text)
		assert.NotContains(t, out, "<script", "%s renders nothing", text)
	}
}
