package prefinerygin_test

import (
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/testlog"
	"github.com/prefinerykit/prefinery/prefinerygin"
	"github.com/prefinerykit/prefinery/prefinerytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// userModel is the app's user record, as the RealWorld Conduit gin backend
// keeps it in gin's context.
type userModel struct {
	ID             uint
	Email          string
	EmailConfirmed bool
}

// accounts stands in for the app's JWT check and user table: the token in
// "Authorization: Token …" names the user.
var accounts = map[string]userModel{
	"amy-jwt": {ID: 1, Email: "amy@example.com", EmailConfirmed: true},
	"bob-jwt": {ID: 2, Email: "bob@example.com"}, // has not confirmed the address
}

// conduitAuth is the app's auth middleware in Conduit's shape: it always
// sets "my_user_model", the zero user when the request has no valid token,
// and lets the request on (the identity endpoint answers a signed-out
// request, and an SPA's preflight carries no token).
func conduitAuth(c *gin.Context) {
	user := accounts[strings.TrimPrefix(c.GetHeader("Authorization"), "Token ")]
	c.Set("my_user_model", user)
}

// confirmedEmail is the function prefinerygin.Login takes: the address of
// the user the auth middleware found, once confirmed; the zero user is
// nobody.
func confirmedEmail(c *gin.Context) (string, bool) {
	user, _ := c.MustGet("my_user_model").(userModel)
	return user.Email, user.ID != 0 && user.EmailConfirmed
}

// loginInAuth is an auth middleware that calls kit.Login itself, as the
// README's net/http and Echo blocks do; it works only inside the kit's
// middleware. ignore leaves out the error check.
func loginInAuth(kit *prefinery.Kit, ignore bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		conduitAuth(c)
		if email, ok := confirmedEmail(c); ok {
			if err := kit.Login(c.Request.Context(), email); err != nil && !ignore {
				_ = c.AbortWithError(http.StatusInternalServerError, err)
			}
		}
	}
}

// apiApp is a gin app of row (b): a Kit without Sessions or User, the page
// and the identity endpoint on the routes wire returns, after the
// middlewares wire adds. It returns the errors gin's chain recorded
// (c.Errors, what gin's Logger prints) and the kit's log.
func apiApp(t *testing.T, wire func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes) (*gin.Engine, *[]error, *testlog.Buffer) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	logger, logs := testlog.New()
	kit := prefinerytest.New(t, prefinery.Config{Logger: logger})
	var recorded []error
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		for _, e := range c.Errors {
			recorded = append(recorded, e.Err)
		}
	})
	r.SetHTMLTemplate(template.Must(template.New("page").Funcs(kit.FuncMap()).Parse(page)))
	routes := wire(r, kit)
	routes.GET("/", func(c *gin.Context) { prefinerygin.HTML(c, http.StatusOK, "page", gin.H{"Title": "home"}) })
	routes.Any("/prefinery/identity", prefinerygin.Handler(kit.IdentityHandler()))
	return r, &recorded, logs
}

// serve answers one request to path with token ("" for none).
func serve(r *gin.Engine, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	return rec
}

