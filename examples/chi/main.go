// Command chi shows the kit mounted in a chi router with chi's own middleware
// chain: kit.Middleware is a plain func(http.Handler) http.Handler, so it goes
// into r.Use like any chi middleware. Run it from this directory:
//
//	go run .
package main

import (
	"html/template"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/standin"
)

const pageHTML = `<!doctype html><html><head>{{prefineryEmbed .}}</head>
<body>{{with prefineryIdentifier .}}Signed in as {{.}}. <form method="post" action="/logout"><button>Sign out</button></form>
{{else}}<form method="post" action="/login"><input name="email"><button>Sign in</button></form>{{end}}</body></html>`

// newRouter wires scs, the kit and the routes into a chi router.
func newRouter(secret prefinery.Secret) (http.Handler, error) {
	sessions := scs.New()
	kit, err := prefinery.New(prefinery.Config{Secret: secret, Sessions: sessions, ProjectKey: "ab12cd34"})
	if err != nil {
		return nil, err
	}
	sessions.ErrorFunc = kit.SessionErrorFunc
	page := template.Must(template.New("page").Funcs(kit.FuncMap()).Parse(pageHTML))

	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Recoverer, sessions.LoadAndSave, kit.Middleware)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		if err := page.Execute(w, r); err != nil {
			http.Error(w, "internal server error", http.StatusInternalServerError)
		}
	})
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := kit.Login(r.Context(), r.PostFormValue("email")); err != nil {
			http.Error(w, "cannot sign in with that address", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
		_ = kit.Logout(r.Context())
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	r.Method(http.MethodGet, "/prefinery/identity", kit.IdentityHandler())
	return http.NewCrossOriginProtection().Handler(r), nil
}

func main() {
	secret, err := prefinery.SecretFromEnv("PREFINERY_IDENTITY_SECRET")
	if _, set := os.LookupEnv("PREFINERY_IDENTITY_SECRET"); !set {
		log.Print("PREFINERY_IDENTITY_SECRET is not set: using a DEMO secret Prefinery will reject")
		secret, err = prefinery.NewSecret(standin.DemoSecret)
	}
	if err != nil {
		log.Fatal(err)
	}
	router, err := newRouter(secret)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: router, ReadHeaderTimeout: 5 * time.Second}
	log.Print("chi example: open http://127.0.0.1:8081/")
	log.Fatal(srv.ListenAndServe())
}
