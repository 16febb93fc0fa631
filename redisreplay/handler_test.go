package redisreplay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWebhookHandlerOnRedis: two instances of the webhook handler sharing
// Redis process a delivery once; a replay is acknowledged; while Redis is down
// deliveries are answered 429 (retried), never processed twice.
func TestWebhookHandlerOnRedis(t *testing.T) {
	r := startRedis(t)
	bin, _ := exec.LookPath("redis-server")
	pool := r.pool()
	defer pool.Close()
	secret, err := prefinery.NewSecret("whsec-redis-0123456789abcdef")
	require.NoError(t, err)
	var calls atomic.Int64
	var instances []*httptest.Server
	for range 2 {
		h, err := webhook.NewHandler(webhook.Config{
			Secrets: []prefinery.Secret{secret},
			Replays: New(pool),
			Handle:  func(context.Context, []byte) error { calls.Add(1); return nil },
		})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		defer srv.Close()
		instances = append(instances, srv)
	}
	deliver := func(url, body string) int {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte("whsec-redis-0123456789abcdef"))
		mac.Write([]byte(ts + "." + body))
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("X-Prefinery-Signature", "t="+ts+",v1="+hex.EncodeToString(mac.Sum(nil)))
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusOK, deliver(instances[0].URL, `{"n":1}`))
	assert.Equal(t, http.StatusOK, deliver(instances[1].URL, `{"n":1}`), "the replay on the other instance")
	assert.Equal(t, int64(1), calls.Load(), "processed once across instances")

	r.stop()
	assert.Equal(t, http.StatusTooManyRequests, deliver(instances[0].URL, `{"n":2}`), "Redis down: retried later")
	r.start(bin)
	assert.Equal(t, http.StatusOK, deliver(instances[1].URL, `{"n":2}`))
	assert.Equal(t, int64(2), calls.Load())
}
