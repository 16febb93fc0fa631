package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prefinerykit/prefinery/webhook"
)

const webhookSecretEnv = "PREFINERY_WEBHOOK_SECRET"

// maxPayload is the largest payload signed: the handler's default MaxBody.
const maxPayload = 1 << 20

const webhookUsage = `Usage:
  prefinery-sign webhook [-t UNIX] [-secret-file PATH] [-post URL] PAYLOAD

Signs a webhook payload (a file, or - for standard input) the way Prefinery
does: X-Prefinery-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of t.body>,
under the webhook signing secret from $PREFINERY_WEBHOOK_SECRET or
-secret-file. Prints the header; with -post, sends the signed delivery to a
URL on this machine (localhost, 127.0.0.1 or ::1) and prints the answer.

Flags:
%s
Examples:
  prefinery-sign webhook event.json
  prefinery-sign webhook -post http://127.0.0.1:8080/webhooks/prefinery event.json
`

// runWebhook is the webhook subcommand.
func runWebhook(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("prefinery-sign webhook", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ts := fs.Int64("t", 0, "the delivery's timestamp, unix seconds (default now)")
	secretFile := fs.String("secret-file", "", "read the signing secret from `PATH` instead of $"+webhookSecretEnv)
	post := fs.String("post", "", "POST the signed delivery to `URL` (this machine only)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var flags strings.Builder
			fs.SetOutput(&flags)
			fs.PrintDefaults()
			fmt.Fprintf(stdout, webhookUsage, flags.String())
			return exitOK
		}
		fmt.Fprintln(stderr, "prefinery-sign webhook:", err)
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "prefinery-sign webhook: give exactly one PAYLOAD (a file, or - for standard input)")
		return exitUsage
	}
	var body []byte
	var err error
	if fs.Arg(0) == "-" {
		body, err = io.ReadAll(io.LimitReader(stdin, maxPayload+1))
	} else {
		body, err = os.ReadFile(fs.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(stderr, "prefinery-sign webhook: reading the payload:", err)
		return exitUsage
	}
	if len(body) > maxPayload {
		fmt.Fprintf(stderr, "prefinery-sign webhook: the payload is over %d bytes (1 MiB, the webhook handler's default MaxBody); nothing signed\n", maxPayload)
		return exitUsage
	}
	signing, err := loadSecret(*secretFile, webhookSecretEnv, "Prefinery: Integrations > Webhooks", lookupEnv, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "prefinery-sign webhook:", err)
		return exitUsage
	}
	at := time.Now()
	if *ts != 0 {
		at = time.Unix(*ts, 0)
	}
	header, err := webhook.Sign(signing, at, body)
	if err != nil {
		fmt.Fprintln(stderr, "prefinery-sign webhook:", err)
		return exitUsage
	}
	if *post == "" {
		fmt.Fprintln(stdout, "X-Prefinery-Signature: "+header)
		return exitOK
	}
	if err := checkLocalURL(*post); err != nil {
		fmt.Fprintln(stderr, "prefinery-sign webhook: -post:", err)
		return exitUsage
	}
	req, err := http.NewRequest(http.MethodPost, *post, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(stderr, "prefinery-sign webhook: -post:", err)
		return exitUsage
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Prefinery-Signature", header)
	res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "prefinery-sign webhook: -post:", err)
		return exitMismatch
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	fmt.Fprintf(stdout, "%s\n%s", res.Status, answer)
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusCreated {
		return exitMismatch
	}
	return exitOK
}

// checkLocalURL accepts http(s) URLs on this machine only: the tool sends
// test deliveries, never to someone else's server.
func checkLocalURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not on this machine (localhost, 127.0.0.1, ::1)", raw)
}
