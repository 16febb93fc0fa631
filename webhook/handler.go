package webhook

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/respond"
	"github.com/prefinerykit/prefinery/internal/secret"
)

// Defaults and limits of Config.
const (
	defaultMaxBody   = 1 << 20
	defaultTolerance = 5 * time.Minute
	defaultBudget    = 10 * time.Second
	maxBudget        = 14 * time.Second // Prefinery gives up at 15 s
	defaultSecretEnv = "PREFINERY_WEBHOOK_SECRET"
)

// Config configures [NewHandler]. Optional fields' zero values are safe and
// documented with "Default is …".
type Config struct {
	// Secrets are the project's webhook signing secrets (Integrations >
	// Webhooks; not the Identity Verification Secret). Give the old and the
	// new one during a rotation. Default is
	// prefinery.SecretFromEnv("PREFINERY_WEBHOOK_SECRET").
	Secrets []prefinery.Secret

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

	// Logger receives why deliveries were refused or failed, never a body
	// or a secret. Default is slog.Default().
	Logger *slog.Logger
}

// NewHandler returns the http.Handler for Prefinery's webhook deliveries. It
// answers only POST (405), reads the body under MaxBody, verifies it (400 for
// a malformed or oversized delivery, 401 for a wrong signature or an old
// timestamp, each with a JSON error), and then calls Handle with the verified
// raw body: 200 when it returns nil, 410 for ErrUnsubscribe, 429 for any
// other error, a panic, or a Handle still running after Budget. A delivery
// already accepted is answered 200 without calling Handle again. Errors wrap
// prefinery.ErrInvalidConfig and name the field.
func NewHandler(cfg Config) (http.Handler, error) {
	invalid := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: webhook.Config.%s: %s", prefinery.ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if len(cfg.Secrets) == 0 {
		s, err := prefinery.SecretFromEnv(defaultSecretEnv)
		if err != nil {
			return nil, invalid("Secrets", "none given, and %v", errors.Unwrap(err))
		}
		cfg.Secrets = []prefinery.Secret{s}
	}
	for i, s := range cfg.Secrets {
		if secret.Of(s) == nil {
			return nil, invalid("Secrets", "secret %d is a zero Secret", i)
		}
	}
	switch {
	case cfg.Handle == nil:
		return nil, invalid("Handle", "required: the function that processes a verified delivery")
	case cfg.MaxBody < 0:
		return nil, invalid("MaxBody", "negative")
	case cfg.Tolerance < 0:
		return nil, invalid("Tolerance", "negative")
	case cfg.Budget < 0 || cfg.Budget > maxBudget:
		return nil, invalid("Budget", "%s is outside 0..%s (Prefinery waits 15 s)", cfg.Budget, maxBudget)
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = defaultMaxBody
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = defaultTolerance
	}
	if cfg.Budget == 0 {
		cfg.Budget = defaultBudget
	}
	if cfg.Replays == nil {
		cfg.Replays = newMemoryReplays()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &handler{cfg: cfg}, nil
}

// handler serves deliveries under a validated Config with its defaults.
type handler struct {
	cfg Config
}

// testHookNow, when set by a test, is the handler's clock.
var testHookNow func() time.Time

func now() time.Time {
	if testHookNow != nil {
		return testHookNow()
	}
	return time.Now()
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		respond.Error(w, r, http.StatusMethodNotAllowed, "method not allowed: use POST")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, "body unreadable or over the limit", err)
		return
	}
	headers := r.Header.Values(Header)
	if len(headers) != 1 {
		h.refuse(w, r, http.StatusBadRequest, "missing or repeated signature header", fmt.Errorf("%d %s headers", len(headers), Header))
		return
	}
	sig, err := verify(headers[0], body, now(), h.cfg.Tolerance, h.cfg.Secrets)
	if err != nil {
		h.refuse(w, r, http.StatusUnauthorized, "signature not verified", err)
		return
	}
	key := "prefinery-webhook:" + hex.EncodeToString(sig[:])
	fresh, err := h.cfg.Replays.Reserve(r.Context(), key, 2*h.cfg.Tolerance)
	switch {
	case err != nil:
		h.cfg.Logger.Error("prefinery: webhook replay store failed; asking Prefinery to retry", slog.Any("error", err))
		respond.Error(w, r, http.StatusTooManyRequests, "try again later")
		return
	case !fresh:
		respond.JSON(w, r, http.StatusOK, []byte(`{"status":"already received"}`+"\n"))
		return
	}
	switch err := h.handle(r.Context(), body); {
	case err == nil:
		respond.JSON(w, r, http.StatusOK, []byte(`{"status":"received"}`+"\n"))
	case errors.Is(err, ErrUnsubscribe):
		h.cfg.Logger.Warn("prefinery: the webhook handler asked Prefinery to remove this endpoint; answering 410")
		respond.Error(w, r, http.StatusGone, "unsubscribed")
	default:
		_ = h.cfg.Replays.Release(context.WithoutCancel(r.Context()), key)
		h.cfg.Logger.Error("prefinery: the webhook handler failed; answering 429 so Prefinery retries", slog.Any("error", err))
		respond.Error(w, r, http.StatusTooManyRequests, "try again later")
	}
}

// handle runs Handle under the budget, turning a panic into an error.
func (h *handler) handle(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Budget)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("webhook handler panicked: %v", p)
			}
		}()
		done <- h.cfg.Handle(ctx, body)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("webhook handler took longer than %s: %w", h.cfg.Budget, ctx.Err())
	}
}

// refuse answers a delivery that failed verification and logs why (never the
// body or a secret).
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, status int, message string, err error) {
	h.cfg.Logger.Warn("prefinery: webhook delivery refused", slog.Int("status", status), slog.Any("reason", err))
	respond.Error(w, r, status, message)
}