// TestLoginWhereverTheAuthRuns: with prefinerygin.Login after the kit's
// middleware and the app's auth, in either order and on a route group, the
// page signs the token's user and the endpoint answers their identity; no
// token, or an unconfirmed address, is signed out (401). The controls call
// kit.Login where it cannot work: from an auth middleware before the kit,
// with prefinerygin.Login before the kit, or with gin's context as the
// context; each fails with the kit's error naming the fix (a 500 where the
// error is checked), and nothing is ever signed with a wrong signature.
func TestLoginWhereverTheAuthRuns(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes
		// amyStatus is the page's status for amy's token; amySigned whom it
		// signs then; amyErr what the error gin recorded says ("": none).
		amyStatus int
		amySigned string
		amyErr    []string
	}{
		{
			name: "auth, kit, Login (gin's usual order)",
			wire: func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes {
				r.Use(conduitAuth, prefinerygin.Wrap(kit.Middleware), prefinerygin.Login(kit, confirmedEmail))
				return r
			},
			amyStatus: http.StatusOK, amySigned: "amy@example.com",
		},
		{
			name: "kit, auth, Login",
			wire: func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes {
				r.Use(prefinerygin.Wrap(kit.Middleware), conduitAuth, prefinerygin.Login(kit, confirmedEmail))
				return r
			},
			amyStatus: http.StatusOK, amySigned: "amy@example.com",
		},
		{
			name: "route group: auth, then kit and Login",
			wire: func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes {
				v1 := r.Group("/")
				v1.Use(conduitAuth)
				v1.Use(prefinerygin.Wrap(kit.Middleware), prefinerygin.Login(kit, confirmedEmail))
				return v1
			},
			amyStatus: http.StatusOK, amySigned: "amy@example.com",
		},
		{
			name: "control: the kit added after the route group was created",
			wire: func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes {
				v1 := r.Group("/") // a group copies the engine's middlewares now
				r.Use(prefinerygin.Wrap(kit.Middleware))
				v1.Use(conduitAuth, prefinerygin.Login(kit, confirmedEmail))
				return v1
			},
			amyStatus: http.StatusInternalServerError,
			amyErr:    []string{"prefinerygin.Login: ", "did not pass through kit.Middleware"},
		},
		{
			name: "control: auth calls kit.Login, before the kit",
			wire: func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes {
				r.Use(loginInAuth(kit, false), prefinerygin.Wrap(kit.Middleware))
				return r
			},
			amyStatus: http.StatusInternalServerError,
			amyErr:    []string{"did not pass through kit.Middleware", "call Login inside it"},
		},
		{
			name: "control: auth calls kit.Login before the kit, error ignored",
			wire: func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes {
				r.Use(loginInAuth(kit, true), prefinerygin.Wrap(kit.Middleware))
				return r
			},
			amyStatus: http.StatusOK, // signed out: the page signs nobody, not someone else
		},
		{
			name: "control: prefinerygin.Login before the kit",
			wire: func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes {
				r.Use(conduitAuth, prefinerygin.Login(kit, confirmedEmail), prefinerygin.Wrap(kit.Middleware))
				return r
			},
			amyStatus: http.StatusInternalServerError,
			amyErr:    []string{"prefinerygin.Login: ", "did not pass through kit.Middleware"},
		},
		{
			name: "control: kit.Login with gin's context, after the kit",
			wire: func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes {
				r.Use(prefinerygin.Wrap(kit.Middleware), conduitAuth, func(c *gin.Context) {
					if email, ok := confirmedEmail(c); ok {
						if err := kit.Login(c, email); err != nil { // c, not c.Request.Context()
							_ = c.AbortWithError(http.StatusInternalServerError, err)
						}
					}
				})
				return r
			},
			amyStatus: http.StatusInternalServerError,
			amyErr:    []string{"did not pass through kit.Middleware"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, recorded, logs := apiApp(t, tc.wire)

			res := serve(r, "/", "amy-jwt")
			require.Equal(t, tc.amyStatus, res.Code, res.Body.String())
			assert.Equal(t, tc.amySigned, prefinerytest.SignedInAs(t, res.Body.String()))
			if tc.amyErr == nil {
				assert.Empty(t, *recorded)
			} else {
				require.Len(t, *recorded, 1)
				assert.ErrorIs(t, (*recorded)[0], prefinery.ErrNoSession)
				for _, s := range tc.amyErr {
					assert.Contains(t, (*recorded)[0].Error(), s)
				}
				assert.Empty(t, res.Body.String(), "the error is for the logs, not the response")
			}
			res = serve(r, "/prefinery/identity", "amy-jwt")
			if tc.amyStatus == http.StatusOK {
				assert.Equal(t, tc.amySigned, prefinerytest.EndpointIdentity(t, res.Code, res.Body.Bytes()))
			} else {
				assert.Equal(t, tc.amyStatus, res.Code)
				assert.NotContains(t, res.Body.String(), "signature")
			}
			if tc.amySigned != "" {
				assert.Equal(t, "no-store", res.Header().Get("Cache-Control"))
				assert.NotContains(t, logs.String(), `"level":"ERROR"`)
			} else {
				assert.Equal(t, 1, strings.Count(logs.String(), `"level":"ERROR"`), "the kit logs the misplaced Login once: %s", logs.String())
			}

			for _, token := range []string{"", "forged-jwt", "bob-jwt"} { // signed out, and unconfirmed
				res = serve(r, "/", token)
				assert.Equal(t, http.StatusOK, res.Code)
				assert.Empty(t, prefinerytest.SignedInAs(t, res.Body.String()), token)
				res = serve(r, "/prefinery/identity", token)
				assert.Equal(t, http.StatusUnauthorized, res.Code, token)
				assert.NotContains(t, res.Body.String(), "signature")
			}
		})
	}
}

