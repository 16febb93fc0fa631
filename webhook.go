package prefinery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Prefinery signs each webhook delivery: X-Prefinery-Signature: t=<unix
// seconds>,v1=<hex>, where v1 is the lowercase hex HMAC-SHA256 of the
// timestamp, a '.', and the raw body, under the project's webhook signing
// secret. It treats 200 and 201 as accepted, retries 429 (and timeouts after
// 15 s), removes the endpoint on 410, and drops the event on any other status.

// Sentinel errors of the webhook side.
var (
	// ErrInvalidWebhook is wrapped when a delivery's signature header, body
	// or timestamp does not verify.
	ErrInvalidWebhook = errors.New("prefinery: invalid webhook delivery")

	// ErrUnsubscribe is what a webhook handler returns to ask Prefinery to
	// remove the endpoint from the project (answered 410). Nothing else the
	// handler returns ever produces a 410.
	ErrUnsubscribe = errors.New("prefinery: unsubscribe this webhook endpoint")
)

// Webhook defaults and limits.
const (
	webhookHeader           = "X-Prefinery-Signature"
	defaultWebhookBody      = 1 << 20
	defaultWebhookSkew      = 5 * time.Minute
	defaultWebhookBudget    = 10 * time.Second
	maxWebhookBudget        = 14 * time.Second // Prefinery gives up at 15 s
	maxWebhookHeader        = 4 << 10
	defaultWebhookSecretEnv = "PREFINERY_WEBHOOK_SECRET"
)

// VerifyWebhook checks one delivery: header is X-Prefinery-Signature's
// value, body the raw request body, now the time it arrived. It accepts when
// the timestamp is within tolerance of now (either way) and any v1 entry is
// the signature under any of secrets (several during a rotation); entries of
// other schemes are ignored. Errors wrap [ErrInvalidWebhook] and say why,
// without the body or a secret.
func VerifyWebhook(header string, body []byte, now time.Time, tolerance time.Duration, secrets ...Secret) error {
	_, err := verifyWebhook(header, body, now, tolerance, secrets)
	return err
}

// maxV1Entries bounds the v1 entries one header may carry.
const maxV1Entries = 8

// verifyWebhook is VerifyWebhook, also returning the signature that matched.
func verifyWebhook(header string, body []byte, now time.Time, tolerance time.Duration, secrets []Secret) (matched [sha256.Size]byte, err error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidWebhook, fmt.Sprintf(format, args...))
	}
	if len(secrets) == 0 {
		return matched, invalid("no signing secret configured")
	}
	if len(header) > maxWebhookHeader {
		return matched, invalid("the signature header is %d bytes, over %d", len(header), maxWebhookHeader)
	}
	var timestamp string
	var signatures [maxV1Entries][sha256.Size]byte
	n := 0
	for entry := range strings.SplitSeq(header, ",") {
		scheme, value, ok := strings.Cut(entry, "=")
		if !ok {
			return matched, invalid("the signature header has an entry without '='")
		}
		switch scheme {
		case "t":
			if timestamp != "" {
				return matched, invalid("the signature header has more than one timestamp")
			}
			if value == "" {
				return matched, invalid("the timestamp is empty")
			}
			timestamp = value
		case "v1":
			if len(value) != 2*sha256.Size || !isSignature(value) {
				return matched, invalid("a v1 signature is not 64 lowercase hex characters")
			}
			if n >= maxV1Entries {
				return matched, invalid("the signature header has more than %d v1 signatures", maxV1Entries)
			}
			_, _ = hex.Decode(signatures[n][:], []byte(value))
			n++
		}
		// Other schemes (v0, future ones) are ignored: a downgrade is refused
		// by requiring v1.
	}
	if timestamp == "" {
		return matched, invalid("the signature header has no timestamp")
	}
	if n == 0 {
		return matched, invalid("the signature header has no v1 signature")
	}
	for i := 0; i < len(timestamp); i++ {
		if timestamp[i] < '0' || timestamp[i] > '9' {
			return matched, invalid("the timestamp is not unix seconds")
		}
	}
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return matched, invalid("the timestamp is out of range")
	}
	if skew := now.Sub(time.Unix(seconds, 0)); skew > tolerance || skew < -tolerance {
		return matched, invalid("the timestamp is %s away from now, over the tolerance of %s", skew.Round(time.Second), tolerance)
	}
	var want [sha256.Size]byte
	for _, secret := range secrets {
		secret.key.MAC(&want, body, timestamp, ".")
		for _, got := range signatures[:n] {
			if hmac.Equal(got[:], want[:]) {
				return got, nil
			}
		}
	}
	return matched, invalid("no v1 signature matches the body under the signing secret")
}

