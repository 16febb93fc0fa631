package e2e

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prefinerykit/prefinery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noscriptPost is a page carrying a comment an attacker wrote: with scripting
// on its <noscript> is raw text and harmless; with scripting off (a
// same-origin iframe sandboxed without allow-scripts) it is markup, and the
// textarea takes everything after it as its text.
const noscriptPost = `<!doctype html><html><head><title>Post</title></head><body><h1>Post</h1>` +
	`<p>Comment: <noscript><form action="/steal" method="post"><button id="go">Continue</button><textarea name="t"></noscript></p>` +
	`</body></html>`

// TestBrowserNoscriptScriptingOff (#31 §2.2): the attacker's page frames the
// victim's post in <iframe sandbox="allow-same-origin allow-forms">. With
// AutoInsert the framed textarea holds no signature and one click sends
// none; control: the same page with the snippet put before </body> without
// the scripting-off reading gives the textarea the signature, and the click
// sends it.
func TestBrowserNoscriptScriptingOff(t *testing.T) {
	h := newHarness(t)
	secret, err := prefinery.NewSecret(secretText)
	require.NoError(t, err)
	const victim = "victim@example.com"
	kit, err := prefinery.New(prefinery.Config{
		Secret: secret, WidgetURL: standInServer(t), AutoInsert: true,
		User: func(*http.Request) (string, bool) { return victim, true },
	})
	require.NoError(t, err)
	embed := template.Must(template.New("e").Funcs(kit.FuncMap()).Parse(`{{prefineryEmbed .}}`))
	stolen := make(chan string, 4)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /post", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(noscriptPost)) // AutoInsert decides
	})
	mux.HandleFunc("GET /naive", func(w http.ResponseWriter, r *http.Request) {
		var snippet strings.Builder
		if err := embed.Execute(&snippet, r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		i := strings.LastIndex(noscriptPost, "</body>") // where a scanner blind to scripting off inserts
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(noscriptPost[:i] + snippet.String() + noscriptPost[i:]))
	})
	mux.HandleFunc("GET /attacker", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><iframe id="f" sandbox="allow-same-origin allow-forms" src="` +
			template.HTMLEscapeString(r.URL.Query().Get("src")) + `"></iframe>`))
	})
	mux.HandleFunc("POST /steal", func(w http.ResponseWriter, r *http.Request) {
		stolen <- r.FormValue("t")
	})
	srv := httptest.NewServer(kit.Middleware(mux))
	t.Cleanup(srv.Close)
	signature := kit.Sign(victim)

	// framed loads path in the sandboxed iframe and returns the textarea's
	// value, then clicks the form's button and returns what /steal received.
	framed := func(path string) (field, sent string) {
		ctx := h.newUser()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/attacker?src="+path)))
		v, err := chromedp.Run(ctx, chromedp.Poll[string](`(d => d && d.readyState === "complete" && d.querySelector("textarea") && ("field:" + d.querySelector("textarea").value))(document.getElementById("f").contentDocument)`))
		require.NoError(t, err, path)
		scripted, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.getElementById("f").contentWindow.prefinery`))
		require.NoError(t, err)
		assert.False(t, scripted, "%s: the framed page runs no script (scripting off)", path)
		_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("f").contentDocument.getElementById("go").click(), true`))
		require.NoError(t, err)
		select {
		case sent = <-stolen:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the click sent nothing", path)
		}
		return strings.TrimPrefix(v, "field:"), sent
	}

	field, sent := framed("/naive")
	require.Contains(t, field, signature, "control: scripting off, the textarea takes the snippet")
	require.Contains(t, sent, signature, "control: one click sends the signature")

	field, sent = framed("/post")
	assert.NotContains(t, field, signature)
	assert.NotContains(t, sent, signature)
	assert.NotContains(t, sent, "authenticateUser")
}

// TestBrowserMetaCSPAsChromiumReadsIt: Chromium applies a <meta> policy only
// when http-equiv is content-security-policy in some ASCII case, untrimmed,
// after character references: what htmlscan's MetaCSP reports (TestFacts).
func TestBrowserMetaCSPAsChromiumReadsIt(t *testing.T) {
	h := newHarness(t)
	pages := map[string]bool{ // http-equiv as written: does the policy apply?
		`"Content-Security-Policy"`:          true,
		`CONTENT-SECURITY-POLICY`:            true,
		`"content&#45;security&#x2D;policy"`: true,
		`" content-security-policy"`:         false,
		`"content-security-policy "`:         false,
		`"content-ſecurity-policy"`:          false,
	}
	var mux http.ServeMux
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html><head><meta http-equiv=` + r.URL.Query().Get("equiv") +
			` content="script-src 'none'"></head><body><script>document.title = "ran"</script></body></html>`))
	})
	srv := httptest.NewServer(&mux)
	t.Cleanup(srv.Close)
	ctx := h.newUser()
	for equiv, applies := range pages {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/page?equiv="+url.QueryEscape(equiv))))
		title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.title`))
		require.NoError(t, err)
		assert.Equal(t, applies, title != "ran", "http-equiv=%s", equiv)
	}
}
