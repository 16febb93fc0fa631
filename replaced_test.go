package prefinery

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeEntries returns every entry of the app's session store, by key.
func storeEntries(t *testing.T, sm *scs.SessionManager) map[string][]byte {
	t.Helper()
	all, err := sm.Store.(scs.IterableStore).All()
	require.NoError(t, err)
	return all
}

// sessionToken is the session cookie c holds for the app.
func (a *testApp) sessionToken(c *http.Client) string {
	u, _ := url.Parse(a.server.URL)
	for _, cookie := range c.Jar.Cookies(u) {
		if cookie.Name == a.sessions.Cookie.Name {
			return cookie.Value
		}
	}
	return ""
}

// TestIterateRevokesAfterLogouts: scs's own "sign this user out on every
// device" (Iterate over the store, Destroy her sessions) still works after
// any number of logouts and logins, and leaves the other users alone.
func TestIterateRevokesAfterLogouts(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	phone, laptop, bob := app.client(), app.client(), app.client()
	app.login(phone, "ada@example.com")
	app.login(laptop, "ada@example.com")
	app.login(bob, "bob@example.com")
	for range 5 { // logouts over signed-in, signed-out and never-saved sessions
		other := app.client()
		app.login(other, "cy@example.com")
		require.Equal(t, http.StatusOK, app.post(other, "/logout"))
		require.Equal(t, http.StatusOK, app.post(other, "/logout"))
		require.Equal(t, http.StatusOK, app.post(app.client(), "/logout"))
	}
	require.Equal(t, http.StatusOK, app.post(laptop, "/logout"))
	app.login(laptop, "ada@example.com")

	revoked := 0
	err := app.sessions.Iterate(context.Background(), func(ctx context.Context) error {
		if app.sessions.GetString(ctx, "prefinery.identifier") != "ada@example.com" {
			return nil
		}
		revoked++
		return app.sessions.Destroy(ctx)
	})
	require.NoError(t, err, "scs can decode every entry the kit left in the store")
	assert.Equal(t, 2, revoked, "ada's phone and laptop")
	for _, c := range []*http.Client{phone, laptop} {
		_, _, body := app.get(c, "/whoami")
		assert.Equal(t, "anonymous", body, "revoked on every device")
	}
	_, _, body := app.get(bob, "/whoami")
	assert.True(t, strings.HasPrefix(body, "email\tbob@example.com\t"), "bob keeps his session")
}

// TestSignedOutLogoutAddsNothing: a POST /logout with nobody signed in (1,500
// of them) leaves the session store as it was.
func TestSignedOutLogoutAddsNothing(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	app.login(app.client(), "ada@example.com")
	before := len(storeEntries(t, app.sessions))
	for range 1500 {
		require.Equal(t, http.StatusOK, app.post(app.client(), "/logout"))
	}
	assert.Equal(t, before, len(storeEntries(t, app.sessions)))
}

// recordingStore notes the expiry of every save, by key.
type recordingStore struct {
	scs.Store
	mu      sync.Mutex
	expires map[string]time.Time
}

func (s *recordingStore) Commit(key string, b []byte, expiry time.Time) error {
	s.mu.Lock()
	s.expires[key] = expiry
	s.mu.Unlock()
	return s.Store.Commit(key, b, expiry)
}

func (s *recordingStore) All() (map[string][]byte, error) { return s.Store.(scs.IterableStore).All() }

// TestReplacedSessionLivesAsLongAsTheSession: a session the app extended
// with SetDeadline ("remember me") is replaced for as long as it could live,
// not just scs's Lifetime, so a request in flight can never save it again.
func TestReplacedSessionLivesAsLongAsTheSession(t *testing.T) {
	t.Parallel()
	store := &recordingStore{expires: map[string]time.Time{}}
	app := newTestApp(t, func(c *Config) {
		store.Store = c.Sessions.Store
		c.Sessions.Store = store
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /remember", func(w http.ResponseWriter, r *http.Request) {
		app.sessions.SetDeadline(r.Context(), time.Now().Add(30*24*time.Hour))
	})
	mux.Handle("/", testMux(app.kit))
	app.server = httptest.NewServer(app.sessions.LoadAndSave(app.kit.Middleware(mux)))
	t.Cleanup(app.server.Close)

	c := app.client()
	app.login(c, "ada@example.com")
	require.Equal(t, http.StatusOK, app.post(c, "/remember"))
	old := app.sessionToken(c)
	require.Equal(t, http.StatusOK, app.post(c, "/logout"))

	store.mu.Lock()
	expiry, recorded := store.expires[old]
	store.mu.Unlock()
	require.True(t, recorded, "a record under the logged-out token")
	assert.WithinDuration(t, time.Now().Add(30*24*time.Hour), expiry, time.Minute, "as long as the remembered session")
	_, values, err := app.sessions.Codec.Decode(storeEntries(t, app.sessions)[old])
	require.NoError(t, err)
	assert.Equal(t, map[string]any{replacedKey: true}, values, "the record holds nothing of the user's")
}

