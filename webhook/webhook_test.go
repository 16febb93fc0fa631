package webhook

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/secret"
	"github.com/prefinerykit/prefinery/internal/testlog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const webhookSecretText = "whsec-test-0123456789abcdefghij"

var webhookSecret = mustSecret(webhookSecretText)

// signDelivery signs body at t the way Prefinery documents it, with
// crypto/hmac used the textbook way (independent of the kit's signing).
func signDelivery(secret string, t int64, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(t, 10) + "." + body))
	return hex.EncodeToString(mac.Sum(nil))
}

func TestVerifyWebhookVendorFormat(t *testing.T) {
	t.Parallel()
	now := time.Unix(1612540400, 0)
	body := `{"event":"tester_created"}`
	header := "t=1612540400,v1=" + signDelivery(webhookSecretText, 1612540400, body)
	require.NoError(t, Verify(header, []byte(body), now, 5*time.Minute, webhookSecret))
	// A rotation: either secret verifies; several v1 entries, any may match.
	old := mustSecret("whsec-old-0123456789abcdefghij")
	require.NoError(t, Verify(header, []byte(body), now, 5*time.Minute, old, webhookSecret))
	two := "t=1612540400,v1=" + strings.Repeat("0", 64) + ",v1=" + signDelivery(webhookSecretText, 1612540400, body)
	require.NoError(t, Verify(two, []byte(body), now, 5*time.Minute, webhookSecret))
	assert.Equal(t, signDelivery(webhookSecretText, 1612540400, body), func() string {
		var sum [32]byte
		secret.Of(webhookSecret).MAC(&sum, []byte(body), "1612540400", ".")
		return hex.EncodeToString(sum[:])
	}(), "the kit's HMAC equals the textbook one")
}

func TestVerifyWebhookRefuses(t *testing.T) {
	t.Parallel()
	const ts = 1700000000
	now := time.Unix(ts, 0)
	body := `{"event":"tester_applied","id":1}`
	good := signDelivery(webhookSecretText, ts, body)
	tests := []struct{ name, header, body, want string }{
		{"missing t", "v1=" + good, body, "no timestamp"},
		{"duplicate t", "t=" + strconv.Itoa(ts) + ",t=" + strconv.Itoa(ts) + ",v1=" + good, body, "more than one timestamp"},
		{"v0 only (downgrade)", "t=" + strconv.Itoa(ts) + ",v0=" + good, body, "no well-formed v1 signature"},
		{"v1 not hex", "t=" + strconv.Itoa(ts) + ",v1=" + strings.Repeat("z", 64), body, "no well-formed v1 signature"},
		{"v1 short", "t=" + strconv.Itoa(ts) + ",v1=" + good[:63], body, "no well-formed v1 signature"},
		{"v1 uppercase", "t=" + strconv.Itoa(ts) + ",v1=" + strings.ToUpper(good), body, "no well-formed v1 signature"},
		{"huge header", "t=" + strconv.Itoa(ts) + ",v1=" + good + strings.Repeat(",x=y", 2000), body, "over"},
		{"whitespace", "t=" + strconv.Itoa(ts) + ", v1=" + good, body, "no well-formed v1 signature"},
		{"negative timestamp", "t=-" + strconv.Itoa(ts) + ",v1=" + good, body, "not unix seconds"},
		{"overflowing timestamp", "t=99999999999999999999999,v1=" + good, body, "out of range"},
		{"old timestamp", "t=" + strconv.Itoa(ts-301) + ",v1=" + signDelivery(webhookSecretText, ts-301, body), body, "over the tolerance"},
		{"future timestamp", "t=" + strconv.Itoa(ts+301) + ",v1=" + signDelivery(webhookSecretText, ts+301, body), body, "over the tolerance"},
		{"body changed by one byte", "t=" + strconv.Itoa(ts) + ",v1=" + good, body[:len(body)-2] + "2}", "no v1 signature matches"},
		{"other secret", "t=" + strconv.Itoa(ts) + ",v1=" + signDelivery("whsec-other-0123456789abcdef", ts, body), body, "no v1 signature matches"},
		{"empty", "", body, "without '='"},
		{"empty timestamp", "t=,v1=" + good, body, "timestamp is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.header, []byte(tt.body), now, 5*time.Minute, webhookSecret)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), webhookSecretText[:10])
			assert.NotContains(t, err.Error(), "tester_applied", "the body is never in an error")
		})
	}
	assert.ErrorIs(t, Verify("t=1,v1="+good, nil, now, time.Minute), ErrInvalid, "no secrets")
}

