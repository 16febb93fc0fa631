package prefinery

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// autoInsertLimit is the largest HTML body, in bytes, AutoInsert buffers to
// insert the snippet into. Longer bodies pass through untouched.
const autoInsertLimit = 2 << 20

// insertSnippet is Config.AutoInsert: it inserts the embed snippet just before
// the last </body> of successful text/html responses. It runs inside the
// identity middleware.
//
// It leaves alone: HEAD requests, requests Config.Skip excludes, non-2xx
// statuses, non-HTML content, responses with a Content-Encoding, bodies over
// autoInsertLimit, bodies without </body>, and pages where prefineryEmbed
// already rendered the snippet or that contain the queue stub. It fixes
// Content-Length, keeps Flush working (content before the last </body> seen so
// far is sent at once) and supports http.ResponseController through Unwrap.
func (k *Kit) insertSnippet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || (k.skip != nil && k.skip(r)) || k.loaderURL == "" {
			next.ServeHTTP(w, r)
			return
		}
		iw := &insertWriter{ResponseWriter: w, kit: k}
		ctx := &insertContext{Context: r.Context(), w: iw}
		iw.req = r.WithContext(ctx)
		next.ServeHTTP(iw, iw.req)
		iw.finish()
	})
}

// insertKey is the context key under which AutoInsert listens for Embed.
type insertKey struct{}

// insertContext lets the embed helper tell the surrounding AutoInsert that the
// snippet is already on the page.
type insertContext struct {
	context.Context
	w *insertWriter
}

func (c *insertContext) Value(key any) any {
	if _, ok := key.(insertKey); ok {
		return c.w
	}
	return c.Context.Value(key)
}

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
	buffering          // an HTML 2xx body is being held for insertion
	passThrough        // not ours to touch: everything goes straight through
)

// insertWriter holds an HTML body until the handler returns, then inserts the
// snippet before its last </body>.
type insertWriter struct {
	http.ResponseWriter
	kit      *Kit
	req      *http.Request
	rendered atomic.Bool // the embed helper ran for this response

	state      int
	status     int
	headerSent bool // buffering, but the header went out with a Flush
	buf        bytes.Buffer
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
	if iw.buf.Len()+len(p) > autoInsertLimit {
		iw.giveUp()
		return iw.ResponseWriter.Write(p)
	}
	return iw.buf.Write(p)
}

// decide picks buffering or pass-through from the status and headers, sniffing
// the content type from the first bytes when the handler set none.
func (iw *insertWriter) decide(first []byte) {
	if iw.status == 0 {
		iw.status = http.StatusOK
	}
	h := iw.Header()
	eligible := iw.status >= 200 && iw.status < 300 && iw.status != http.StatusNoContent &&
		h.Get("Content-Encoding") == ""
	if cl := h.Get("Content-Length"); eligible && cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		eligible = err == nil && n <= autoInsertLimit
	}
	if eligible {
		ct := h.Get("Content-Type")
		if ct == "" && first != nil {
			ct = http.DetectContentType(first)
			h.Set("Content-Type", ct) // what net/http would have sniffed
		}
		eligible = strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "text/html")
	}
	if !eligible {
		iw.state = passThrough
		iw.ResponseWriter.WriteHeader(iw.status)
		return
	}
	iw.state = buffering
	h.Del("Content-Length") // the length changes; finish sets the new one
}

// giveUp sends what is held and passes the rest through untouched.
func (iw *insertWriter) giveUp() {
	iw.sendHeader()
	iw.state = passThrough
	_, _ = iw.ResponseWriter.Write(iw.buf.Bytes())
	iw.buf = bytes.Buffer{}
}

func (iw *insertWriter) sendHeader() {
	if !iw.headerSent {
		iw.headerSent = true
		iw.ResponseWriter.WriteHeader(iw.status)
	}
}

// Flush sends everything held except the part from the last possible </body>
// on, then flushes the underlying writer.
func (iw *insertWriter) Flush() {
	if iw.state == undecided {
		iw.decide(nil)
	}
	if iw.state == buffering {
		iw.sendHeader()
		_, _ = iw.ResponseWriter.Write(iw.buf.Next(holdBackFrom(iw.buf.Bytes())))
	}
	_ = http.NewResponseController(iw.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (iw *insertWriter) Unwrap() http.ResponseWriter { return iw.ResponseWriter }

// finish inserts the snippet and writes the held body.
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
	body := iw.buf.Bytes()
	if at := lastBodyClose(body); at >= 0 && !iw.rendered.Load() && !bytes.Contains(body, []byte(stubJS)) {
		if snippet, err := iw.kit.embed(iw.req); err == nil {
			body = slices.Insert(body, at, []byte(snippet)...)
		}
	}
	if !iw.headerSent {
		iw.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	iw.sendHeader()
	_, _ = iw.ResponseWriter.Write(body)
}

// lastBodyClose returns the index of the last "</body" (any case) followed by
// '>' or whitespace, or -1.
func lastBodyClose(b []byte) int {
	for i := len(b) - len("</body>"); i >= 0; i-- {
		if b[i] == '<' && b[i+1] == '/' && bytes.EqualFold(b[i+2:i+6], []byte("body")) {
			switch b[i+6] {
			case '>', ' ', '\t', '\n', '\r', '\f':
				return i
			}
		}
	}
	return -1
}

// holdBackFrom returns how much of b can be sent during a Flush: everything
// before the last </body>, or, without one, everything but a trailing
// fragment that could be the start of one.
func holdBackFrom(b []byte) int {
	if at := lastBodyClose(b); at >= 0 {
		return at
	}
	const tag = "</body>"
	for n := min(len(tag)-1, len(b)); n > 0; n-- {
		if bytes.EqualFold(b[len(b)-n:], []byte(tag[:n])) {
			return len(b) - n
		}
	}
	return len(b)
}
