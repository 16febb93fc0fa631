package prefinerytempl

import (
	"context"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/prefinerykit/prefinery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type userKey struct{}

func newKit(t *testing.T, nonce func(*http.Request) string) *prefinery.Kit {
	t.Helper()
	secret, err := prefinery.NewSecret("templ-test-secret-0123456789")
	require.NoError(t, err)
	kit, err := prefinery.New(prefinery.Config{Secret: secret, ProjectKey: "ab12cd34", Nonce: nonce,
		User: func(r *http.Request) (string, bool) { u, ok := r.Context().Value(userKey{}).(string); return u, ok }})
	require.NoError(t, err)
	return kit
}

// serve runs handler behind the kit's middleware for a signed-in user.
func serve(kit *prefinery.Kit, ctx context.Context, handler http.HandlerFunc) {
	req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(context.WithValue(ctx, userKey{}, "templ@example.com"))
	kit.Middleware(handler).ServeHTTP(httptest.NewRecorder(), req)
}

// TestComponentsMatchTheTemplateFunctions: each component renders what the
// template function of the same name renders, for the same request.
func TestComponentsMatchTheTemplateFunctions(t *testing.T) {
	kit := newKit(t, nil)
	p := For(kit)
	cases := []struct {
		component templ.Component
		text      string
	}{
		{p.Embed(), `{{prefineryEmbed .}}`},
		{p.Loader(), `{{prefineryLoader .}}`},
		{p.Authenticate(), `{{prefineryAuthenticate .}}`},
		{p.PopupReferralPage(), `{{prefineryPopupReferralPage .}}`},
		{p.EmbedReferralPage("referrals"), `{{prefineryEmbedReferralPage . "referrals"}}`},
		{p.GetUser("app.onUser"), `{{prefineryGetUser . "app.onUser"}}`},
		{p.AddUser(map[string]any{"first_name": "Zoë"}), `{{prefineryAddUser . (prefineryFields "first_name" "Zoë")}}`},
		{p.Call("triggerRewards", nil), `{{prefineryCall . "triggerRewards" nil}}`},
	}
	for _, tc := range cases {
		serve(kit, context.Background(), func(w http.ResponseWriter, r *http.Request) {
			var got strings.Builder
			require.NoError(t, tc.component.Render(r.Context(), &got), tc.text)
			var want strings.Builder
			require.NoError(t, template.Must(template.New("t").Funcs(kit.FuncMap()).Parse(tc.text)).Execute(&want, r))
			assert.Equal(t, want.String(), got.String(), tc.text)
			assert.Contains(t, got.String(), "<script", tc.text)
		})
	}
	assert.Error(t, p.EmbedReferralPage(`x" onload="alert(1)`).Render(context.Background(), &strings.Builder{}), "a bad dom_id is an error")
}

// TestTemplNonce: with Config.Nonce = Nonce, the scripts carry the nonce the
// app gave templ.
func TestTemplNonce(t *testing.T) {
	kit := newKit(t, Nonce)
	serve(kit, templ.WithNonce(context.Background(), "dGVtcGwtbm9uY2U"), func(w http.ResponseWriter, r *http.Request) {
		var got strings.Builder
		require.NoError(t, For(kit).Embed().Render(r.Context(), &got))
		assert.Equal(t, 3, strings.Count(got.String(), `nonce="dGVtcGwtbm9uY2U"`))
	})
}

// TestForNilKit: components of a nil Kit render an error, never panic.
func TestForNilKit(t *testing.T) {
	p := For(nil)
	for name, c := range map[string]templ.Component{
		"Embed": p.Embed(), "Loader": p.Loader(), "Authenticate": p.Authenticate(), "PopupReferralPage": p.PopupReferralPage(),
		"EmbedReferralPage": p.EmbedReferralPage("x"), "GetUser": p.GetUser("f"), "AddUser": p.AddUser(nil), "Call": p.Call("triggerRewards", nil),
	} {
		var b strings.Builder
		err := c.Render(context.Background(), &b)
		assert.ErrorContains(t, err, "nil *prefinery.Kit", name)
		assert.Empty(t, b.String(), name)
	}
}