// TestLoginUserFunction: Login does nothing when the user function says
// nobody is signed in, aborts with 500 and the kit's error when it names an
// identifier the kit refuses (the zero user of an auth middleware taken for
// a user), and refuses a nil function when the route is built.
func TestLoginUserFunction(t *testing.T) {
	for _, tc := range []struct {
		name    string
		user    func(*gin.Context) (string, bool)
		status  int
		signed  string
		errIs   error
		errText string
	}{
		{name: "nobody", user: func(*gin.Context) (string, bool) { return "", false }, status: http.StatusOK},
		{name: "a user", user: func(*gin.Context) (string, bool) { return "amy@example.com", true }, status: http.StatusOK, signed: "amy@example.com"},
		{
			name:   "the zero user taken for a user",
			user:   func(c *gin.Context) (string, bool) { return c.MustGet("my_user_model").(userModel).Email, true },
			status: http.StatusInternalServerError, errIs: prefinery.ErrInvalidIdentifier, errText: "prefinerygin.Login: prefinery: invalid identifier: the identifier is empty",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, recorded, _ := apiApp(t, func(r *gin.Engine, kit *prefinery.Kit) gin.IRoutes {
				r.Use(conduitAuth, prefinerygin.Wrap(kit.Middleware), prefinerygin.Login(kit, tc.user))
				return r
			})
			res := serve(r, "/", "")
			assert.Equal(t, tc.status, res.Code)
			assert.Equal(t, tc.signed, prefinerytest.SignedInAs(t, res.Body.String()))
			if tc.errIs == nil {
				assert.Empty(t, *recorded)
				return
			}
			require.Len(t, *recorded, 1)
			assert.ErrorIs(t, (*recorded)[0], tc.errIs)
			assert.Contains(t, (*recorded)[0].Error(), tc.errText)
		})
	}
	assert.PanicsWithValue(t, "prefinerygin.Login: user is nil; pass the function that reads the signed-in user from gin's context",
		func() { prefinerygin.Login(prefinerytest.New(t, prefinery.Config{}), nil) })
}

// TestLoginAbortStopsTheChain: a request Login aborts (here: no kit's
// middleware at all) gets a bodiless 500; the handler after it never runs.
func TestLoginAbortStopsTheChain(t *testing.T) {
	gin.SetMode(gin.TestMode)
	logger, _ := testlog.New()
	kit := prefinerytest.New(t, prefinery.Config{Logger: logger})
	ran := false
	r := gin.New()
	r.Use(prefinerygin.Login(kit, func(*gin.Context) (string, bool) { return "amy@example.com", true }))
	r.GET("/", func(c *gin.Context) { ran = true; c.String(http.StatusOK, "page") })
	res := serve(r, "/", "")
	assert.Equal(t, http.StatusInternalServerError, res.Code)
	body, _ := io.ReadAll(res.Body)
	assert.Empty(t, body)
	assert.False(t, ran)
}
