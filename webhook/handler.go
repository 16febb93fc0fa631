package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/errs"
	"github.com/prefinerykit/prefinery/internal/logonce"
	"github.com/prefinerykit/prefinery/internal/respond"
	"github.com/prefinerykit/prefinery/internal/secret"
)

// Defaults and limits of Config, and of the answer.
const (
	defaultMaxBody   = 1 << 20
	defaultBudget    = 10 * time.Second
	maxBudget        = 13 * time.Second // within answerWithin, with time to record the result
	recordTimeout    = 5 * time.Second  // for recording a result after Handle returned
	defaultSecretEnv = "PREFINERY_WEBHOOK_SECRET"
)

// The answer's timing: variables only so tests can shorten them.
var (
	answerWithin = 14 * time.Second // Prefinery gives up waiting at 15 s
	leaseGrace   = 30 * time.Second // a claim outlives Budget by this much
)

// Delivery is one verified delivery, as Handle receives it.
type Delivery struct {
	Body   []byte    // the raw body, exactly as signed
	SentAt time.Time // the time Prefinery signed it: deliveries may arrive out of order
}

// Config configures [NewHandler]. Optional fields' zero values are safe and
// documented with "Default is …".
type Config struct {
	// Secrets are the project's webhook signing secrets (Integrations >
	// Webhooks; not the Identity Verification Secret). Give the old and the
	// new one during a rotation. Default is
	// prefinery.SecretFromEnv("PREFINERY_WEBHOOK_SECRET").
	Secrets []prefinery.Secret

	// Handle receives each verified delivery, once: a duplicate or replay
	// of a processed delivery is answered 200 without calling it, and a copy
	// that arrives while one is being processed is answered 429. Return nil
	// to accept, ErrUnsubscribe to have Prefinery remove the endpoint, any
	// other error to have Prefinery retry later. Acknowledge fast and work
	// asynchronously (queue the event, then return). Handle must return
	// when ctx is done (Budget): a Handle still running then keeps its
	// delivery claimed for another 30 s, and one that runs past that may be
	// processed again by Prefinery's retry. Required.
	Handle func(ctx context.Context, d Delivery) error

	// MaxBody is the largest body read, in bytes. Default is 1 MiB.
	MaxBody int64

	// Tolerance is how far a delivery's timestamp may be from now, either
	// way. Default is 5 minutes.
	Tolerance time.Duration

	// Budget is how long Handle may take before the delivery is answered 429
	// (Prefinery retries; it gives up waiting at 15 s). At most 13 s. Default
	// is 10 s.
	Budget time.Duration

	// Replays remembers the deliveries being processed and processed.
	// Default is an in-memory store (one instance); several instances share
	// one, such as redisreplay's. An [AtomicStore], such as sqlreplay's,
	// runs Handle inside the transaction that claims and marks the delivery:
	// what Handle writes through it commits exactly once, and a Handle past
	// Budget has its transaction rolled back.
	Replays ReplayStore

	// Logger receives why deliveries were refused or failed, never a body
	// or a secret. Default is slog.Default().
	Logger *slog.Logger
}

