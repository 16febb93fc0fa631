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
