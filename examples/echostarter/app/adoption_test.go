package app

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prefinerykit/prefinery/internal/frameworktest"
	"github.com/prefinerykit/prefinery/prefinerytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adoptionBudget is what adopting the kit may cost this app, in changed Go
// lines, login and logout included, no template edited.
const adoptionBudget = 12

// TestAdoption states how the app adopted the kit (before/ is the same app
// before): the user its auth middleware keeps in Echo's context goes to the
// kit in one line, kit.Login; no template changed (AutoInsert).
func TestAdoption(t *testing.T) {
	frameworktest.AdoptionWithin(t, "../before", ".", adoptionBudget)
}

// TestAdoptedApp: signed in, the page signs the confirmed address; an
// unconfirmed one is never signed; logout clears the browser's cache and the
// page signs nobody.
func TestAdoptedApp(t *testing.T) {
	t.Setenv("PREFINERY_IDENTITY_SECRET", prefinerytest.SecretText)
	t.Setenv("PREFINERY_PROJECT_KEY", "ab12cd34")
	e, err := New(&User{Email: "ada@example.com", EmailConfirmed: true, Password: "pw"}, &User{Email: "eve@example.com", Password: "pw"})
	require.NoError(t, err)
	srv := httptest.NewServer(e)
	defer srv.Close()
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar}
	}
	page := func(c *http.Client) string {
		res, err := c.Get(srv.URL + "/")
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	login := func(c *http.Client, email string) {
		res, err := c.PostForm(srv.URL+"/login", url.Values{"email": {email}, "password": {"pw"}})
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
	}

	ada := browser()
	assert.Empty(t, prefinerytest.SignedInAs(t, page(ada)))
	login(ada, "ada@example.com")
	assert.Equal(t, "ada@example.com", prefinerytest.SignedInAs(t, page(ada)))

	eve := browser()
	login(eve, "eve@example.com")
	assert.Empty(t, prefinerytest.SignedInAs(t, page(eve)), "an unconfirmed address is never signed")

	res, err := ada.PostForm(srv.URL+"/logout", nil)
	require.NoError(t, err)
	res.Body.Close()
	require.NotNil(t, res.Request.Response)
	assert.Equal(t, `"cache"`, res.Request.Response.Header.Get("Clear-Site-Data"))
	assert.Empty(t, prefinerytest.SignedInAs(t, page(ada)), "nothing signed after logout")
}