// webhookServer runs a handler whose clock is now, over a real server.
func webhookServer(t *testing.T, cfg Config, now time.Time) (*httptest.Server, *syncBuffer) {
	t.Helper()
	logger, logs := testLogger()
	cfg.Logger = logger
	if cfg.Secrets == nil {
		cfg.Secrets = []prefinery.Secret{webhookSecret}
	}
	h, err := NewHandler(cfg)
	require.NoError(t, err)
	h.(*handler).now = func() time.Time { return now }
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, logs
}

// deliver POSTs body signed at ts and returns the status and response body.
func deliver(t *testing.T, url string, ts int64, body, header string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	if header == "" {
		header = "t=" + strconv.FormatInt(ts, 10) + ",v1=" + signDelivery(webhookSecretText, ts, body)
	}
	req.Header.Set("X-Prefinery-Signature", header)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestWebhookHandlerAcknowledges(t *testing.T) {
	// Not parallel: it depends on timing.
	const ts = 1700000000
	now := time.Unix(ts, 0)
	tests := []struct {
		name   string
		handle func(context.Context, Delivery) error
		want   int
	}{
		{"accepted", func(context.Context, Delivery) error { return nil }, http.StatusOK},
		{"database hiccup: retried", func(context.Context, Delivery) error { return errors.New("db down") }, http.StatusTooManyRequests},
		{"panic: retried", func(context.Context, Delivery) error { panic("boom") }, http.StatusTooManyRequests},
		// A Handle cut off by its context returns the context's error, as I/O
		// does. (One that returned nil there would have succeeded, and a 200
		// is then as right as a 429: the two timers race.)
		{"too slow: retried", func(ctx context.Context, _ Delivery) error { <-ctx.Done(); return ctx.Err() }, http.StatusTooManyRequests},
		{"too slow, ignoring its context: retried", func(context.Context, Delivery) error { time.Sleep(200 * time.Millisecond); return nil }, http.StatusTooManyRequests},
		{"explicit unsubscribe", func(context.Context, Delivery) error { return fmt.Errorf("gone: %w", ErrUnsubscribe) }, http.StatusGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, logs := webhookServer(t, Config{Handle: tt.handle, Budget: 50 * time.Millisecond}, now)
			status, body := deliver(t, srv.URL, ts, `{"event":"reward_earned"}`, "")
			assert.Equal(t, tt.want, status, body)
			assert.NotContains(t, logs.String(), "reward_earned", "the body is never logged")
		})
	}
}

func TestWebhookHandlerRefuses(t *testing.T) {
	t.Parallel()
	const ts = 1700000000
	var calls atomic.Int64
	srv, logs := webhookServer(t, Config{MaxBody: 1024, Handle: func(context.Context, Delivery) error { calls.Add(1); return nil }}, time.Unix(ts, 0))
	status, body := deliver(t, srv.URL, ts, "{}", "t=1,v1="+strings.Repeat("a", 64))
	assert.Equal(t, http.StatusTooManyRequests, status, "an old timestamp may be this server's clock: retried")
	assert.JSONEq(t, `{"error":"signature not verified; try again later"}`, body)
	status, _ = deliver(t, srv.URL, ts, strings.Repeat("x", 2000), "")
	assert.Equal(t, http.StatusBadRequest, status, "body over the limit")
	status, _ = deliver(t, srv.URL, ts, "{}", "garbage")
	assert.Equal(t, http.StatusBadRequest, status, "a malformed header, as documented")
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusBadRequest, res.StatusCode, "no signature header")
	res, err = http.Get(srv.URL)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	// A chunked body (no Content-Length) is read under the same limit.
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write([]byte(strings.Repeat("y", 4096))); pw.Close() }()
	req, _ = http.NewRequest(http.MethodPost, srv.URL, pr)
	req.Header.Set("X-Prefinery-Signature", "t=1700000000,v1="+strings.Repeat("a", 64))
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Zero(t, calls.Load(), "nothing refused reaches the app")
	assert.Contains(t, logs.String(), "webhook delivery refused")
}

