package e2e

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"
	"github.com/prefinerykit/prefinery"
	echoserver "github.com/prefinerykit/prefinery/examples/echo/server"
	ginserver "github.com/prefinerykit/prefinery/examples/gin/server"
	templserver "github.com/prefinerykit/prefinery/examples/templ/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowserFrameworks drives the Echo, gin and templ examples in Chromium:
// sign in through the form, the widget (the stand-in) receives the user's
// authenticateUser (and, in the templ page, renders the referral page),
// nothing after logout.
func TestBrowserFrameworks(t *testing.T) {
	h := newHarness(t)
	widget := standInServer(t)
	secret, err := prefinery.NewSecret(secretText)
	require.NoError(t, err)
	gin.SetMode(gin.ReleaseMode)
	echoApp, err := echoserver.New(secret, widget)
	require.NoError(t, err)
	ginApp, err := ginserver.New(secret, widget)
	require.NoError(t, err)
	templApp, err := templserver.New(secret, widget)
	require.NoError(t, err)
	for name, handler := range map[string]http.Handler{"echo": echoApp, "gin": ginApp, "templ": templApp} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(handler)
			defer srv.Close()
			ctx := h.newUser()
			email := name + "@example.com"
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(srv.URL+"/"),
				chromedp.WaitVisible(chromedp.ID("email")),
				chromedp.SendKeys(chromedp.ID("email"), email),
				chromedp.Click(chromedp.ID("login-submit")),
				chromedp.WaitVisible(chromedp.ID("who")),
			))
			auth := h.authCalls(ctx)
			require.Len(t, auth, 1)
			assert.Equal(t, map[string]string{"email": email, "signature": sign(email)}, auth[0])
			if name == "templ" {
				referral, err := chromedp.Run(ctx, chromedp.Poll[string](`(e => e && e.textContent)(document.querySelector("#referrals .prefinery-standin-referral-page"))`))
				require.NoError(t, err)
				assert.Equal(t, "Referral page for "+email+" (offline stand-in)", referral)
			}
			require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("email"))))
			assert.Empty(t, h.authCalls(ctx), "nothing after logout")
			assert.Empty(t, h.violations(ctx))
		})
	}
}
