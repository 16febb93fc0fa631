// Package e2e drives the example app in a real headless Chromium (Debian's
// chromium package) through chromedp: the rendered snippet runs, CSP nonces
// are honoured, and no identifier can inject script. It is a module of its own
// so that the library's go.mod does not carry chromedp. The tests skip, with a
// message, when no Chromium is found; .ci/run installs it.
//
// TestPromiseMatrix (matrix_test.go) runs every promise a browser can observe
// across the wiring modes and routers, one small app per column
// (matrix_app_test.go); SECURITY.md links each promise to its row.
package e2e