// TestWebhookReplays: a replayed (or duplicated) accepted delivery is
// answered 200 without calling the handler again; a failed one is retried.
func TestWebhookReplays(t *testing.T) {
	// Not parallel: it depends on timing.
	const ts = 1700000000
	var calls atomic.Int64
	fail := atomic.Bool{}
	fail.Store(true)
	srv, _ := webhookServer(t, Config{Handle: func(context.Context, Delivery) error {
		calls.Add(1)
		if fail.Load() {
			return errors.New("not yet")
		}
		return nil
	}}, time.Unix(ts, 0))
	body := `{"event":"tester_updated"}`
	status, _ := deliver(t, srv.URL, ts, body, "")
	assert.Equal(t, http.StatusTooManyRequests, status)
	fail.Store(false)
	status, _ = deliver(t, srv.URL, ts, body, "")
	assert.Equal(t, http.StatusOK, status, "the retry is processed")
	status, resp := deliver(t, srv.URL, ts, body, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, resp, "already received")
	assert.Equal(t, int64(2), calls.Load(), "the replay did not reach the handler")
}

// TestWebhookConcurrentDeliveries: 1,000 distinct deliveries at once, each
// processed exactly once (use -race), and 1,000 copies of one delivery
// processed once: a copy that arrives while it is being processed is
// answered 429 and accepted when Prefinery tries again.
func TestWebhookConcurrentDeliveries(t *testing.T) {
	// Not parallel: it depends on timing.
	const ts = 1700000000
	var mu sync.Mutex
	seen := map[string]int{}
	srv, _ := webhookServer(t, Config{Handle: func(_ context.Context, d Delivery) error {
		mu.Lock()
		seen[string(d.Body)]++
		mu.Unlock()
		return nil
	}}, time.Unix(ts, 0))
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			status, _ := deliver(t, srv.URL, ts, `{"n":`+strconv.Itoa(i)+`}`, "")
			assert.Equal(t, http.StatusOK, status)
			for try := 0; ; try++ {
				status, _ = deliver(t, srv.URL, ts, `{"same":true}`, "")
				if status != http.StatusTooManyRequests || try == 100 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			assert.Equal(t, http.StatusOK, status)
		})
	}
	wg.Wait()
	assert.Len(t, seen, 1001)
	for body, n := range seen {
		assert.Equal(t, 1, n, body)
	}
}

func TestNewHandlerValidates(t *testing.T) {
	// Not parallel: it depends on timing.
	ok := func(context.Context, Delivery) error { return nil }
	for _, cfg := range []Config{
		{Secrets: []prefinery.Secret{webhookSecret}},
		{Secrets: []prefinery.Secret{{}}, Handle: ok},
		{Secrets: []prefinery.Secret{webhookSecret}, Handle: ok, Budget: 15 * time.Second},
		{Secrets: []prefinery.Secret{webhookSecret}, Handle: ok, MaxBody: -1},
		{Handle: ok}, // no secret, none in the environment
	} {
		_, err := NewHandler(cfg)
		assert.ErrorIs(t, err, prefinery.ErrInvalidConfig)
	}
}

// FuzzVerifyWebhook: any header and body is refused or verified without
// panicking, and only the genuine signature verifies.
func FuzzVerifyWebhook(f *testing.F) {
	f.Add("t=1612540400,v1=4c3cec7b", []byte("{}"))
	f.Add("t=1,t=2,v0=00,v1=", []byte(""))
	f.Add(",,,=,t==", []byte("x"))
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if Verify(header, body, now, time.Hour, webhookSecret) == nil {
			t.Fatalf("verified a forged header %q", header)
		}
		genuine := "t=1700000000,v1=" + signDelivery(webhookSecretText, 1700000000, string(body))
		if err := Verify(genuine, body, now, time.Hour, webhookSecret); err != nil {
			t.Fatalf("genuine delivery refused: %v", err)
		}
	})
}

