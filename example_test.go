package prefinery_test

import (
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"
	"github.com/prefinerykit/prefinery"
)

// The vendor's documentation example: the signature Prefinery expects for an
// identifier under the project's secret.
func ExampleNewSigner() {
	signer, err := prefinery.NewSigner("aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw")
	if err != nil {
		log.Fatal(err)
	}
	sig := signer.Sign("user@example.com")
	fmt.Println(len(sig), signer.Verify("user@example.com", sig), signer.Verify("other@example.com", sig))
	// Output: 64 true false
}

// A secret that is missing or too short fails early, with an error that says
// where the secret comes from and never repeats it.
func ExampleNewSigner_invalidSecret() {
	_, err := prefinery.NewSigner("changeme")
	fmt.Println(err)
	// Output: prefinery: invalid Identity Verification Secret: the secret is 8 bytes, shorter than the minimum of 16; copy the whole Identity Verification Secret from Prefinery's project settings
}

// AppendSign writes into a caller's buffer without allocating.
func ExampleSigner_AppendSign() {
	signer, err := prefinery.NewSigner("aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw")
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 0, 128)
	buf = append(buf, "signature="...)
	buf = signer.AppendSign(buf, "user@example.com")
	fmt.Println(len(buf))
	// Output: 74
}

// Wiring the kit into an app: scs sessions, the kit's middleware chained with
// alice, Login in the login handler, and the identity in a handler.
func ExampleKit_Middleware() {
	sessions := scs.New()
	kit, err := prefinery.New(prefinery.Config{
		Secret:   "aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw",
		Sessions: sessions,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... check the password, then:
		if err := kit.Login(r.Context(), "user@example.com"); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		id, ok := prefinery.FromRequest(r)
		if !ok {
			fmt.Fprintln(w, "signed out")
			return
		}
		fmt.Fprintln(w, id.Kind, id.Value, len(id.Signature))
	})
	srv := httptest.NewServer(alice.New(sessions.LoadAndSave, kit.Middleware).Then(mux))
	defer srv.Close()

	client := newBrowser()
	fmt.Print(get(client, srv.URL+"/whoami"))
	if _, err := client.PostForm(srv.URL+"/login", url.Values{}); err != nil {
		log.Fatal(err)
	}
	fmt.Print(get(client, srv.URL+"/whoami"))
	// Output:
	// signed out
	// email user@example.com 64
}

// One line in the layout renders Prefinery's embed snippet and, for a
// signed-in user, the authenticateUser call, with the page's CSP nonce.
func ExampleKit_FuncMap() {
	kit, err := prefinery.New(prefinery.Config{
		Secret:     "aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw",
		User:       func(*http.Request) (string, bool) { return "user@example.com", true },
		ProjectKey: "ab12cd34",
		Nonce:      func(*http.Request) string { return "cmFuZG9t" },
	})
	if err != nil {
		log.Fatal(err)
	}
	layout := template.Must(template.New("layout").Funcs(kit.FuncMap()).Parse(
		`<head>{{prefineryEmbed .}}</head>`))
	page := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := layout.Execute(w, r); err != nil {
			http.Error(w, "template error", http.StatusInternalServerError)
		}
	}))
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(strings.ReplaceAll(rec.Body.String(), "</script>", "</script>\n"))
	// Output:
	// <head><script nonce="cmFuZG9t">prefinery=window.prefinery||function(){(window.prefinery.q=window.prefinery.q||[]).push(arguments)};</script>
	// <script nonce="cmFuZG9t" src="https://widget.prefinery.com/widget/v2/ab12cd34.js" defer></script>
	// <script nonce="cmFuZG9t">prefinery('authenticateUser', {"email":"user@example.com","signature":"77a363130290d42d905b3300cb9fa49b7f484e56300157c899a538ca5bca12b3"});</script>
	// </head>
}

// A single-page app fetches its identity from the endpoint.
func ExampleKit_IdentityHandler() {
	kit, err := prefinery.New(prefinery.Config{
		Secret: "aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw",
		User:   func(*http.Request) (string, bool) { return "user@example.com", true },
	})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	kit.IdentityHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/prefinery/identity", nil))
	fmt.Println(rec.Code, rec.Header().Get("Cache-Control"))
	fmt.Print(rec.Body.String())
	// Output:
	// 200 no-store
	// {"email":"user@example.com","signature":"77a363130290d42d905b3300cb9fa49b7f484e56300157c899a538ca5bca12b3"}
}

// Secrets are loaded from the environment (or a file), never from source code.
func ExampleSecretFromEnv() {
	os.Setenv("PREFINERY_IDENTITY_SECRET", "aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw\n")
	secret, err := prefinery.SecretFromEnv("PREFINERY_IDENTITY_SECRET")
	fmt.Println(len(secret), err)
	// Output: 44 <nil>
}

// newBrowser is an HTTP client that keeps cookies, like one browser.
func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// get returns the body at u.
func get(c *http.Client, u string) string {
	res, err := c.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