// TestHashTokenInStoreIsKept: with HashTokenInStore, no raw session token
// becomes a store key, the kit's record included.
func TestHashTokenInStoreIsKept(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *Config) { c.Sessions.HashTokenInStore = true })
	c := app.client()
	app.login(c, "ada@example.com")
	old := app.sessionToken(c)
	require.Equal(t, http.StatusOK, app.post(c, "/logout"))
	app.login(c, "ada@example.com")
	entries := storeEntries(t, app.sessions)
	for key := range entries {
		assert.NotContains(t, key, old, "a raw token as a store key")
		assert.NotContains(t, key, app.sessionToken(c))
	}
	assert.Contains(t, entries, storeKey(app.sessions, old), "the record is under the hashed old token")
}

// TestReplacedSessionNotSavedAgain: a slow request that loaded the session
// before a logout, or before another user signed in over it, saves it after
// (it wrote to the session, or scs's IdleTimeout saves every request) and
// sends the old token back. The browser is not signed back in as the first
// user.
func TestReplacedSessionNotSavedAgain(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		idleTimeout time.Duration
		writes      bool
		then        string // "logout", or the user who signs in over the session
		renews      bool   // the slow handler renews the token itself (sm.RenewToken)
	}{
		{"logout, slow handler renews the token itself", 0, true, "logout", true},
		{"login over the session, slow handler renews the token itself", 0, true, "bob@example.com", true},
		{"logout, slow handler writes to the session", 0, true, "logout", false},
		{"logout, IdleTimeout saves every request", time.Hour, false, "logout", false},
		{"login over the session, slow handler writes", 0, true, "bob@example.com", false},
		{"login over the session, IdleTimeout", time.Hour, false, "bob@example.com", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := newTestApp(t, nil)
			app.sessions.IdleTimeout = tt.idleTimeout
			started, release := make(chan struct{}), make(chan struct{})
			mux := http.NewServeMux()
			mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
				close(started)
				<-release
				if tt.renews {
					assert.NoError(t, app.sessions.RenewToken(r.Context()))
				}
				if tt.writes {
					app.sessions.Put(r.Context(), "last-seen", time.Now().String())
				}
				_, _ = io.WriteString(w, "slow")
			})
			mux.Handle("/", testMux(app.kit))
			app.server = httptest.NewServer(app.sessions.LoadAndSave(app.kit.Middleware(mux)))
			t.Cleanup(app.server.Close)

			c := app.client()
			app.login(c, "alice@example.com")
			slowDone := make(chan struct{})
			go func() {
				defer close(slowDone)
				res, err := c.Get(app.server.URL + "/slow")
				if assert.NoError(t, err) {
					res.Body.Close()
				}
			}()
			<-started
			if tt.then == "logout" {
				require.Equal(t, http.StatusOK, app.post(c, "/logout"))
			} else {
				app.login(c, tt.then)
			}
			close(release)
			<-slowDone // the browser now holds the token the slow request sent back

			_, _, body := app.get(c, "/whoami")
			assert.NotContains(t, body, "alice@example.com", "the replaced token does not sign the browser back in")
			assert.NotContains(t, body, app.kit.Sign("alice@example.com"))
			assert.Contains(t, []string{"anonymous", "email\t" + tt.then + "\t" + app.kit.Sign(tt.then)}, body)
		})
	}
}

// countingStore counts the store calls scs and the kit make.
type countingStore struct {
	scs.Store
	finds, commits atomic.Int64
}

func (s *countingStore) Find(key string) ([]byte, bool, error) {
	s.finds.Add(1)
	return s.Store.Find(key)
}

func (s *countingStore) Commit(key string, b []byte, expiry time.Time) error {
	s.commits.Add(1)
	return s.Store.Commit(key, b, expiry)
}

func (s *countingStore) All() (map[string][]byte, error) { return s.Store.(scs.IterableStore).All() }

// TestReadsCostNoStoreCall: a signed-in page that reads the identity makes
// scs's one store read and nothing more; the kit's check runs only when the
// session is saved signed in (here: the app writes to it), as one more read.
// The app's SessionManager keeps the store it was given.
func TestReadsCostNoStoreCall(t *testing.T) {
	t.Parallel()
	store := &countingStore{}
	app := newTestApp(t, func(c *Config) {
		store.Store = c.Sessions.Store
		c.Sessions.Store = store
	})
	assert.Same(t, store, app.sessions.Store, "the kit does not wrap the app's store")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /note", func(w http.ResponseWriter, r *http.Request) {
		app.sessions.Put(r.Context(), "note", "x")
	})
	mux.Handle("/", testMux(app.kit))
	app.server = httptest.NewServer(app.sessions.LoadAndSave(app.kit.Middleware(mux)))
	t.Cleanup(app.server.Close)
	c := app.client()
	app.login(c, "ada@example.com")

	finds, commits := store.finds.Load(), store.commits.Load()
	for range 10 {
		_, _, body := app.get(c, "/whoami")
		require.Contains(t, body, "ada@example.com")
	}
	assert.Equal(t, int64(10), store.finds.Load()-finds, "one read per page: scs's own")
	assert.Equal(t, int64(0), store.commits.Load()-commits)

	finds = store.finds.Load()
	require.Equal(t, http.StatusOK, app.post(c, "/note"))
	assert.Equal(t, int64(2), store.finds.Load()-finds, "scs's read, and the kit's before the signed-in save")
}

