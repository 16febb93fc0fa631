package standin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWidget(t *testing.T) {
	w := New()
	mux := http.NewServeMux()
	mux.Handle(Path, w)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + WidgetURL)
	require.NoError(t, err)
	js, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/javascript; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Contains(t, string(js), "window.prefineryCalls")

	post := func(body string) int {
		res, err := http.Post(srv.URL+Path+"calls", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusNoContent, post(`["authenticateUser",{"email":"a@b.c","signature":"00"}]`))
	assert.Equal(t, http.StatusNoContent, post(`["embedReferralPage",{"dom_id":"r"}]`))
	for _, bad := range []string{``, `{}`, `[]`, `[1]`, `[""]`, strings.Repeat("[", maxReport+1)} {
		assert.Equal(t, http.StatusBadRequest, post(bad), "%.20q", bad)
	}
	calls := w.Calls()
	require.Len(t, calls, 2)
	assert.Equal(t, "authenticateUser", calls[0].Name)
	assert.JSONEq(t, `{"email":"a@b.c","signature":"00"}`, string(calls[0].Args[0]))
	assert.Equal(t, "embedReferralPage", calls[1].Name)
	w.Reset()
	assert.Empty(t, w.Calls())

	res, err = http.Get(srv.URL + Path + "calls")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
}

// TestSendWebhookStaysInProcess: the panel's button delivers a signed sample
// event to the app's own webhook handler, in-process. A button request whose
// Host names another server (the demo as an SSRF) reaches only the app.
func TestSendWebhookStaysInProcess(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	secret, err := prefinery.NewSecret("whsec-standin-0123456789abcdef")
	require.NoError(t, err)
	var delivered atomic.Int64
	endpoint, err := webhook.NewHandler(webhook.Config{
		Secrets: []prefinery.Secret{secret},
		Handle:  func(context.Context, webhook.Delivery) error { delivered.Add(1); return nil },
	})
	require.NoError(t, err)
	w := New()
	w.SendWebhooks(endpoint, secret)

	req := httptest.NewRequest(http.MethodPost, Path+"webhook", nil)
	req.Host = strings.TrimPrefix(other.URL, "http://")
	rec := httptest.NewRecorder()
	w.ServeHTTP(rec, req)
	assert.JSONEq(t, `{"status":200}`, rec.Body.String(), "verified and accepted by the app's handler")
	assert.Equal(t, int64(1), delivered.Load())
	assert.Zero(t, elsewhere.Load(), "nothing was sent to the host the request named")

	rec = httptest.NewRecorder()
	New().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path+"webhook", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code, "no endpoint configured")
}

// TestVerifyWith: with the app's secret, each reported call is answered with
// whether its signature verifies; without one, 204 as before.
func TestVerifyWith(t *testing.T) {
	s, err := prefinery.NewSecret("standin-verify-secret-0123456789")
	require.NoError(t, err)
	key := hmac.New(sha256.New, []byte("standin-verify-secret-0123456789"))
	key.Write([]byte("ada@example.com"))
	good := hex.EncodeToString(key.Sum(nil))
	w := New()
	w.VerifyWith(s)
	post := func(body string) (int, string) {
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path+"calls", strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	code, body := post(`["authenticateUser",{"email":"ada@example.com","signature":"` + good + `"}]`)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"signature":"verified"}`, body)
	_, body = post(`["authenticateUser",{"email":"ada@example.com","signature":"` + strings.Repeat("0", 64) + `"}]`)
	assert.JSONEq(t, `{"signature":"wrong"}`, body)
	code, _ = post(`["addUser",{"first_name":"Ada"}]`)
	assert.Equal(t, http.StatusNoContent, code, "nothing signed: nothing to check")
}

// TestPanelShowsAReferralPageOnlyWhereAsked runs widget.js in Node on a fake
// DOM: a page that only authenticates shows no referral page (the panel used
// to show "Referral page for … (offline stand-in)" on every signed-in page);
// embedReferralPage fills its element, once; popupReferralPage shows one in
// the panel.
func TestPanelShowsAReferralPageOnlyWhereAsked(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: install Node.js to run the stand-in's script (.ci/run does)")
	}
	auth := `["authenticateUser",{"email":"ada@example.com","signature":"00"}]`
	pages := `[
		{"ids":["referrals"],"calls":[` + auth + `]},
		{"ids":["referrals"],"calls":[` + auth + `,["embedReferralPage",{"email":"ada@example.com","signature":"00","dom_id":"referrals"}]]},
		{"ids":[],"calls":[` + auth + `,["popupReferralPage",{"email":"ada@example.com","signature":"00"}]]}
	]`
	cmd := exec.Command(node, "testdata/panel.js")
	cmd.Stdin = strings.NewReader(pages)
	out, err := cmd.Output()
	require.NoError(t, err)
	type referralPage struct{ In, Text string }
	var got []struct {
		Panel         string
		ReferralPages []referralPage
	}
	require.NoError(t, json.Unmarshal(out, &got))
	require.Len(t, got, 3)
	page := referralPage{Text: "Referral page for ada@example.com (offline stand-in)"}

	assert.Contains(t, got[0].Panel, `prefinery("authenticateUser"`, "the panel lists the call")
	assert.NotContains(t, got[0].Panel, "Referral page", "a page that embeds no referral page shows none")
	assert.Empty(t, got[0].ReferralPages)

	page.In = "referrals"
	assert.Equal(t, []referralPage{page}, got[1].ReferralPages, "embedReferralPage: in its element, once")

	page.In = "panel"
	assert.Equal(t, []referralPage{page}, got[2].ReferralPages, "popupReferralPage: in the panel")
}
