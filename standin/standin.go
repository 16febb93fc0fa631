// Package standin is an offline stand-in for Prefinery's JavaScript widget,
// for development and tests. Mount [New]'s handler at [Path] on the app's own
// origin and set WidgetURL in the kit's [prefinery.Config] to [WidgetURL]; the
// example of [New] does both, as code the compiler checks.
//
// The page then runs the kit's snippet against a script that records every
// prefinery(…) call instead of sending it, lists the calls in a panel at the
// bottom of the page, renders a fake referral page where the page asks for
// one (embedReferralPage in its element, popupReferralPage in the panel), and
// reports each call back to the handler, where a test reads them with
// [Widget.Calls]. Never mount it in production: it is not Prefinery.
package standin

import (
	"bytes"
	"crypto/hmac"
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/secret"
	"github.com/prefinerykit/prefinery/webhook"
)

// DemoSecret is the public Identity Verification Secret of the examples and
// the demo, for development with the stand-in only: it is in this source, so
// a signature made with it proves nothing, and Prefinery rejects it (403).
const DemoSecret = "DEMO-ONLY-secret-prefinery-kit-not-for-production"

// Path is where the stand-in is usually mounted; WidgetURL is its loader.
const (
	Path      = "/prefinery-standin/"
	WidgetURL = Path + "widget.js"
)

//go:embed widget.js
var widgetJS []byte

// maxReport bounds one reported call, in bytes.
const maxReport = 64 << 10

// Call is one prefinery(…) call a page made: its name and arguments as
// JSON (functions left out).
type Call struct {
	Name string
	Args []json.RawMessage
}

// Widget serves the stand-in script and keeps the calls pages report. It is
// safe for concurrent use.
type Widget struct {
	mu    sync.Mutex
	calls []Call

	webhook       http.Handler     // the app's webhook endpoint
	webhookSecret prefinery.Secret // its signing secret (a development one)
	verify        prefinery.Secret // the identity secret calls are checked against, if set
}

// VerifyWith makes the stand-in check each reported call's signature under
// secret (the app's Identity Verification Secret, a development one): the
// panel then says, call by call, whether Prefinery would accept it.
func (w *Widget) VerifyWith(secret prefinery.Secret) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.verify = secret
}

// verdict says whether a call's parameters carry a signature that verifies
// under the configured secret: "verified", "wrong", or "" (nothing to check).
func (w *Widget) verdict(params json.RawMessage) string {
	w.mu.Lock()
	s := w.verify
	w.mu.Unlock()
	key := secret.Of(s)
	var p map[string]any
	if key == nil || json.Unmarshal(params, &p) != nil {
		return ""
	}
	sig, _ := p["signature"].(string)
	if sig == "" {
		return ""
	}
	for _, kind := range []prefinery.Kind{prefinery.KindEmail, prefinery.KindReferralCode, prefinery.KindID} {
		if id, ok := p[string(kind)].(string); ok {
			if hmac.Equal([]byte(sig), []byte(key.Sign(id))) {
				return "verified"
			}
			return "wrong"
		}
	}
	return "wrong"
}

// New returns a Widget with no calls recorded.
func New() *Widget { return &Widget{} }

// ServeHTTP serves GET …/widget.js and records POST …/calls; anything else
// is 404 or 405 with a JSON error.
func (w *Widget) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/widget.js"):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			jsonError(rw, http.StatusMethodNotAllowed, "use GET")
			return
		}
		rw.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		rw.Header().Set("Cache-Control", "no-cache")
		_, _ = rw.Write(widgetJS)
	case strings.HasSuffix(r.URL.Path, "/webhook"):
		if r.Method != http.MethodPost {
			jsonError(rw, http.StatusMethodNotAllowed, "use POST")
			return
		}
		w.sendWebhook(rw, r)
	case strings.HasSuffix(r.URL.Path, "/calls"):
		if r.Method != http.MethodPost {
			jsonError(rw, http.StatusMethodNotAllowed, "use POST")
			return
		}
		var args []json.RawMessage
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxReport))
		if err != nil || json.Unmarshal(body, &args) != nil || len(args) == 0 {
			jsonError(rw, http.StatusBadRequest, "want a JSON array: the call's name, then its arguments")
			return
		}
		var name string
		if json.Unmarshal(args[0], &name) != nil || name == "" {
			jsonError(rw, http.StatusBadRequest, "the first element must be the call's name")
			return
		}
		w.mu.Lock()
		w.calls = append(w.calls, Call{Name: name, Args: args[1:]})
		w.mu.Unlock()
		var verdict string
		if len(args) > 1 {
			verdict = w.verdict(args[1])
		}
		if verdict == "" {
			rw.WriteHeader(http.StatusNoContent)
			return
		}
		rw.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(rw).Encode(map[string]string{"signature": verdict})
	default:
		jsonError(rw, http.StatusNotFound, "not found")
	}
}

// SendWebhooks adds a "Send a test webhook" button to the panel: it makes
// the stand-in hand endpoint (the app's webhook handler) a sample event,
// signed with signingSecret as Prefinery signs deliveries, and show the
// answer's status. The delivery is a request served in-process, never a
// connection: nothing in the button's request (its Host, say) can send it
// elsewhere. Use a development secret only.
func (w *Widget) SendWebhooks(endpoint http.Handler, signingSecret prefinery.Secret) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.webhook, w.webhookSecret = endpoint, signingSecret
}

// sendWebhook signs a sample event and hands it to the app's endpoint.
func (w *Widget) sendWebhook(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	endpoint, secret := w.webhook, w.webhookSecret
	w.mu.Unlock()
	if endpoint == nil {
		jsonError(rw, http.StatusNotFound, "no webhook endpoint configured (Widget.SendWebhooks)")
		return
	}
	body := []byte(`{"event":"tester_created","data":{"id":` + strconv.FormatInt(time.Now().UnixNano()%1e9, 10) + `,"email":"stand-in@example.com"},"stand_in":true}`)
	header, err := webhook.Sign(secret, time.Now(), body)
	if err != nil {
		jsonError(rw, http.StatusInternalServerError, "the webhook signing secret is not set")
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		jsonError(rw, http.StatusInternalServerError, "cannot build the delivery")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.Header, header)
	answer := &statusRecorder{header: http.Header{}}
	endpoint.ServeHTTP(answer, req)
	rw.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(rw).Encode(map[string]any{"status": answer.status()})
}

// statusRecorder is the response writer the in-process delivery is answered
// through: only the status matters to the panel.
type statusRecorder struct {
	header http.Header
	code   int
}

func (s *statusRecorder) Header() http.Header { return s.header }

func (s *statusRecorder) Write(p []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(p), nil
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// Calls returns the calls reported so far, oldest first.
func (w *Widget) Calls() []Call {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Call(nil), w.calls...)
}

// Reset forgets the calls reported so far.
func (w *Widget) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = nil
}

func jsonError(rw http.ResponseWriter, status int, message string) {
	rw.Header().Set("Content-Type", "application/json; charset=utf-8")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]string{"error": message})
}