// NewHandler returns the http.Handler for Prefinery's webhook deliveries.
// Every answer is within 14 s of the request (Prefinery waits 15 s), the
// body read and the replay store's calls included:
//
//	status  when                                                   Prefinery
//	200     Handle returned nil, or the delivery was processed      accepted
//	410     Handle returned ErrUnsubscribe                          removes the endpoint
//	400     not POST-able: a malformed signature header, a body     rejected, never retried
//	        over MaxBody (405 for another method)
//	429     the signature or timestamp does not verify (logged at  retried later
//	        ERROR once per cause: a secret not rotated in, a clock
//	        off, a proxy that changed the body); a copy of it is
//	        being processed; Handle failed, panicked or ran past
//	        Budget; the replay store failed or hung; the body
//	        stalled
//
// A delivery is identified by a digest of its timestamp and body, never by
// which signature or secret verified it, so no header edit and no secret
// list makes a processed delivery new. Errors wrap prefinery.ErrInvalidConfig
// and name the field.
func NewHandler(cfg Config) (http.Handler, error) {
	invalid := func(field, format string, args ...any) error {
		return errs.New(fmt.Sprintf("invalid Config: webhook.Config.%s: %s", field, fmt.Sprintf(format, args...)), prefinery.ErrInvalidConfig)
	}
	if len(cfg.Secrets) == 0 {
		s, err := prefinery.SecretFromEnv(defaultSecretEnv)
		if err != nil {
			return nil, errs.New("invalid Config: webhook.Config.Secrets: none given, and "+errs.Reason(err), prefinery.ErrInvalidConfig, err)
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
	return &handler{cfg: cfg, now: time.Now}, nil
}

// handler serves deliveries under a validated Config with its defaults.
type handler struct {
	cfg    Config
	now    func() time.Time    // the clock deliveries are verified by (a test's own)
	logged logonce.Set[string] // the verification failures logged at ERROR, by cause
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		respond.Error(w, r, http.StatusMethodNotAllowed, "method not allowed: use POST")
		return
	}
	deadline := time.Now().Add(answerWithin)
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	_ = http.NewResponseController(w).SetReadDeadline(deadline) // where the server supports it

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.refuse(w, r, http.StatusBadRequest, "body over the limit", err)
		return
	case err != nil: // a stalled or broken body: the network's fault, not Prefinery's
		h.retry(w, r, "body unreadable", err)
		return
	}
	headers := r.Header.Values(Header)
	if len(headers) != 1 {
		h.refuse(w, r, http.StatusBadRequest, "missing or repeated signature header", fmt.Errorf("%d %s headers", len(headers), Header))
		return
	}
	v, err := verify(headers[0], body, h.now(), h.cfg.Tolerance, h.cfg.Secrets)
	if err != nil {
		var f *failure
		if errors.As(err, &f) && f.malformed {
			h.refuse(w, r, http.StatusBadRequest, "malformed signature header", err)
			return
		}
		h.unverified(w, r, err)
		return
	}
	h.process(ctx, w, r, v, body)
}

// process runs a verified delivery through the replay store and Handle.
func (h *handler) process(ctx context.Context, w http.ResponseWriter, r *http.Request, v verified, body []byte) {
	key, lease := deliveryKey(v.timestamp, body), h.cfg.Budget+leaseGrace
	if store, ok := h.cfg.Replays.(AtomicStore); ok {
		h.processAtomically(ctx, w, r, store, key, Delivery{Body: body, SentAt: v.sentAt})
		return
	}
	status, err := bounded(ctx, func(ctx context.Context) (Status, error) {
		return h.cfg.Replays.Begin(ctx, key, lease)
	})
	switch {
	case err != nil:
		h.retry(w, r, "the replay store failed", err)
		return
	case status == Processed:
		respond.JSON(w, r, http.StatusOK, []byte(`{"status":"already received"}`+"\n"))
		return
	case status == InProgress:
		respond.Error(w, r, http.StatusTooManyRequests, "being processed; try again later")
		return
	}
	// The replay window: the delivery verifies until its timestamp is
	// Tolerance old; a minute more for clocks.
	ttl := max(time.Until(v.sentAt.Add(h.cfg.Tolerance)), 0) + time.Minute
	done := make(chan error, 1)
	go func() { done <- h.handle(ctx, key, ttl, lease, Delivery{Body: body, SentAt: v.sentAt}) }()
	budget := time.NewTimer(h.cfg.Budget)
	defer budget.Stop()
	select {
	case err := <-done:
		h.answer(w, r, err)
	case <-budget.C:
		h.retry(w, r, "the webhook handler ran past its budget; it keeps the delivery claimed until it returns", fmt.Errorf("over %s", h.cfg.Budget))
	case <-ctx.Done():
		h.retry(w, r, "no answer within 14 s", ctx.Err())
	}
}

// handle runs Handle under the budget, a panic turned into an error, then
// records the result in the replay store with a context of its own (the
// request may have been answered already): processed on success, released
// on failure so Prefinery's retry processes it. What may still complete is
// never released before it returns.
func (h *handler) handle(ctx context.Context, key string, ttl, lease time.Duration, d Delivery) (err error) {
	hctx, cancel := context.WithTimeout(ctx, h.cfg.Budget)
	defer cancel()
	err = h.call(hctx, d)
	rctx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancelRecord()
	if err == nil {
		if ferr := h.cfg.Replays.Finish(rctx, key, ttl); ferr != nil {
			h.cfg.Logger.Error("prefinery: a webhook delivery was processed but the replay store did not record it; a copy arriving after its claim lapses may be processed again", slog.Any("error", ferr))
		}
		return nil
	}
	if rerr := h.cfg.Replays.Release(rctx, key); rerr != nil {
		h.cfg.Logger.Error("prefinery: the replay store did not release a failed delivery; it becomes retryable when its claim lapses", slog.Any("error", rerr), slog.Duration("lease", lease))
	}
	return err
}

