package prefinerytest_test

import (
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/prefinerytest"
)

// An app's test renders a page for a signed-in user and asks whom the page
// signs; SignedInAs checks the signature on the way. The body is what the
// app's func TestHomePage(t *testing.T) holds. An example has no test's t to
// give it, so this one is compiled, not run; TestSignedInAs in this package
// runs the same steps.
func ExampleSignedInAs() {
	var t *testing.T // the test's own t
	sessions := scs.New()
	kit := prefinerytest.New(t, prefinery.Config{Sessions: sessions})
	layout := template.Must(template.New("layout").Funcs(kit.FuncMap()).Parse(`<head>{{prefineryEmbed .}}</head>`))
	home := sessions.LoadAndSave(kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := kit.Login(r.Context(), "ada@example.com"); err != nil { // the app's sign-in, here in the page's request
			t.Fatal(err)
		}
		if err := layout.Execute(w, r); err != nil {
			t.Fatal(err)
		}
	})))

	rec := httptest.NewRecorder()
	home.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := prefinerytest.SignedInAs(t, rec.Body.String()); got != "ada@example.com" {
		t.Errorf("the page signs %q", got)
	}
}

// fixture is what an app's tests share, built once in TestMain.
var fixture struct{ kit *prefinery.Kit }

// A TestMain (or a test-app constructor shared by many tests) has no
// testing.TB to give New: NewKit returns the same test Kit and New's error.
// The function is what the app's func TestMain(m *testing.M) holds.
func ExampleNewKit() {
	var err error
	if fixture.kit, err = prefinerytest.NewKit(prefinery.Config{AutoInsert: true}); err != nil {
		log.Fatal(err) // names the Config field; no environment variable is needed
	}
	// os.Exit(m.Run())

	fmt.Println(fixture.kit.Sign("ada@example.com") != "")
	// Output: true
}

// An app whose auth middleware names the user to the kit (README row (b)),
// and whose tests render no signed-in page, checks its integration in one
// line: its auth middleware, run behind the kit, names the confirmed user.
// The Kit is the one the app's own code built with prefinery.New or MustNew:
// in a test binary that needs no environment. An example has no test's t, so
// this one is compiled, not run; TestSignedInAfter runs the same steps.
func ExampleSignedInAfter() {
	var t *testing.T // the test's own t

	kit := prefinery.MustNew(prefinery.Config{AutoInsert: true}) // as the app builds it
	authenticate := func(next http.Handler) http.Handler {       // the app's auth middleware
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "Token ada" {
				_ = kit.Login(r.Context(), "ada@example.com")
			}
			next.ServeHTTP(w, r)
		})
	}

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Token ada")
	if got := prefinerytest.SignedInAfter(t, kit, r, authenticate(http.NotFoundHandler()).ServeHTTP); got != "ada@example.com" {
		t.Errorf("the auth middleware signs in %q", got)
	}
}
