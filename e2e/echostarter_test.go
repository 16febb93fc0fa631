package e2e

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	echostarter "github.com/prefinerykit/prefinery/examples/echostarter/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowserEchoStarter: the Echo app whose user lives in Echo's context
// (no scs), adopted in 12 lines: signed in through its form, the widget gets
// the confirmed address and its signature, with no CSP violation; the
// logout response carries Clear-Site-Data and nothing is signed after.
func TestBrowserEchoStarter(t *testing.T) {
	h := newHarness(t)
	t.Setenv("PREFINERY_IDENTITY_SECRET", secretText)
	t.Setenv("PREFINERY_PROJECT_KEY", "ab12cd34")
	e, err := echostarter.New(&echostarter.User{Email: "ada@example.com", EmailConfirmed: true, Password: "pw"})
	require.NoError(t, err)
	srv := httptest.NewServer(e)
	defer srv.Close()
	ctx := h.newUser()
	interceptWidget(t, ctx)
	clearSiteData := redirectHeader(t, ctx, "Clear-Site-Data")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "pw"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("who")),
	))
	auth := h.authCalls(ctx)
	require.Len(t, auth, 1)
	assert.Equal(t, map[string]string{"email": "ada@example.com", "signature": sign("ada@example.com")}, auth[0])
	assert.Empty(t, h.violations(ctx))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("email"))))
	select {
	case v := <-clearSiteData:
		assert.Equal(t, `"cache"`, v)
	case <-time.After(5 * time.Second):
		t.Error("no Clear-Site-Data on the logout response")
	}
	calls, err := chromedp.Run(ctx, chromedp.Poll[string](`document.readyState === "complete" && window.prefineryCalls && JSON.stringify(window.prefineryCalls)`))
	require.NoError(t, err)
	assert.NotContains(t, calls, "authenticateUser", "nothing signed after logout")
}
