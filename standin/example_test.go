package standin_test

import (
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/standin"
)

// In development, the app mounts the stand-in on its own origin and gives
// the kit the stand-in's loader; its pages then load the stand-in instead
// of Prefinery's widget. In a browser the stand-in's script reports each
// prefinery(…) call the page makes; here one POST does what it does, and
// Calls reads the call back.
func ExampleNew() {
	secret, err := prefinery.NewSecret(standin.DemoSecret) // a development secret only
	if err != nil {
		log.Fatal(err)
	}
	kit, err := prefinery.New(prefinery.Config{
		Secret:    secret,
		User:      func(*http.Request) (string, bool) { return "user@example.com", true },
		WidgetURL: standin.WidgetURL,
	})
	if err != nil {
		log.Fatal(err)
	}
	layout := template.Must(template.New("layout").Funcs(kit.FuncMap()).Parse(`<head>{{prefineryLoader .}}</head>`))
	widget := standin.New()
	widget.VerifyWith(secret) // the panel then says whether each signature verifies

	mux := http.NewServeMux()
	mux.Handle(standin.Path, widget)
	mux.Handle("GET /{$}", kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := layout.Execute(w, r); err != nil {
			http.Error(w, "template error", http.StatusInternalServerError)
		}
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	page := strings.ReplaceAll(get(srv.URL+"/"), srv.URL, "http://app.example") // the loader is absolute, on the page's host
	fmt.Println(strings.ReplaceAll(page, "</script>", "</script>\n"))
	report := fmt.Sprintf(`["authenticateUser",{"email":"user@example.com","signature":%q}]`, kit.Sign("user@example.com"))
	res, err := http.Post(srv.URL+standin.Path+"calls", "application/json", strings.NewReader(report))
	if err != nil {
		log.Fatal(err)
	}
	verdict, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Print(string(verdict))
	for _, call := range widget.Calls() {
		fmt.Println(call.Name, string(call.Args[0]))
	}
	// Output:
	// <head><script>prefinery=window.prefinery||function(){(window.prefinery.q=window.prefinery.q||[]).push(arguments)};</script>
	// <script src="http://app.example/prefinery-standin/widget.js" defer></script>
	// </head>
	// {"signature":"verified"}
	// authenticateUser {"email":"user@example.com","signature":"461c3c133291da859359008d6d7bd570ec34f3ea52dcf0b787e7ab7645d0e024"}
}

// get returns the body at u.
func get(u string) string {
	res, err := http.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		log.Fatal(err)
	}
	return string(b)
}