// TestIdleTimeoutNeedsTheKitOnEveryRoute: with scs's IdleTimeout every
// request saves its session, so a slow request on a route behind LoadAndSave
// but outside kit.Middleware (an API group) saves the logged-out session
// back over the record, and the browser following its cookie is alice again:
// the kit cannot guard a save it never sees. The README's fix, kit.Middleware
// on every route behind LoadAndSave (it costs nothing where no identity is
// read), holds; the route outside it is the control that shows the break.
func TestIdleTimeoutNeedsTheKitOnEveryRoute(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name         string
		insideKit    bool
		signedInBack bool
	}{
		{"API route inside kit.Middleware (the fix)", true, false},
		{"API route outside kit.Middleware (control)", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app := newTestApp(t, nil)
			app.sessions.IdleTimeout = time.Hour
			body := logoutDuringSlowRequest(t, app, func(slow http.Handler) http.Handler {
				if tt.insideKit {
					return app.kit.Middleware(slow)
				}
				return slow
			})
			assert.Equal(t, tt.signedInBack, strings.Contains(body, "alice@example.com"), body)
		})
	}
}

// sealedCodec is an scs Codec that encrypts what gob writes (AES-GCM under
// a fixed test key): the kind of codec (encrypting, compressing) that hides
// the record's key from a byte search. Encryption hides it whatever the
// size; a compressor may store a small input as it is (Go 1.27's gzip does).
type sealedCodec struct{ aead cipher.AEAD }

func newSealedCodec(t *testing.T) sealedCodec {
	t.Helper()
	block, err := aes.NewCipher(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(t, err)
	return sealedCodec{aead}
}

func (c sealedCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	b, err := scs.GobCodec{}.Encode(deadline, values)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, c.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return c.aead.Seal(nonce, nonce, b, nil), nil
}

func (c sealedCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) < c.aead.NonceSize() {
		return time.Time{}, nil, errors.New("sealed session too short")
	}
	raw, err := c.aead.Open(nil, b[:c.aead.NonceSize()], b[c.aead.NonceSize():], nil)
	if err != nil {
		return time.Time{}, nil, err
	}
	return scs.GobCodec{}.Decode(raw)
}

// TestSealingCodecKeepsTheSaveCheck: with a codec that encrypts (or
// compresses) the stored session, the record's key is not in the stored bytes, yet the save
// check still finds the record (it decodes with the manager's codec), so a
// slow request that loaded the session before a logout does not sign the
// browser back in. The control is scs's own GobCodec.
func TestSealingCodecKeepsTheSaveCheck(t *testing.T) {
	t.Parallel()
	for _, codec := range []scs.Codec{newSealedCodec(t), scs.GobCodec{}} {
		t.Run(fmt.Sprintf("%T", codec), func(t *testing.T) {
			t.Parallel()
			app := newTestApp(t, func(c *Config) { c.Sessions.Codec = codec })
			app.sessions.IdleTimeout = time.Hour
			body := logoutDuringSlowRequest(t, app, app.kit.Middleware)
			entries := storeEntries(t, app.sessions)
			require.NotEmpty(t, entries, "the replaced-session records")
			for key, b := range entries {
				if _, sealed := codec.(sealedCodec); sealed {
					assert.NotContains(t, string(b), replacedKey, "sealed: no byte search finds %s", key)
				}
			}
			assert.Equal(t, "anonymous", body)
		})
	}
}

// logoutDuringSlowRequest signs alice in, starts GET /slow (served by slow,
// mounted by mount beside the test app's routes), logs out while it waits,
// lets it finish, and returns what /whoami says then: the browser follows the
// cookie the slow request sent back.
func logoutDuringSlowRequest(t *testing.T, app *testApp, mount func(slow http.Handler) http.Handler) string {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	top := http.NewServeMux()
	top.Handle("GET /slow", mount(slow))
	top.Handle("/", app.kit.Middleware(testMux(app.kit)))
	app.server = httptest.NewServer(app.sessions.LoadAndSave(top))
	t.Cleanup(app.server.Close)

	c := app.client()
	app.login(c, "alice@example.com")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := c.Get(app.server.URL + "/slow"); assert.NoError(t, err) {
			res.Body.Close()
		}
	}()
	<-started
	require.Equal(t, http.StatusOK, app.post(c, "/logout"))
	close(release)
	<-done
	_, _, body := app.get(c, "/whoami")
	return body
}