// BenchmarkWebhook verifies a 2 KiB delivery, beside one HMAC-SHA256 over the
// same bytes.
func BenchmarkWebhook(b *testing.B) {
	body := []byte(strings.Repeat("x", 2048))
	header := "t=1700000000,v1=" + signDelivery(webhookSecretText, 1700000000, string(body))
	now := time.Unix(1700000000, 0)
	b.Run("hmac-floor", func(b *testing.B) {
		mac := hmac.New(sha256.New, []byte(webhookSecretText))
		msg := append([]byte("1700000000."), body...)
		var sum [32]byte
		b.ReportAllocs()
		for b.Loop() {
			mac.Reset()
			mac.Write(msg)
			mac.Sum(sum[:0])
		}
	})
	b.Run("VerifyWebhook", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Verify(header, body, now, time.Minute, webhookSecret); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestWebhookVectors checks verification against webhook signatures computed
// in Node, Python, Ruby and PHP (testdata/vectors/generate.sh).
func TestWebhookVectors(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../testdata/vectors/webhook-inputs.json")
	require.NoError(t, err)
	var inputs struct {
		Secrets    []string `json:"secrets"`
		Timestamps []string `json:"timestamps"`
		Bodies     []string `json:"bodies"`
	}
	require.NoError(t, json.Unmarshal(raw, &inputs))
	expected, err := os.ReadFile("../testdata/vectors/webhook-expected.tsv")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(expected)), "\n")
	require.Len(t, lines, len(inputs.Secrets)*len(inputs.Timestamps)*len(inputs.Bodies))
	for _, line := range lines {
		f := strings.Split(line, "\t")
		require.Len(t, f, 4)
		s, _ := strconv.Atoi(f[0])
		ti, _ := strconv.Atoi(f[1])
		b, _ := strconv.Atoi(f[2])
		ts, err := strconv.ParseInt(inputs.Timestamps[ti], 10, 64)
		require.NoError(t, err)
		header := "t=" + inputs.Timestamps[ti] + ",v1=" + f[3]
		assert.NoError(t, Verify(header, []byte(inputs.Bodies[b]), time.Unix(ts, 0), time.Minute, mustSecret(inputs.Secrets[s])), line)
	}
}

// mustSecret wraps a test secret, panicking on a bad constant.
func mustSecret(s string) prefinery.Secret {
	secret, err := prefinery.NewSecret(s)
	if err != nil {
		panic(err)
	}
	return secret
}

// syncBuffer is the tests' log sink.
type syncBuffer = testlog.Buffer

// testLogger returns a JSON slog logger writing into a buffer.
func testLogger() (*slog.Logger, *syncBuffer) { return testlog.New() }

// TestSignVerifies: Sign writes the header Prefinery sends (the textbook
// HMAC), and Verify accepts it.
func TestSignVerifies(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700000000, 0)
	body := []byte(`{"event":"tester_created"}`)
	header, err := Sign(webhookSecret, at, body)
	require.NoError(t, err)
	assert.Equal(t, "t=1700000000,v1="+signDelivery(webhookSecretText, 1700000000, string(body)), header)
	assert.NoError(t, Verify(header, body, at, time.Minute, webhookSecret))
}

// TestZeroSecretRefused: a zero Secret (what NewSecret returns beside its
// error) is refused with an error everywhere, never a nil dereference.
func TestZeroSecretRefused(t *testing.T) {
	// Not parallel: shorten sets package-level timings.
	var zero prefinery.Secret
	at := time.Unix(1700000000, 0)
	body := []byte(`{}`)
	header := "t=1700000000,v1=" + signDelivery(webhookSecretText, 1700000000, string(body))
	assert.NotPanics(t, func() {
		assert.ErrorIs(t, Verify(header, body, at, time.Minute, zero), ErrInvalid)
		assert.ErrorIs(t, Verify(header, body, at, time.Minute, webhookSecret, zero), ErrInvalid, "a zero Secret beside a good one")
		_, err := Sign(zero, at, body)
		assert.ErrorIs(t, err, prefinery.ErrInvalidSecret)
		_, err = NewHandler(Config{Secrets: []prefinery.Secret{zero}, Handle: func(context.Context, Delivery) error { return nil }})
		assert.ErrorIs(t, err, prefinery.ErrInvalidConfig)
	})
}

// shorten sets the answer deadline and the claim's grace for one test.
func shorten(t *testing.T, answer, grace time.Duration) {
	prevAnswer, prevGrace := answerWithin, leaseGrace
	answerWithin, leaseGrace = answer, grace
	t.Cleanup(func() { answerWithin, leaseGrace = prevAnswer, prevGrace })
}

// signedWith signs body at ts with each secret, as one header with several
// v1 entries (a rotation: the old and the new secret).
func signedWith(ts int64, body string, secrets ...string) string {
	header := "t=" + strconv.FormatInt(ts, 10)
	for _, s := range secrets {
		header += ",v1=" + signDelivery(s, ts, body)
	}
	return header
}

