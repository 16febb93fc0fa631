// Package standin is an offline stand-in for Prefinery's JavaScript widget,
// for development and tests. Mount it on the app's own origin and point the
// kit's loader at it:
//
//	mux.Handle(standin.Path, standin.New())
//	cfg.WidgetURL = standin.WidgetURL // in prefinery.Config
//
// The page then runs the kit's snippet against a script that records every
// prefinery(…) call instead of sending it, lists the calls in a panel at the
// bottom of the page, renders a fake referral page for embedReferralPage, and
// reports each call back to the handler, where a test reads them with
// [Widget.Calls]. Never mount it in production: it is not Prefinery.
package standin

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

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

	webhookPath   string // the app's webhook endpoint, on the same host
	webhookSecret string // its signing secret (a development one)
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
		rw.WriteHeader(http.StatusNoContent)
	default:
		jsonError(rw, http.StatusNotFound, "not found")
	}
}

// SendWebhooks adds a "Send a test webhook" button to the panel: it makes
// the handler POST a sample event, signed with signingSecret as Prefinery
// signs deliveries, to path on the app's own host (the app's webhook
// endpoint). Use a development secret only.
func (w *Widget) SendWebhooks(path, signingSecret string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.webhookPath, w.webhookSecret = path, signingSecret
}

// sendWebhook signs a sample event and delivers it to the app.
func (w *Widget) sendWebhook(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	path, secret := w.webhookPath, w.webhookSecret
	w.mu.Unlock()
	if path == "" {
		jsonError(rw, http.StatusNotFound, "no webhook endpoint configured (Widget.SendWebhooks)")
		return
	}
	body := []byte(`{"event":"tester_created","data":{"id":` + strconv.FormatInt(time.Now().UnixNano()%1e9, 10) + `,"email":"stand-in@example.com"},"stand_in":true}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, scheme+"://"+r.Host+path, bytes.NewReader(body))
	if err != nil {
		jsonError(rw, http.StatusBadRequest, "bad webhook path")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Prefinery-Signature", "t="+ts+",v1="+hex.EncodeToString(mac.Sum(nil)))
	res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		jsonError(rw, http.StatusBadGateway, "the app's webhook endpoint did not answer")
		return
	}
	defer res.Body.Close()
	rw.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(rw).Encode(map[string]any{"status": res.StatusCode})
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