// processAtomically runs a verified delivery through an AtomicStore: the
// claim, Handle and the processed mark in one transaction, given Budget and
// rolled back when it runs past it.
func (h *handler) processAtomically(ctx context.Context, w http.ResponseWriter, r *http.Request, store AtomicStore, key string, d Delivery) {
	type result struct {
		status Status
		err    error
	}
	done := make(chan result, 1)
	go func() {
		tctx, cancel := context.WithTimeout(ctx, h.cfg.Budget)
		defer cancel()
		status, err := store.Process(tctx, key, func(ctx context.Context) error { return h.call(ctx, d) })
		done <- result{status, err}
	}()
	budget := time.NewTimer(h.cfg.Budget)
	defer budget.Stop()
	select {
	case res := <-done:
		switch {
		case res.err == nil && res.status == Processed:
			respond.JSON(w, r, http.StatusOK, []byte(`{"status":"already received"}`+"\n"))
		case res.err == nil && res.status == InProgress:
			respond.Error(w, r, http.StatusTooManyRequests, "being processed; try again later")
		case res.err != nil && !errors.Is(res.err, ErrUnsubscribe):
			h.retry(w, r, "the webhook handler or its transaction (claim, commit) failed", res.err)
		default:
			h.answer(w, r, res.err)
		}
	case <-budget.C:
		h.retry(w, r, "the webhook handler ran past its budget; its transaction is rolled back", fmt.Errorf("over %s", h.cfg.Budget))
	case <-ctx.Done():
		h.retry(w, r, "no answer within 14 s", ctx.Err())
	}
}

// call runs Handle, a panic turned into an error.
func (h *handler) call(ctx context.Context, d Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("webhook handler panicked: %v", p)
		}
	}()
	return h.cfg.Handle(ctx, d)
}

// answer answers a delivery Handle processed, with Handle's error.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case err == nil:
		respond.JSON(w, r, http.StatusOK, []byte(`{"status":"received"}`+"\n"))
	case errors.Is(err, ErrUnsubscribe):
		h.cfg.Logger.Warn("prefinery: the webhook handler asked Prefinery to remove this endpoint; answering 410")
		respond.Error(w, r, http.StatusGone, "unsubscribed")
	default:
		h.retry(w, r, "the webhook handler failed", err)
	}
}

// deliveryKey identifies a delivery by its signed timestamp and body.
func deliveryKey(timestamp string, body []byte) string {
	d := sha256.New()
	d.Write([]byte(timestamp))
	d.Write([]byte{'.'})
	d.Write(body)
	return "prefinery-webhook:" + hex.EncodeToString(d.Sum(nil))
}

// bounded runs a store call, giving up when ctx is done even if the store
// does not (a store that hangs is left to finish on its own).
func bounded[T any](ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := call(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// refuse answers a delivery Prefinery must not retry and logs why (never
// the body or a secret).
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, status int, message string, err error) {
	h.cfg.Logger.Warn("prefinery: webhook delivery refused", slog.Int("status", status), slog.Any("reason", err))
	respond.Error(w, r, status, message)
}

// retry answers 429, so Prefinery delivers again later, and logs why.
func (h *handler) retry(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.cfg.Logger.Error("prefinery: "+what+"; answering 429 so Prefinery retries", slog.Any("error", err))
	respond.Error(w, r, http.StatusTooManyRequests, "try again later")
}

// unverified answers a delivery whose signature or timestamp did not verify
// with 429: Prefinery only sends genuine deliveries, so the cause is likely
// here and the event must survive until it is fixed; a forger gains nothing
// from a 429. Each cause is logged at ERROR once, later ones at DEBUG.
func (h *handler) unverified(w http.ResponseWriter, r *http.Request, err error) {
	cause := "unverified"
	var f *failure
	if errors.As(err, &f) {
		cause = f.cause
	}
	level := slog.LevelDebug
	if h.logged.First(cause) {
		level = slog.LevelError
	}
	h.cfg.Logger.Log(r.Context(), level, "prefinery: a webhook delivery did not verify; answering 429 so Prefinery retries once it is fixed (check the signing secrets and this server's clock)",
		slog.String("cause", cause), slog.Any("reason", err))
	respond.Error(w, r, http.StatusTooManyRequests, "signature not verified; try again later")
}