// TestReplayKeyIgnoresWhichSignatureMatched: a delivery signed with the old
// and the new secret is one delivery, whichever entry verifies: replayed
// with an entry removed it is not processed again, and during a rolling
// rotation (instance A knows both secrets, B only the new one) a duplicate
// reaching both instances is processed once.
func TestReplayKeyIgnoresWhichSignatureMatched(t *testing.T) {
	// Not parallel: it depends on timing.
	const ts = 1700000000
	const oldText, newText = "whsec-old-0123456789abcdefghij", "whsec-new-0123456789abcdefghij"
	var calls atomic.Int64
	store := newMemoryReplays()
	handle := func(context.Context, Delivery) error { calls.Add(1); return nil }
	a, _ := webhookServer(t, Config{Secrets: []prefinery.Secret{mustSecret(oldText), mustSecret(newText)}, Handle: handle, Replays: store}, time.Unix(ts, 0))
	b, _ := webhookServer(t, Config{Secrets: []prefinery.Secret{mustSecret(newText)}, Handle: handle, Replays: store}, time.Unix(ts, 0))

	body := `{"event":"reward_earned","id":7}`
	status, _ := deliver(t, a.URL, ts, body, signedWith(ts, body, oldText, newText))
	require.Equal(t, http.StatusOK, status)
	for _, header := range []string{signedWith(ts, body, oldText), signedWith(ts, body, newText), signedWith(ts, body, newText, oldText)} {
		status, resp := deliver(t, a.URL, ts, body, header)
		assert.Equal(t, http.StatusOK, status)
		assert.Contains(t, resp, "already received")
	}
	for i := range 5 {
		body := `{"event":"tester_created","n":` + strconv.Itoa(i) + `}`
		header := signedWith(ts, body, oldText, newText)
		sa, _ := deliver(t, a.URL, ts, body, header)
		sb, _ := deliver(t, b.URL, ts, body, header)
		assert.Equal(t, []int{http.StatusOK, http.StatusOK}, []int{sa, sb})
	}
	assert.Equal(t, int64(6), calls.Load(), "each delivery processed once")
}

// TestConcurrentCopiesWhileTheFirstFails: 50 copies of one delivery at once,
// the first processing failing. In the end it is processed exactly once, and
// no copy is answered 200 before the processing it stands for succeeded:
// copies that arrive while one is being processed are answered 429.
func TestConcurrentCopiesWhileTheFirstFails(t *testing.T) {
	// Not parallel: it depends on timing.
	const ts = 1700000000
	var attempts, successes atomic.Int64
	var succeededAt atomic.Int64 // UnixNano of the successful processing
	srv, _ := webhookServer(t, Config{Handle: func(context.Context, Delivery) error {
		if attempts.Add(1) == 1 {
			time.Sleep(150 * time.Millisecond)
			return errors.New("database hiccup")
		}
		time.Sleep(20 * time.Millisecond)
		successes.Add(1)
		succeededAt.Store(time.Now().UnixNano())
		return nil
	}}, time.Unix(ts, 0))
	body := `{"event":"reward_earned","id":42}`
	var wg sync.WaitGroup
	var early atomic.Int64
	for range 50 {
		wg.Go(func() {
			for try := 0; try < 200; try++ {
				status, _ := deliver(t, srv.URL, ts, body, "")
				if status == http.StatusOK {
					if at := succeededAt.Load(); at == 0 || time.Now().UnixNano() < at {
						early.Add(1)
					}
					return
				}
				assert.Equal(t, http.StatusTooManyRequests, status)
				time.Sleep(10 * time.Millisecond) // Prefinery's retry, much compressed
			}
			t.Error("never accepted")
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), successes.Load(), "processed exactly once")
	assert.Zero(t, early.Load(), "no 200 before the processing succeeded")
}

// TestBudgetExpiryKeepsTheClaim: a Handle that ignores its context and
// finishes after the budget is not run again by the retry: the delivery
// stays claimed (429) until it returns, then is processed (200).
func TestBudgetExpiryKeepsTheClaim(t *testing.T) {
	// Not parallel: it depends on timing.
	const ts = 1700000000
	var calls atomic.Int64
	finished := make(chan struct{})
	srv, _ := webhookServer(t, Config{Budget: 50 * time.Millisecond, Handle: func(context.Context, Delivery) error {
		calls.Add(1)
		time.Sleep(300 * time.Millisecond) // ignores its context
		close(finished)
		return nil
	}}, time.Unix(ts, 0))
	body := `{"event":"tester_updated"}`
	status, _ := deliver(t, srv.URL, ts, body, "")
	assert.Equal(t, http.StatusTooManyRequests, status, "over budget")
	status, _ = deliver(t, srv.URL, ts, body, "")
	assert.Equal(t, http.StatusTooManyRequests, status, "the retry while the first still runs")
	<-finished
	time.Sleep(50 * time.Millisecond) // the result is recorded
	status, resp := deliver(t, srv.URL, ts, body, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, resp, "already received")
	assert.Equal(t, int64(1), calls.Load())
}

// hangingStore never answers Begin (a store whose connection hangs).
type hangingStore struct{ ReplayStore }

func (hangingStore) Begin(context.Context, string, time.Duration) (Status, error) {
	select {} // ignores its context too
}

// TestAnswersInTime: a replay store that hangs, and a body that stalls, are
// answered 429 within the answer deadline (shortened here from 14 s).
func TestAnswersInTime(t *testing.T) {
	// Not parallel: shorten sets package-level timings.
	const ts = 1700000000
	shorten(t, 300*time.Millisecond, time.Second)
	srv, _ := webhookServer(t, Config{Replays: hangingStore{}, Handle: func(context.Context, Delivery) error { return nil }}, time.Unix(ts, 0))
	start := time.Now()
	status, _ := deliver(t, srv.URL, ts, `{}`, "")
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Less(t, time.Since(start), 2*time.Second)

	srv, logs := webhookServer(t, Config{Handle: func(context.Context, Delivery) error { return nil }}, time.Unix(ts, 0))
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"+Header+": t=1700000000,v1="+strings.Repeat("a", 64)+"\r\n\r\n{\"stalled\":")
	require.NoError(t, err)
	start = time.Now()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "a stalled body is retried")
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Contains(t, logs.String(), "body unreadable")
}

