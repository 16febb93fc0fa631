package prefinery

import (
	"bufio"
	"context"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/prefinerykit/prefinery/internal/csp"
	"github.com/prefinerykit/prefinery/internal/htmlscan"
)

// autoInsertLimit is the largest HTML body, in bytes, AutoInsert holds to
// insert the snippet into. Longer bodies pass through untouched.
const autoInsertLimit = 2 << 20

// insertSnippet is Config.AutoInsert: it inserts the embed snippet before the
// last </body> of the app's own pages. It runs inside the identity middleware.
//
// Only a page a browser renders as the app's: a 200 text/html response to a
// GET or POST, without Content-Encoding, Content-Disposition or a
// Content-Security-Policy sandbox, at most autoInsertLimit bytes, whose last
// </body> stands in markup (not in a script, style, textarea, comment or
// attribute) whether scripting is on or off (<noscript> is markup in a
// sandboxed iframe), and where neither prefineryEmbed rendered the snippet
// nor a script of the page holds the queue stub.
// The body is scanned once, as it is written; Flush sends everything before
// the last </body> seen so far. Content-Length is corrected and validators
// are dropped, since the body changes.
func (k *Kit) insertSnippet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || (k.cfg.SkipAutoInsert != nil && k.cfg.SkipAutoInsert(r)) || k.cfg.WidgetURL == "" {
			next.ServeHTTP(w, r)
			return
		}
		iw := &insertWriter{ResponseWriter: w, kit: k, scan: htmlscan.New(stubJS)}
		iw.req = r.WithContext(context.WithValue(r.Context(), insertKey{}, iw))
		next.ServeHTTP(iw, iw.req)
		iw.finish()
	})
}

// insertKey is the context key under which AutoInsert listens for the embed
// helpers.
type insertKey struct{}

// markRendered records that the snippet was rendered for r's response.
func markRendered(r *http.Request) {
	if r == nil {
		return
	}
	if iw, ok := r.Context().Value(insertKey{}).(*insertWriter); ok {
		iw.rendered.Store(true)
	}
}

// insertWriter states.
const (
	undecided   = iota // nothing written yet
	buffering          // a page is being scanned and held for insertion
	passThrough        // not ours to touch: everything goes straight through
)

// insertWriter holds a page back from its last </body> on, until the handler
// returns, then inserts the snippet there.
type insertWriter struct {
	http.ResponseWriter
	kit      *Kit
	req      *http.Request
	rendered atomic.Bool // an embed helper ran for this response

	state      int
	status     int
	headerSent bool // the header went out with a Flush
	scan       *htmlscan.Scanner
	held       []byte // the page from offset base on, not sent yet
	base       int
}

func (iw *insertWriter) WriteHeader(code int) {
	if iw.state != undecided || code < 200 {
		if iw.state != buffering { // 1xx, or pass-through
			iw.ResponseWriter.WriteHeader(code)
		}
		return
	}
	iw.status = code
	if iw.Header().Get("Content-Type") != "" {
		iw.decide(nil)
	} // else wait for the first Write to sniff the content type, as net/http does
}

func (iw *insertWriter) Write(p []byte) (int, error) {
	if iw.state == undecided {
		iw.decide(p)
	}
	if iw.state == passThrough {
		return iw.ResponseWriter.Write(p)
	}
	if iw.base+len(iw.held)+len(p) > autoInsertLimit {
		iw.giveUp()
		return iw.ResponseWriter.Write(p)
	}
	iw.scan.Write(p)
	iw.held = append(iw.held, p...)
	return len(p), nil
}

// decide picks buffering or pass-through from the status and headers,
// sniffing the content type from the first bytes when the handler set none.
func (iw *insertWriter) decide(first []byte) {
	if iw.status == 0 {
		iw.status = http.StatusOK
	}
	h := iw.Header()
	if h.Get("Content-Type") == "" && first != nil {
		h.Set("Content-Type", http.DetectContentType(first)) // what net/http would send
	}
	if !iw.isAppPage(h) {
		if iw.status == http.StatusOK && h.Get("Content-Encoding") != "" && isHTML(h) && !iw.rendered.Load() {
			iw.kit.diag.report(encodedPage) // a compressor inside the kit: no page gets the snippet
		}
		iw.state = passThrough
		iw.ResponseWriter.WriteHeader(iw.status)
		return
	}
	iw.state = buffering
	h.Del("Content-Length") // the length changes; finish sets the new one
}

// isAppPage reports whether the response is a page a browser renders as the
// app's own, where the snippet belongs.
func (iw *insertWriter) isAppPage(h http.Header) bool {
	if iw.status != http.StatusOK || h.Get("Content-Encoding") != "" || h.Get("Content-Disposition") != "" ||
		h.Get("Content-Range") != "" || csp.Sandboxes(h) {
		return false
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err != nil || n > autoInsertLimit {
			return false
		}
	}
	return isHTML(h)
}

// isHTML reports whether the response's Content-Type is text/html.
func isHTML(h http.Header) bool {
	mediaType, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mediaType == "text/html"
}

// giveUp sends what is held and passes the rest through untouched.
func (iw *insertWriter) giveUp() {
	iw.sendHeader(false)
	iw.state = passThrough
	_, _ = iw.ResponseWriter.Write(iw.held)
	iw.held = nil
}

// sendHeader sends the header once. When the body changes (or may still:
// a Flush before the handler returned), the handler's validators go.
func (iw *insertWriter) sendHeader(bodyChanges bool) {
	if !iw.headerSent {
		iw.headerSent = true
		if bodyChanges {
			iw.Header().Del("ETag")
			iw.Header().Del("Last-Modified")
		}
		iw.ResponseWriter.WriteHeader(iw.status)
	}
}

// Flush sends everything before the last </body> seen so far, then flushes
// the underlying writer.
func (iw *insertWriter) Flush() {
	if iw.state == undecided {
		iw.decide(nil)
	}
	if iw.state == buffering {
		iw.sendHeader(true)
		n := iw.scan.HoldFrom() - iw.base
		if n > 0 {
			_, _ = iw.ResponseWriter.Write(iw.held[:n])
			iw.held, iw.base = iw.held[n:], iw.base+n
		}
	}
	_ = http.NewResponseController(iw.ResponseWriter).Flush()
}

// Hijack is http.Hijacker, where the underlying writer has it.
func (iw *insertWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(iw.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (iw *insertWriter) Unwrap() http.ResponseWriter { return iw.ResponseWriter }

// finish inserts the snippet and writes what is held.
func (iw *insertWriter) finish() {
	switch iw.state {
	case undecided: // no body was written
		if iw.status != 0 {
			iw.ResponseWriter.WriteHeader(iw.status)
		}
		return
	case passThrough:
		return
	}
	if iw.scan.MetaCSP() && iw.kit.cfg.Nonce == nil {
		iw.kit.diag.report(metaCSP)
	}
	page, inserted := iw.held, false
	if at := iw.scan.InsertionPoint() - iw.base; at >= 0 && !iw.rendered.Load() && !iw.scan.HasStub() {
		if snippet, err := iw.kit.embed(iw.req); err == nil {
			page, inserted = slices.Insert(page, at, []byte(snippet)...), true
		}
	}
	if !iw.headerSent {
		iw.Header().Set("Content-Length", strconv.Itoa(len(page)))
	}
	iw.sendHeader(inserted)
	_, _ = iw.ResponseWriter.Write(page)
}
