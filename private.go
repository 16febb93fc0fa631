package prefinery

import (
	"bufio"
	"net"
	"net/http"
)

// privateWriter wraps the response to a signed-in user. When the status line
// goes out it makes sure the response is not cacheable by shared caches, even
// if the handler set "Cache-Control: public" after the middleware marked it:
// a page that carries one user's signature must never be served to another.
type privateWriter struct {
	http.ResponseWriter
	kit     *Kit
	checked bool // Cache-Control has been enforced
}

// enforce runs once, just before the header is sent.
func (p *privateWriter) enforce() {
	if !p.checked {
		p.checked = true
		p.kit.markPrivate(p.ResponseWriter.Header())
	}
}

func (p *privateWriter) WriteHeader(code int) {
	if code >= 200 { // informational responses (103 Early Hints) are not final
		p.enforce()
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *privateWriter) Write(b []byte) (int, error) {
	p.enforce()
	return p.ResponseWriter.Write(b)
}

// FlushError flushes the underlying writer (http.ResponseController uses it).
func (p *privateWriter) FlushError() error {
	p.enforce()
	return http.NewResponseController(p.ResponseWriter).Flush()
}

// Flush is http.Flusher, for handlers that assert it directly.
func (p *privateWriter) Flush() { _ = p.FlushError() }

// Hijack is http.Hijacker, for handlers that assert it directly.
func (p *privateWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(p.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (p *privateWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