// TestHandleGetsTheTimestamp: Handle receives the verified send time, to
// order deliveries that arrive out of order.
func TestHandleGetsTheTimestamp(t *testing.T) {
	t.Parallel()
	const ts = 1700000000
	var got []time.Time
	var mu sync.Mutex
	srv, _ := webhookServer(t, Config{Handle: func(_ context.Context, d Delivery) error {
		mu.Lock()
		got = append(got, d.SentAt)
		mu.Unlock()
		return nil
	}}, time.Unix(ts, 0))
	for _, at := range []int64{ts - 60, ts - 120} { // the later event first
		status, _ := deliver(t, srv.URL, at, `{"at":`+strconv.FormatInt(at, 10)+`}`, "")
		require.Equal(t, http.StatusOK, status)
	}
	assert.Equal(t, []time.Time{time.Unix(ts-60, 0), time.Unix(ts-120, 0)}, got)
}

// TestUnverifiedIsRetriedAndLoggedOnce: a delivery that does not verify
// because of the receiver (a secret not rotated in, a clock behind, a body
// changed by a proxy) is answered 429 so the event survives the fix, the app
// never runs, and each cause is logged at ERROR once. A well-formed v1 entry
// verifies beside one that is not a signature.
func TestUnverifiedIsRetriedAndLoggedOnce(t *testing.T) {
	t.Parallel()
	const ts = 1700000000
	var calls atomic.Int64
	srv, logs := webhookServer(t, Config{Handle: func(context.Context, Delivery) error { calls.Add(1); return nil }}, time.Unix(ts, 0))
	body := `{"event":"tester_created"}`
	for range 3 {
		status, _ := deliver(t, srv.URL, ts, body, signedWith(ts, body, "whsec-not-rotated-in-0123456789"))
		assert.Equal(t, http.StatusTooManyRequests, status, "a secret not rotated in")
		status, _ = deliver(t, srv.URL, ts+600, body, "")
		assert.Equal(t, http.StatusTooManyRequests, status, "this server's clock behind")
		status, _ = deliver(t, srv.URL, ts, body+" ", signedWith(ts, body, webhookSecretText))
		assert.Equal(t, http.StatusTooManyRequests, status, "a body changed on the way")
	}
	assert.Zero(t, calls.Load())
	errorsLogged := strings.Count(logs.String(), `"level":"ERROR"`)
	assert.Equal(t, 2, errorsLogged, "mismatch and future timestamp, once each:\n%s", logs.String())

	status, _ := deliver(t, srv.URL, ts, body, "t=1700000000,v1=not-a-signature,v1="+signDelivery(webhookSecretText, ts, body)+",v2=whatever")
	assert.Equal(t, http.StatusOK, status, "a malformed v1 beside a good one is ignored")
	assert.Equal(t, int64(1), calls.Load())
}

