package redisreplay

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const oldText, newText = "whsec-redis-old-0123456789abcdef", "whsec-redis-new-0123456789abcdef"

func mustSecret(t *testing.T, text string) prefinery.Secret {
	s, err := prefinery.NewSecret(text)
	require.NoError(t, err)
	return s
}

// deliver posts body signed with each of signers (one v1 entry each) now,
// and returns the status.
func deliver(t *testing.T, url, body string, signers ...prefinery.Secret) int {
	t.Helper()
	header, at := "", time.Now()
	for _, s := range signers {
		h, err := webhook.Sign(s, at, []byte(body))
		require.NoError(t, err)
		if header == "" {
			header = h
		} else {
			header += h[strings.Index(h, ",v1="):]
		}
	}
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set(webhook.Header, header)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// instance runs a webhook handler with secrets on the store.
func instance(t *testing.T, store webhook.ReplayStore, handle func(context.Context, webhook.Delivery) error, secrets ...prefinery.Secret) *httptest.Server {
	h, err := webhook.NewHandler(webhook.Config{Secrets: secrets, Replays: store, Handle: handle})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestWebhookHandlerOnRedis: two instances in a rolling rotation (A knows
// the old and the new secret, B only the new one) sharing Redis process a
// delivery once, whichever signature verifies and wherever a copy lands;
// while Redis is down deliveries are answered 429 (retried), never processed
// twice.
func TestWebhookHandlerOnRedis(t *testing.T) {
	r := startRedis(t)
	bin, _ := exec.LookPath("redis-server")
	pool := r.pool()
	defer pool.Close()
	oldSecret, newSecret := mustSecret(t, oldText), mustSecret(t, newText)
	var calls atomic.Int64
	handle := func(context.Context, webhook.Delivery) error { calls.Add(1); return nil }
	a := instance(t, New(pool), handle, oldSecret, newSecret)
	b := instance(t, New(pool), handle, newSecret)

	assert.Equal(t, http.StatusOK, deliver(t, a.URL, `{"n":1}`, oldSecret, newSecret))
	assert.Equal(t, http.StatusOK, deliver(t, b.URL, `{"n":1}`, oldSecret, newSecret), "the copy on the other instance")
	assert.Equal(t, http.StatusOK, deliver(t, a.URL, `{"n":1}`, newSecret), "replayed with an entry removed")
	for range 5 {
		body := `{"n":` + time.Now().Format(time.RFC3339Nano) + `}`
		assert.Equal(t, http.StatusOK, deliver(t, a.URL, body, oldSecret, newSecret))
		assert.Equal(t, http.StatusOK, deliver(t, b.URL, body, oldSecret, newSecret))
	}
	assert.Equal(t, int64(6), calls.Load(), "processed once each across instances and secret lists")

	r.stop()
	assert.Equal(t, http.StatusTooManyRequests, deliver(t, a.URL, `{"n":2}`, newSecret), "Redis down: retried later")
	r.start(bin)
	assert.Equal(t, http.StatusOK, deliver(t, b.URL, `{"n":2}`, newSecret))
	assert.Equal(t, int64(7), calls.Load())
}

// shortLease is the Redis store with the claims' lease shortened, so a test
// sees a lost release lapse in a second rather than Budget + 30 s.
type shortLease struct{ *Store }

const shortLeaseDuration = 500 * time.Millisecond

func (s shortLease) Begin(ctx context.Context, key string, _ time.Duration) (webhook.Status, error) {
	return s.Store.Begin(ctx, key, shortLeaseDuration)
}

// TestRedisDiesWhileHandleFails: the app's work fails because Redis died,
// so the claim cannot be released; the delivery is answered 429. After Redis
// restarts (append-only file), the retry is not answered "already received"
// and dropped: once the claim lapses, it is processed.
func TestRedisDiesWhileHandleFails(t *testing.T) {
	r := startRedis(t)
	bin, _ := exec.LookPath("redis-server")
	pool := r.pool()
	defer pool.Close()
	secret := mustSecret(t, newText)
	var attempts, processed atomic.Int64
	srv := instance(t, shortLease{New(pool)}, func(context.Context, webhook.Delivery) error {
		if attempts.Add(1) == 1 {
			r.stop() // the app's database shares Redis's fate
			return errors.New("redis: connection refused")
		}
		processed.Add(1)
		return nil
	}, secret)
	body := `{"event":"reward_earned","id":9}`
	assert.Equal(t, http.StatusTooManyRequests, deliver(t, srv.URL, body, secret))
	r.start(bin)
	var status int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if status = deliver(t, srv.URL, body, secret); status != http.StatusTooManyRequests {
			break
		}
	}
	assert.Equal(t, http.StatusOK, status, "processed once the lost release's claim lapsed")
	assert.Equal(t, int64(1), processed.Load())
	assert.Equal(t, http.StatusOK, deliver(t, srv.URL, body, secret))
	assert.Equal(t, int64(1), processed.Load(), "and then never again")
}