// WebhookConfig configures [NewWebhookHandler]. Optional fields' zero values
// are safe and documented with "Default is …".
type WebhookConfig struct {
	// Secrets are the project's webhook signing secrets (Integrations >
	// Webhooks; not the Identity Verification Secret). Give the old and the
	// new one during a rotation. Default is SecretFromEnv
	// ("PREFINERY_WEBHOOK_SECRET").
	Secrets []Secret

	// Handle receives each verified delivery's raw body, once: duplicates and
	// replays of an accepted delivery are answered 200 without calling it.
	// Return nil to accept, ErrUnsubscribe to have Prefinery remove the
	// endpoint, any other error to have Prefinery retry later. Acknowledge
	// fast and work asynchronously (queue the event, then return). Required.
	Handle func(ctx context.Context, body []byte) error

	// MaxBody is the largest body read, in bytes. Default is 1 MiB.
	MaxBody int64

	// Tolerance is how far a delivery's timestamp may be from now, either
	// way. Default is 5 minutes.
	Tolerance time.Duration

	// Budget is how long Handle may take before the delivery is answered 429
	// (Prefinery retries; it gives up waiting at 15 s). At most 14 s. Default
	// is 10 s.
	Budget time.Duration

	// Replays remembers accepted deliveries. Default is an in-memory store
	// (one instance); several instances share one, such as a Redis store.
	Replays ReplayStore

	// ErrorLog receives why deliveries were refused or failed, never a body
	// or a secret. Default is slog.Default().
	ErrorLog *slog.Logger
}

// ReplayStore remembers the deliveries a webhook handler accepted, so a
// duplicate or a captured replay is acknowledged without running the app's
// handler again. Implementations must be safe for concurrent use.
type ReplayStore interface {
	// Reserve records key for ttl and reports whether it was new; a key
	// already recorded (or reserved by a delivery in progress) is not.
	Reserve(ctx context.Context, key string, ttl time.Duration) (fresh bool, err error)
	// Release forgets key, so a delivery the app failed can be retried.
	Release(ctx context.Context, key string) error
}

// NewWebhookHandler returns the http.Handler for Prefinery's webhook
// deliveries. It answers only POST (405), reads the body under MaxBody,
// verifies it (400 for a malformed or oversized delivery, 401 for a wrong
// signature or an old timestamp, each with a JSON error), and then calls
// Handle with the verified raw body: 200 when it returns nil, 410 for
// ErrUnsubscribe, 429 for any other error, a panic, or a Handle still running
// after Budget. A delivery already accepted is answered 200 without calling
// Handle again.
func NewWebhookHandler(cfg WebhookConfig) (http.Handler, error) {
	invalid := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: WebhookConfig.%s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	w := &webhookHandler{cfg: cfg}
	if len(w.cfg.Secrets) == 0 {
		secret, err := SecretFromEnv(defaultWebhookSecretEnv)
		if err != nil {
			return nil, fmt.Errorf("%w: WebhookConfig.Secrets: none given, and %w", ErrInvalidConfig, err)
		}
		w.cfg.Secrets = []Secret{secret}
	}
	for i, s := range w.cfg.Secrets {
		if s.isZero() {
			return nil, invalid("Secrets", "secret %d is empty", i)
		}
	}
	switch {
	case cfg.Handle == nil:
		return nil, invalid("Handle", "required: the function that processes a verified delivery")
	case cfg.MaxBody < 0:
		return nil, invalid("MaxBody", "negative")
	case cfg.Tolerance < 0:
		return nil, invalid("Tolerance", "negative")
	case cfg.Budget < 0 || cfg.Budget > maxWebhookBudget:
		return nil, invalid("Budget", "%s is outside 0..%s (Prefinery waits 15 s)", cfg.Budget, maxWebhookBudget)
	}
	if w.cfg.MaxBody == 0 {
		w.cfg.MaxBody = defaultWebhookBody
	}
	if w.cfg.Tolerance == 0 {
		w.cfg.Tolerance = defaultWebhookSkew
	}
	if w.cfg.Budget == 0 {
		w.cfg.Budget = defaultWebhookBudget
	}
	if w.cfg.Replays == nil {
		w.cfg.Replays = newMemoryReplays()
	}
	if w.cfg.ErrorLog == nil {
		w.cfg.ErrorLog = slog.Default()
	}
	w.now = time.Now
	return w, nil
}