// TestVerifyTolerance: 0 means the default (5 minutes); negative is refused.
func TestVerifyTolerance(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	body := []byte(`{}`)
	header, err := Sign(webhookSecret, now.Add(-4*time.Minute), body)
	require.NoError(t, err)
	assert.NoError(t, Verify(header, body, now, 0, webhookSecret))
	old, err := Sign(webhookSecret, now.Add(-6*time.Minute), body)
	require.NoError(t, err)
	assert.ErrorIs(t, Verify(old, body, now, 0, webhookSecret), ErrInvalid)
	assert.ErrorIs(t, Verify(header, body, now, -time.Second, webhookSecret), ErrInvalid)
}

// atomicStore is an AtomicStore in memory: handle's "transaction" commits
// only if it returned nil before its context was done.
type atomicStore struct {
	ReplayStore
	mu                    sync.Mutex
	processed, inProgress map[string]bool
}

func (s *atomicStore) Process(ctx context.Context, key string, handle func(context.Context) error) (Status, error) {
	s.mu.Lock()
	switch {
	case s.processed[key]:
		s.mu.Unlock()
		return Processed, nil
	case s.inProgress[key]:
		s.mu.Unlock()
		return InProgress, nil
	}
	s.inProgress[key] = true
	s.mu.Unlock()
	err := handle(ctx)
	if err == nil {
		err = ctx.Err() // rolled back when the budget ran out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inProgress, key)
	s.processed[key] = err == nil
	return Unseen, err
}

// TestAtomicStore: with an AtomicStore the handler answers as with any
// store (received, already received, being processed, retried, 410), and a
// Handle past Budget is answered 429 with its transaction not committed.
func TestAtomicStore(t *testing.T) {
	const ts = 1700000000
	store := &atomicStore{processed: map[string]bool{}, inProgress: map[string]bool{}}
	release := make(chan struct{})
	srv, _ := webhookServer(t, Config{Replays: store, Budget: 200 * time.Millisecond, Handle: func(ctx context.Context, d Delivery) error {
		switch string(d.Body) {
		case `"fails"`:
			return errors.New("db down")
		case `"panics"`:
			panic("boom")
		case `"gone"`:
			return ErrUnsubscribe
		case `"slow"`:
			<-release
		case `"overruns"`:
			time.Sleep(300 * time.Millisecond)
		}
		return nil
	}}, time.Unix(ts, 0))
	status, body := deliver(t, srv.URL, ts, `"ok"`, "")
	assert.Equal(t, []any{http.StatusOK, `{"status":"received"}`}, []any{status, strings.TrimSpace(body)})
	status, body = deliver(t, srv.URL, ts, `"ok"`, "")
	assert.Equal(t, []any{http.StatusOK, `{"status":"already received"}`}, []any{status, strings.TrimSpace(body)})
	for _, b := range []string{`"fails"`, `"panics"`, `"overruns"`} {
		status, _ = deliver(t, srv.URL, ts, b, "")
		assert.Equal(t, http.StatusTooManyRequests, status, b)
	}
	time.Sleep(150 * time.Millisecond)
	store.mu.Lock()
	assert.False(t, store.processed[deliveryKey("1700000000", []byte(`"overruns"`))], "past Budget: not committed")
	store.mu.Unlock()
	status, _ = deliver(t, srv.URL, ts, `"gone"`, "")
	assert.Equal(t, http.StatusGone, status)

	first := make(chan int)
	go func() { s, _ := deliver(t, srv.URL, ts, `"slow"`, ""); first <- s }()
	require.Eventually(t, func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return len(store.inProgress) == 1
	}, time.Second, 5*time.Millisecond)
	status, body = deliver(t, srv.URL, ts, `"slow"`, "")
	assert.Equal(t, []any{http.StatusTooManyRequests, `{"error":"being processed; try again later"}`}, []any{status, strings.TrimSpace(body)})
	close(release)
	assert.Equal(t, http.StatusOK, <-first)
}
