package prefinerytempl_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/a-h/templ"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/prefinerytempl"
)

// The components of one Kit, rendered where a .templ file puts them:
// <head>@p.Embed()</head> in the layout, and @p.EmbedReferralPage("referrals")
// after the element the referral page fills. templ hands each component the
// request's context, which the kit's middleware filled; here the page is
// written out by hand, as templ's generated code writes it.
func ExampleFor() {
	kit, err := prefinery.New(prefinery.Config{
		Secret:     exampleSecret(),
		User:       func(*http.Request) (string, bool) { return "user@example.com", true },
		ProjectKey: "ab12cd34",
	})
	if err != nil {
		log.Fatal(err)
	}
	p := prefinerytempl.For(kit) // pass p to the components, or keep it in a package variable

	page := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		io.WriteString(w, "<head>")
		if err := p.Embed().Render(ctx, w); err != nil {
			return err
		}
		io.WriteString(w, `</head><body><div id="referrals"></div>`)
		if err := p.EmbedReferralPage("referrals").Render(ctx, w); err != nil {
			return err
		}
		_, err := io.WriteString(w, "</body>")
		return err
	})
	handler := kit.Middleware(templ.Handler(page))

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(strings.ReplaceAll(rec.Body.String(), "</script>", "</script>\n"))
	// Output:
	// <head><script>prefinery=window.prefinery||function(){(window.prefinery.q=window.prefinery.q||[]).push(arguments)};</script>
	// <script src="https://widget.prefinery.com/widget/v2/ab12cd34.js" defer></script>
	// <script hx-history="false" data-turbo-temporary>prefinery('authenticateUser', {"email":"user@example.com","signature":"77a363130290d42d905b3300cb9fa49b7f484e56300157c899a538ca5bca12b3"});</script>
	// </head><body><div id="referrals"></div><script hx-history="false" data-turbo-temporary>prefinery("embedReferralPage", {"dom_id":"referrals","email":"user@example.com","signature":"77a363130290d42d905b3300cb9fa49b7f484e56300157c899a538ca5bca12b3"});</script>
	// </body>
}

// An app whose own middleware gives templ a nonce (templ.WithNonce) sets
// Config.Nonce to Nonce, and the kit's scripts carry that nonce.
func ExampleNonce() {
	kit, err := prefinery.New(prefinery.Config{
		Secret:     exampleSecret(),
		ProjectKey: "ab12cd34",
		Nonce:      prefinerytempl.Nonce,
	})
	if err != nil {
		log.Fatal(err)
	}
	// The app's CSP middleware: a fresh nonce per request in a real app.
	withNonce := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nonce := "dGVtcGwtbm9uY2U"
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+nonce+"'")
			next.ServeHTTP(w, r.WithContext(templ.WithNonce(r.Context(), nonce)))
		})
	}
	handler := withNonce(kit.Middleware(templ.Handler(prefinerytempl.For(kit).Loader())))

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(strings.ReplaceAll(rec.Body.String(), "</script>", "</script>\n"))
	// Output:
	// <script nonce="dGVtcGwtbm9uY2U">prefinery=window.prefinery||function(){(window.prefinery.q=window.prefinery.q||[]).push(arguments)};</script>
	// <script nonce="dGVtcGwtbm9uY2U" src="https://widget.prefinery.com/widget/v2/ab12cd34.js" defer></script>
}

// exampleSecret is the vendor documentation's example secret; an app loads
// its own with prefinery.SecretFromEnv.
func exampleSecret() prefinery.Secret {
	secret, err := prefinery.NewSecret("aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw")
	if err != nil {
		log.Fatal(err)
	}
	return secret
}