type webhookHandler struct {
	cfg WebhookConfig
	now func() time.Time // tests move the clock
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSONError(w, r, http.StatusMethodNotAllowed, "method not allowed: use POST")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, "body unreadable or over the limit", err)
		return
	}
	headers := r.Header.Values(webhookHeader)
	if len(headers) != 1 {
		h.refuse(w, r, http.StatusBadRequest, "missing or repeated signature header", fmt.Errorf("%d %s headers", len(headers), webhookHeader))
		return
	}
	sig, err := verifyWebhook(headers[0], body, h.now(), h.cfg.Tolerance, h.cfg.Secrets)
	if err != nil {
		h.refuse(w, r, http.StatusUnauthorized, "signature not verified", err)
		return
	}
	key := "prefinery-webhook:" + hex.EncodeToString(sig[:])
	fresh, err := h.cfg.Replays.Reserve(r.Context(), key, 2*h.cfg.Tolerance)
	switch {
	case err != nil:
		h.cfg.ErrorLog.Error("prefinery: webhook replay store failed; asking Prefinery to retry", slog.Any("error", err))
		writeJSONError(w, r, http.StatusTooManyRequests, "try again later")
		return
	case !fresh:
		writeJSON(w, r, http.StatusOK, []byte(`{"status":"already received"}`+"\n"))
		return
	}
	switch err := h.handle(r.Context(), body); {
	case err == nil:
		writeJSON(w, r, http.StatusOK, []byte(`{"status":"received"}`+"\n"))
	case errors.Is(err, ErrUnsubscribe):
		h.cfg.ErrorLog.Warn("prefinery: the webhook handler asked Prefinery to remove this endpoint; answering 410")
		writeJSONError(w, r, http.StatusGone, "unsubscribed")
	default:
		_ = h.cfg.Replays.Release(context.WithoutCancel(r.Context()), key)
		h.cfg.ErrorLog.Error("prefinery: the webhook handler failed; answering 429 so Prefinery retries", slog.Any("error", err))
		writeJSONError(w, r, http.StatusTooManyRequests, "try again later")
	}
}

// handle runs Handle under the budget, turning a panic into an error.
func (h *webhookHandler) handle(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Budget)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("prefinery: the webhook handler panicked: %v", p)
			}
		}()
		done <- h.cfg.Handle(ctx, body)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("prefinery: the webhook handler took longer than %s: %w", h.cfg.Budget, ctx.Err())
	}
}

// refuse answers a delivery that failed verification and logs why (never the
// body or a secret).
func (h *webhookHandler) refuse(w http.ResponseWriter, r *http.Request, status int, message string, err error) {
	h.cfg.ErrorLog.Warn("prefinery: webhook delivery refused", slog.Int("status", status), slog.Any("reason", err))
	writeJSONError(w, r, status, message)
}

// memoryReplays is the in-memory ReplayStore: keys with their expiry,
// expired ones dropped as new ones arrive.
type memoryReplays struct {
	mu     sync.Mutex
	keys   map[string]time.Time
	now    func() time.Time
	pruned time.Time // expired keys are dropped at most once a second
}

func newMemoryReplays() *memoryReplays {
	return &memoryReplays{keys: map[string]time.Time{}, now: time.Now}
}

func (m *memoryReplays) Reserve(_ context.Context, key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if now.Sub(m.pruned) > time.Second {
		m.pruned = now
		for k, expiry := range m.keys {
			if now.After(expiry) {
				delete(m.keys, k)
			}
		}
	}
	if expiry, ok := m.keys[key]; ok && now.Before(expiry) {
		return false, nil
	}
	m.keys[key] = now.Add(ttl)
	return true, nil
}

func (m *memoryReplays) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, key)
	return nil
}
