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

// A Secret never prints: not in logs, errors, JSON, or a struct holding it.
// Here it comes from a string for the sake of the example; load real ones
// with SecretFromEnv or SecretFromFile.
func ExampleNewSecret() {
	secret, err := prefinery.NewSecret("aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw")
	if err != nil {
		log.Fatal(err)
	}
	cfg := prefinery.Config{Secret: secret, ProjectKey: "ab12cd34"}
	fmt.Printf("%v\n%+v\n", secret, cfg.Secret)
	// Output:
	// [redacted]
	// [redacted]
}

// A secret that is unusable fails early, with an error that names the problem
// and never repeats the secret.
func ExampleNewSecret_invalid() {
	_, err := prefinery.NewSecret("aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw\n")
	fmt.Println(err)
	_, err = prefinery.NewSecret("changeme")
	fmt.Println(err)
	// Output:
	// prefinery: invalid secret: the secret ends with a line break (written by echo without -n?); copy it again from Prefinery's project settings
	// prefinery: invalid secret: the secret is 8 bytes, shorter than the minimum of 16; copy it again from Prefinery's project settings
}

// Sign gives the signature for code outside a request, such as a mailer.
func ExampleKit_Sign() {
	secret, _ := prefinery.NewSecret("aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw")
	kit, err := prefinery.New(prefinery.Config{Secret: secret, Sessions: scs.New(), EndpointOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(kit.Sign("user@example.com"))
	// Output: 77a363130290d42d905b3300cb9fa49b7f484e56300157c899a538ca5bca12b3
}

// Wiring the kit into an app: scs sessions, the kit's middleware chained with
// alice, Login in the login handler, and the identity in a handler.
func ExampleKit_Middleware() {
	sessions := scs.New()
	kit, err := prefinery.New(prefinery.Config{
		Secret:     exampleSecret(),
		Sessions:   sessions,
		ProjectKey: "ab12cd34",
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
		id, ok := kit.Identity(r.Context())
		if !ok {
			fmt.Fprintln(w, "signed out")
			return
		}
		fmt.Fprintln(w, id.Kind, id.Identifier, len(id.Signature))
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
		Secret:     exampleSecret(),
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
	// <script nonce="cmFuZG9t" hx-history="false" data-turbo-temporary>prefinery('authenticateUser', {"email":"user@example.com","signature":"77a363130290d42d905b3300cb9fa49b7f484e56300157c899a538ca5bca12b3"});</script>
	// </head>
}

// A single-page app fetches its identity from the endpoint.
func ExampleKit_IdentityHandler() {
	kit, err := prefinery.New(prefinery.Config{
		Secret:       exampleSecret(),
		User:         func(*http.Request) (string, bool) { return "user@example.com", true },
		EndpointOnly: true, // a single-page app loads Prefinery's snippet itself
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
	os.Setenv("PREFINERY_IDENTITY_SECRET", "aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw")
	secret, err := prefinery.SecretFromEnv("PREFINERY_IDENTITY_SECRET")
	fmt.Println(secret, err)
	// Output: [redacted] <nil>
}

// exampleSecret is the vendor documentation's example secret.
func exampleSecret() prefinery.Secret {
	secret, err := prefinery.NewSecret("aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw")
	if err != nil {
		log.Fatal(err)
	}
	return secret
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
