package prefinerygin_test

import (
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/prefinerygin"
)

// A gin app with the kit: scs's LoadAndSave and the kit's middleware as gin
// handlers, the kit's template functions for gin's HTML rendering, pages
// rendered with HTML (which hands the templates .Request), and the identity
// endpoint for scripts. An app with template files calls r.LoadHTMLGlob
// after r.SetFuncMap instead of building the template by hand.
func ExampleWrap() {
	gin.SetMode(gin.ReleaseMode) // no route listing on stdout
	sessions := scs.New()
	kit, err := prefinery.New(prefinery.Config{
		Secret:     exampleSecret(),
		Sessions:   sessions,
		ProjectKey: "ab12cd34",
	})
	if err != nil {
		log.Fatal(err)
	}
	r := gin.New()
	r.Use(prefinerygin.Wrap(sessions.LoadAndSave), prefinerygin.Wrap(kit.Middleware))
	r.SetFuncMap(kit.FuncMap())
	r.SetHTMLTemplate(template.Must(template.New("home.html").Funcs(kit.FuncMap()).Parse(
		`<head>{{prefineryEmbed .Request}}</head><body>{{.Title}}</body>`)))
	r.GET("/", func(c *gin.Context) { prefinerygin.HTML(c, http.StatusOK, "home.html", gin.H{"Title": "Home"}) })
	r.GET("/prefinery/identity", prefinerygin.Handler(kit.IdentityHandler()))
	r.POST("/login", func(c *gin.Context) {
		// ... check the password, then:
		if err := kit.Login(c.Request.Context(), "user@example.com"); err != nil {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		c.Redirect(http.StatusSeeOther, "/")
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	home, _ := get(browser, srv.URL+"/")
	fmt.Println("signed out, the page authenticates:", strings.Contains(home, "authenticateUser"))
	if _, err := browser.PostForm(srv.URL+"/login", url.Values{}); err != nil {
		log.Fatal(err)
	}
	home, res := get(browser, srv.URL+"/")
	fmt.Println("signed in, the page authenticates:", strings.Contains(home, "authenticateUser"), res.Header.Get("Cache-Control"))
	identity, _ := get(browser, srv.URL+"/prefinery/identity")
	fmt.Print(identity)
	// Output:
	// signed out, the page authenticates: false
	// signed in, the page authenticates: true no-store
	// {"email":"user@example.com","signature":"77a363130290d42d905b3300cb9fa49b7f484e56300157c899a538ca5bca12b3"}
}

// An API app whose auth middleware reads the JWT in "Authorization: Token
// …" and keeps the user in gin's context (the RealWorld Conduit backend's
// shape), and runs before the kit's middleware, as gin apps usually order
// them. kit.Login works only inside the kit's middleware, so the auth
// middleware, unchanged, cannot call it: Login goes after both, reads what
// the auth middleware left and names that user to the kit. The Kit has
// neither Sessions nor User: the user is the auth middleware's.
func ExampleLogin() {
	gin.SetMode(gin.ReleaseMode) // no route listing on stdout
	kit, err := prefinery.New(prefinery.Config{Secret: exampleSecret(), ProjectKey: "ab12cd34"})
	if err != nil {
		log.Fatal(err)
	}
	auth := func(c *gin.Context) { // the app's, as it was
		if c.GetHeader("Authorization") == "Token amys-jwt" { // … the app's JWT check
			c.Set("my_user_model", exampleUser{ID: 1, Email: "amy@example.com", EmailConfirmed: true})
		}
	}
	r := gin.New()
	r.Use(auth)
	r.Use(prefinerygin.Wrap(kit.Middleware), prefinerygin.Login(kit, func(c *gin.Context) (string, bool) {
		v, _ := c.Get("my_user_model")
		user, _ := v.(exampleUser)
		return user.Email, user.ID != 0 && user.EmailConfirmed // nobody, or an unconfirmed address: not signed
	}))
	r.Any("/prefinery/identity", prefinerygin.Handler(kit.IdentityHandler())) // every method: the kit answers OPTIONS and 405 itself
	srv := httptest.NewServer(r)
	defer srv.Close()

	for _, token := range []string{"amys-jwt", ""} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/prefinery/identity", nil)
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(res.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 {"email":"amy@example.com","signature":"45cbaed1cb6ee91c2b2043cc7c9dd7ec21cfd19b5629b6cf11c603c099e61c61"}
	// 401 {"error":"not signed in"}
}

// exampleUser is the app's user record, as its auth middleware keeps it.
type exampleUser struct {
	ID             uint
	Email          string
	EmailConfirmed bool
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

// get returns the body at u, and the response.
func get(c *http.Client, u string) (string, *http.Response) {
	res, err := c.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		log.Fatal(err)
	}
	return string(b), res
}
