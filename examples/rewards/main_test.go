package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/sqlreplay"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testApp runs the app on SQLite in a temporary file, or on
// REWARDS_TEST_DATABASE_URL (a fresh PostgreSQL or MariaDB database).
func testApp(t *testing.T) (*httptest.Server, prefinery.Secret) {
	t.Helper()
	url := os.Getenv("REWARDS_TEST_DATABASE_URL")
	if url == "" {
		url = "sqlite:" + filepath.Join(t.TempDir(), "rewards.db")
	}
	db, dialect, err := openDatabase(url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	secret, err := prefinery.NewSecret(demoSecret)
	require.NoError(t, err)
	a, err := newApp(context.Background(), db, dialect, secret)
	require.NoError(t, err)
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return srv, secret
}

// post delivers body signed at at, as Prefinery would.
func post(t *testing.T, srv *httptest.Server, secret prefinery.Secret, body string, at time.Time) (int, string) {
	t.Helper()
	header, err := webhook.Sign(secret, at, []byte(body))
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/prefinery", strings.NewReader(body))
	req.Header.Set(webhook.Header, header)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b))
}

func points(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	res, err := http.Get(srv.URL + "/points")
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return strings.TrimSpace(string(b))
}

// TestGrantsOnce: a delivery grants its points once, whatever the copies;
// another delivery for the same e-mail adds to them; one that names no
// e-mail grants nothing.
func TestGrantsOnce(t *testing.T) {
	srv, secret := testApp(t)
	at := time.Now()
	first := `{"event":"tester_created","data":{"id":1,"email":"ada@example.com"}}`
	code, body := post(t, srv, secret, first, at)
	assert.Equal(t, []any{200, `{"status":"received"}`}, []any{code, body})
	code, body = post(t, srv, secret, first, at)
	assert.Equal(t, []any{200, `{"status":"already received"}`}, []any{code, body}, "a copy")
	code, _ = post(t, srv, secret, `{"event":"tester_updated","email":"ada@example.com"}`, at)
	assert.Equal(t, 200, code)
	code, _ = post(t, srv, secret, `{"event":"tester_created"}`, at)
	assert.Equal(t, 200, code, "no e-mail: accepted, nothing granted")
	assert.JSONEq(t, `{"ada@example.com":20}`, points(t, srv))
}

// TestConcurrentCopies: 20 copies of one delivery at once, each retried on
// 429 as Prefinery would: every copy is answered 200 in the end, and the
// points are granted once.
func TestConcurrentCopies(t *testing.T) {
	srv, secret := testApp(t)
	at := time.Now()
	body := `{"event":"reward_delivered","data":{"email":"grace@example.com"}}`
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for try := 0; try < 100; try++ {
				code, _ := post(t, srv, secret, body, at)
				if code == http.StatusOK {
					return
				}
				assert.Equal(t, http.StatusTooManyRequests, code)
				time.Sleep(20 * time.Millisecond)
			}
			t.Error("never accepted")
		})
	}
	wg.Wait()
	assert.JSONEq(t, `{"grace@example.com":10}`, points(t, srv))
}

// TestOpenDatabase: DATABASE_URL picks the driver and the dialect.
func TestOpenDatabase(t *testing.T) {
	for url, want := range map[string]sqlreplay.Dialect{
		"":                                  sqlreplay.SQLite,
		"sqlite:" + t.TempDir() + "/x.db":   sqlreplay.SQLite,
		"postgres://app@127.0.0.1:5432/app": sqlreplay.Postgres,
		"mysql://app:pw@127.0.0.1:3306/app": sqlreplay.MariaDB,
	} {
		db, dialect, err := openDatabase(url)
		require.NoError(t, err, url)
		db.Close()
		assert.Equal(t, want, dialect, url)
	}
	_, _, err := openDatabase("redis://127.0.0.1")
	assert.Error(t, err)
}

func TestRecipient(t *testing.T) {
	assert.Equal(t, "a@example.com", recipient([]byte(`{"email":"a@example.com"}`)))
	assert.Equal(t, "b@example.com", recipient([]byte(`{"event":"x","tester":{"email":"b@example.com"}}`)))
	assert.Equal(t, "", recipient([]byte(`{"event":"x"}`)))
	assert.Equal(t, "", recipient([]byte(`not json`)))
}
