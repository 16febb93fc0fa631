package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prefinerykit/prefinery"
)

const webhookSecretEnv = "PREFINERY_WEBHOOK_SECRET"

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
		body, err = io.ReadAll(io.LimitReader(stdin, 1<<20+1))
	} else {
		body, err = os.ReadFile(fs.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(stderr, "prefinery-sign webhook: reading the payload:", err)
		return exitUsage
	}
	secretText, err := webhookSecretText(*secretFile, lookupEnv, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "prefinery-sign webhook:", err)
		return exitUsage
	}
	if *ts == 0 {
		*ts = time.Now().Unix()
	}
	timestamp := strconv.FormatInt(*ts, 10)
	mac := hmac.New(sha256.New, []byte(secretText))
	mac.Write([]byte(timestamp + "."))
	mac.Write(body)
	header := "t=" + timestamp + ",v1=" + hex.EncodeToString(mac.Sum(nil))
	// Check it with the kit's own verifier, as a handler would.
	secret, _ := prefinery.NewSecret(secretText)
	if err := prefinery.VerifyWebhook(header, body, time.Unix(*ts, 0), time.Minute, secret); err != nil {
		fmt.Fprintln(stderr, "prefinery-sign webhook: the kit does not verify its own signature:", err)
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

// webhookSecretText reads the signing secret, with the kit's rules.
func webhookSecretText(secretFile string, lookupEnv func(string) (string, bool), stderr io.Writer) (string, error) {
	var b []byte
	if secretFile != "" {
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(stderr, nil)))
		_, err := prefinery.SecretFromFile(secretFile) // the checks and the permission warning
		slog.SetDefault(prev)
		if err != nil {
			return "", err
		}
		if b, err = os.ReadFile(secretFile); err != nil {
			return "", err
		}
	} else {
		v, ok := lookupEnv(webhookSecretEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("no secret: set %s (Prefinery: Integrations > Webhooks) or use -secret-file PATH", webhookSecretEnv)
		}
		if _, err := prefinery.NewSecret(v); err != nil {
			return "", fmt.Errorf("%s: %w", webhookSecretEnv, err)
		}
		b = []byte(v)
	}
	return string(b), nil
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
