package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/standin"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testSecret = "aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw"

// vendor vectors from testdata/vectors (Node/Python/Ruby/PHP agree).
const sigUser = "77a363130290d42d905b3300cb9fa49b7f484e56300157c899a538ca5bca12b3" // user@example.com

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

var withSecret = env(map[string]string{secretEnv: testSecret})

// sign computes the expected signature independently, with crypto/hmac.
func sign(t *testing.T, id string) string {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(id))
	return hex.EncodeToString(mac.Sum(nil))
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte(testSecret), 0o600))
	looseFile := filepath.Join(dir, "loose")
	require.NoError(t, os.WriteFile(looseFile, []byte(testSecret), 0o644))
	otherSecretFile := filepath.Join(dir, "other")
	require.NoError(t, os.WriteFile(otherSecretFile, []byte("another-project-secret-0123456789"), 0o600))
	noEnv := env(nil)

	tests := []struct {
		name       string
		args       []string
		stdin      string
		env        func(string) (string, bool)
		wantCode   int
		wantOut    string // exact stdout, unless wantOutHas is set
		wantOutHas string
		wantErrHas []string
		noErr      bool
	}{
		{name: "one identifier", args: []string{"user@example.com"}, env: withSecret, wantOut: "user@example.com\t" + sigUser + "\n", noErr: true},
		{name: "several identifiers", args: []string{"a@x.com", "b@x.com"}, env: withSecret,
			wantOut: "a@x.com\t" + sign(t, "a@x.com") + "\nb@x.com\t" + sign(t, "b@x.com") + "\n"},
		{name: "stdin with dash", args: []string{"-"}, stdin: "user@example.com\r\nb@x.com\n", env: withSecret,
			wantOut: "user@example.com\t" + sigUser + "\nb@x.com\t" + sign(t, "b@x.com") + "\n"},
		{name: "stdin without args", stdin: "user@example.com\n", env: withSecret, wantOut: "user@example.com\t" + sigUser + "\n"},
		{name: "empty stdin", stdin: "", env: withSecret, wantOut: ""},
		{name: "json", args: []string{"-json", "user@example.com"}, env: withSecret,
			wantOut: `{"email":"user@example.com","signature":"` + sigUser + `"}` + "\n"},
		{name: "json referral code", args: []string{"-json", "-kind", "referral_code", "AB12"}, env: withSecret,
			wantOut: `{"referral_code":"AB12","signature":"` + sign(t, "AB12") + `"}` + "\n"},
		{name: "json id", args: []string{"-json", "-kind=id", "42"}, env: withSecret,
			wantOut: `{"id":"42","signature":"` + sign(t, "42") + `"}` + "\n"},
		{name: "json html-safe", args: []string{"-json", "</script>@x.com"}, env: withSecret,
			wantOut: `{"email":"\u003c/script\u003e@x.com","signature":"` + sign(t, "</script>@x.com") + `"}` + "\n"},
		{name: "json refuses invalid utf-8", args: []string{"-json", "a\xffb"}, env: withSecret, wantCode: 2, wantOut: "", wantErrHas: []string{"not valid UTF-8"}},
		{name: "unknown kind", args: []string{"-kind", "uuid", "x"}, env: withSecret, wantCode: 2, wantErrHas: []string{"-kind"}},
		{name: "secret file", args: []string{"-secret-file", secretFile, "user@example.com"}, env: noEnv, wantOut: "user@example.com\t" + sigUser + "\n", noErr: true},
		{name: "secret file over env", args: []string{"-secret-file", secretFile, "user@example.com"}, env: env(map[string]string{secretEnv: "another-project-secret-0123456789"}), wantOut: "user@example.com\t" + sigUser + "\n"},
		{name: "loose secret file warns", args: []string{"-secret-file", looseFile, "user@example.com"}, env: noEnv, wantOut: "user@example.com\t" + sigUser + "\n", wantErrHas: []string{"readable by group or others"}},
		{name: "missing secret file", args: []string{"-secret-file", filepath.Join(dir, "nope"), "x"}, env: noEnv, wantCode: 2, wantErrHas: []string{"no such file"}},
		{name: "no secret", args: []string{"x"}, env: noEnv, wantCode: 2, wantErrHas: []string{"no secret", secretEnv, "-secret-file"}},
		{name: "blank secret", args: []string{"x"}, env: env(map[string]string{secretEnv: ""}), wantCode: 2, wantErrHas: []string{"no secret"}},
		{name: "secret with a newline", args: []string{"x"}, env: env(map[string]string{secretEnv: testSecret + "\n"}), wantCode: 2, wantErrHas: []string{secretEnv, "line break"}},
		{name: "short secret", args: []string{"x"}, env: env(map[string]string{secretEnv: "short"}), wantCode: 2, wantErrHas: []string{"shorter than the minimum"}},
		{name: "secret as flag refused", args: []string{"-secret", testSecret, "x"}, env: noEnv, wantCode: 2, wantErrHas: []string{"never taken as a flag value"}},
		{name: "secret as flag= refused", args: []string{"-secret=" + testSecret, "x"}, env: noEnv, wantCode: 2, wantErrHas: []string{"never taken as a flag value"}},
		{name: "unknown flag", args: []string{"-frobnicate"}, env: withSecret, wantCode: 2, wantErrHas: []string{"-frobnicate", "-h"}},
		{name: "help", args: []string{"-h"}, env: noEnv, wantOutHas: "Exit codes: 0 ok, 1 mismatch (-verify), 2 usage"},
		{name: "verify ok", args: []string{"-verify", sigUser, "user@example.com"}, env: withSecret, wantOut: "ok\n", noErr: true},
		{name: "verify upper-case hex", args: []string{"-verify", strings.ToUpper(sigUser), "user@example.com"}, env: withSecret, wantOut: "ok\n"},
		{name: "verify mismatch", args: []string{"-verify", sigUser, "other@example.com"}, env: withSecret, wantCode: 1, wantOut: "mismatch\n",
			wantErrHas: []string{"whitespace or letter case", "rotated", "upper-case hex is fine"}},
		{name: "verify finds whitespace", args: []string{"-verify", sigUser, " user@example.com "}, env: withSecret, wantCode: 1, wantOut: "mismatch\n",
			wantErrHas: []string{"differs only in surrounding whitespace", "leading or trailing whitespace"}},
		{name: "verify finds case", args: []string{"-verify", sigUser, "User@Example.com"}, env: withSecret, wantCode: 1, wantOut: "mismatch\n",
			wantErrHas: []string{"differs only in letter case", "upper-case letters"}},
		{name: "verify wrong secret", args: []string{"-secret-file", otherSecretFile, "-verify", sigUser, "user@example.com"}, env: noEnv, wantCode: 1, wantOut: "mismatch\n", wantErrHas: []string{"secret differs"}},
		{name: "verify short signature", args: []string{"-verify", "abc", "user@example.com"}, env: withSecret, wantCode: 1, wantOut: "mismatch\n", wantErrHas: []string{"3 characters long"}},
		{name: "verify needs one identifier", args: []string{"-verify", sigUser}, env: withSecret, wantCode: 2, wantErrHas: []string{"exactly one IDENTIFIER"}},
		{name: "verify two identifiers", args: []string{"-verify", sigUser, "a", "b"}, env: withSecret, wantCode: 2, wantErrHas: []string{"exactly one IDENTIFIER"}},
		{name: "warns on whitespace, signs as is", args: []string{" user@example.com"}, env: withSecret,
			wantOut: " user@example.com\t" + sign(t, " user@example.com") + "\n", wantErrHas: []string{"leading or trailing whitespace"}},
		{name: "warns on upper-case email", args: []string{"User@example.com"}, env: withSecret,
			wantOut: "User@example.com\t" + sign(t, "User@example.com") + "\n", wantErrHas: []string{"upper-case letters"}},
		{name: "no case warning for referral codes", args: []string{"-kind", "referral_code", "ABC"}, env: withSecret,
			wantOut: "ABC\t" + sign(t, "ABC") + "\n", noErr: true},
		{name: "empty argument refused", args: []string{""}, env: withSecret, wantCode: 2, wantOut: "",
			wantErrHas: []string{"argument 1: not signed: the identifier is empty"}},
		{name: "empty argument refused, json", args: []string{"-json", ""}, env: withSecret, wantCode: 2, wantOut: "",
			wantErrHas: []string{"argument 1: not signed: the identifier is empty"}},
		{name: "empty argument among others", args: []string{"a@x.com", "", "b@x.com"}, env: withSecret, wantCode: 2,
			wantOut: "a@x.com\t" + sign(t, "a@x.com") + "\nb@x.com\t" + sign(t, "b@x.com") + "\n", wantErrHas: []string{"argument 2: not signed"}},
		{name: "empty stdin line", args: []string{"-"}, stdin: "a@x.com\n\nb@x.com\n", env: withSecret, wantCode: 2,
			wantOut: "a@x.com\t" + sign(t, "a@x.com") + "\nb@x.com\t" + sign(t, "b@x.com") + "\n", wantErrHas: []string{"line 2: not signed: the identifier is empty"}},
		{name: "empty stdin line, json", args: []string{"-json"}, stdin: "\r\n", env: withSecret, wantCode: 2, wantOut: "",
			wantErrHas: []string{"line 1: not signed: the identifier is empty"}},
		{name: "plain refuses invalid utf-8", args: []string{"a\xffb"}, env: withSecret, wantCode: 2, wantOut: "", wantErrHas: []string{"not valid UTF-8"}},
		{name: "plain refuses a control character", args: []string{"a\tb@x.com"}, env: withSecret, wantCode: 2, wantOut: "", wantErrHas: []string{"control character"}},
		{name: "verify refuses an empty identifier", args: []string{"-verify", sigUser, ""}, env: withSecret, wantCode: 2, wantOut: "",
			wantErrHas: []string{"the identifier is empty; the kit never signs such an identifier"}},
		{name: "column without csv", args: []string{"-column", "email"}, env: withSecret, wantCode: 2, wantErrHas: []string{"-column needs -csv FILE"}},
		{name: "csv with arguments", args: []string{"-csv", "-", "a@x.com"}, env: withSecret, wantCode: 2, wantErrHas: []string{"no IDENTIFIER arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr, tt.env)
			assert.Equal(t, tt.wantCode, code, "exit code; stderr: %s", stderr.String())
			if tt.wantOutHas != "" {
				assert.Contains(t, stdout.String(), tt.wantOutHas)
			} else {
				assert.Equal(t, tt.wantOut, stdout.String())
			}
			for _, want := range tt.wantErrHas {
				assert.Contains(t, stderr.String(), want)
			}
			if tt.noErr {
				assert.Empty(t, stderr.String())
			}
			assert.NotContains(t, stdout.String()+stderr.String(), testSecret, "the secret is never printed")
			assert.NotContains(t, stdout.String()+stderr.String(), "another-project-secret")
		})
	}
}

// TestBinary builds the real command and runs it the way a user would.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "prefinery-sign")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	cmd := exec.Command(bin, "-json", "-")
	cmd.Env = append(os.Environ(), secretEnv+"="+testSecret)
	cmd.Stdin = strings.NewReader("user@example.com\n")
	got, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, `{"email":"user@example.com","signature":"`+sigUser+`"}`+"\n", string(got))

	cmd = exec.Command(bin, "-verify", sigUser, "other@example.com")
	cmd.Env = append(os.Environ(), secretEnv+"="+testSecret)
	out, err = cmd.Output()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	assert.Equal(t, 1, exitErr.ExitCode())
	assert.Equal(t, "mismatch\n", string(out))

	cmd = exec.Command(bin, "x")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	err = cmd.Run()
	require.ErrorAs(t, err, &exitErr)
	assert.Equal(t, 2, exitErr.ExitCode(), "a missing secret exits 2")

	cmd = exec.Command(bin, "")
	cmd.Env = append(os.Environ(), secretEnv+"="+testSecret)
	out, err = cmd.Output()
	require.ErrorAs(t, err, &exitErr)
	assert.Equal(t, 2, exitErr.ExitCode(), "an empty identifier exits 2")
	assert.Empty(t, out, "and prints no signature")

	users := filepath.Join(t.TempDir(), "users.csv")
	require.NoError(t, os.WriteFile(users, []byte("name,email\n\"Lovelace, Ada\",ada@example.com\n"), 0o600))
	cmd = exec.Command(bin, "-csv", users, "-column", "email")
	cmd.Env = append(os.Environ(), secretEnv+"="+testSecret)
	out, err = cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "ada@example.com\t"+sign(t, "ada@example.com")+"\n", string(out))
}

func TestRunWebhook(t *testing.T) {
	const secret = "whsec-cli-0123456789abcdef"
	dir := t.TempDir()
	payload := filepath.Join(dir, "event.json")
	require.NoError(t, os.WriteFile(payload, []byte(`{"event":"tester_created"}`), 0o600))
	withWebhookSecret := env(map[string]string{webhookSecretEnv: secret})
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(`1612540400.{"event":"tester_created"}`))
	want := "X-Prefinery-Signature: t=1612540400,v1=" + hex.EncodeToString(mac.Sum(nil)) + "\n"

	var out, errOut strings.Builder
	code := run([]string{"webhook", "-t", "1612540400", payload}, nil, &out, &errOut, withWebhookSecret)
	assert.Equal(t, exitOK, code, errOut.String())
	assert.Equal(t, want, out.String())

	out.Reset()
	code = run([]string{"webhook", "-t", "1612540400", "-"}, strings.NewReader(`{"event":"tester_created"}`), &out, &errOut, withWebhookSecret)
	assert.Equal(t, exitOK, code)
	assert.Equal(t, want, out.String(), "standard input")

	// -post sends a delivery the kit's own handler accepts.
	var got []byte
	handler, err := webhook.NewHandler(webhook.Config{
		Secrets: []prefinery.Secret{mustSecret(t, secret)},
		Handle:  func(_ context.Context, d webhook.Delivery) error { got = d.Body; return nil },
	})
	require.NoError(t, err)
	srv := httptest.NewServer(handler)
	defer srv.Close()
	out.Reset()
	code = run([]string{"webhook", "-post", srv.URL, payload}, nil, &out, &errOut, withWebhookSecret)
	assert.Equal(t, exitOK, code, errOut.String())
	assert.Contains(t, out.String(), "200 OK")
	assert.Equal(t, `{"event":"tester_created"}`, string(got))

	for _, bad := range [][]string{
		{"webhook", "-post", "https://example.com/hook", payload},
		{"webhook"},
		{"webhook", filepath.Join(dir, "missing.json")},
	} {
		errOut.Reset()
		assert.Equal(t, exitUsage, run(bad, nil, &out, &errOut, withWebhookSecret), "%v", bad)
		assert.NotContains(t, errOut.String(), secret)
	}
	errOut.Reset()
	assert.Equal(t, exitUsage, run([]string{"webhook", payload}, nil, &out, &errOut, env(nil)))
	assert.Contains(t, errOut.String(), webhookSecretEnv)
}

func mustSecret(t *testing.T, s string) prefinery.Secret {
	t.Helper()
	secret, err := prefinery.NewSecret(s)
	require.NoError(t, err)
	return secret
}

// TestWebhookPayloadOverTheLimit: a payload over 1 MiB, from a file or
// standard input, is refused, never signed in part.
func TestWebhookPayloadOverTheLimit(t *testing.T) {
	big := strings.Repeat("x", 1<<20+10)
	file := filepath.Join(t.TempDir(), "big.json")
	require.NoError(t, os.WriteFile(file, []byte(big), 0o600))
	for _, args := range [][]string{{"webhook", "-"}, {"webhook", file}} {
		var out, errOut strings.Builder
		code := run(args, strings.NewReader(big), &out, &errOut, env(map[string]string{webhookSecretEnv: "whsec-cli-test-0123456789abcdef"}))
		assert.Equal(t, exitUsage, code, args)
		assert.Empty(t, out.String(), "nothing signed")
		assert.Contains(t, errOut.String(), "over 1048576 bytes")
	}
}

// TestRunAsAPersonTypesIt: flags after the arguments, a CSV column with its
// header, -version, no upper-case warning when the answer is ok, and a
// signature made with the demo's public secret named as the cause.
func TestRunAsAPersonTypesIt(t *testing.T) {
	withSecret := env(map[string]string{secretEnv: testSecret})
	var out, errOut strings.Builder
	code := run([]string{"bob@example.com", "-json"}, nil, &out, &errOut, withSecret)
	require.Equal(t, exitOK, code, errOut.String())
	assert.Equal(t, 1, strings.Count(out.String(), "\n"), "one identifier signed, not \"-json\" too")
	assert.Contains(t, out.String(), `{"email":"bob@example.com","signature":"`)

	out.Reset()
	errOut.Reset()
	code = run([]string{"-"}, strings.NewReader("email\nada@example.com\nbob@example.com\n"), &out, &errOut, withSecret)
	require.Equal(t, exitOK, code)
	assert.NotContains(t, out.String(), "email\t", "the CSV header is not signed")
	assert.Equal(t, 2, strings.Count(out.String(), "\n"))
	assert.Contains(t, errOut.String(), "skipped the first line")

	out.Reset()
	assert.Equal(t, exitOK, run([]string{"-version"}, nil, &out, &errOut, withSecret))
	assert.True(t, strings.HasPrefix(out.String(), "prefinery-sign "), out.String())

	key := hmac.New(sha256.New, []byte(testSecret))
	key.Write([]byte("Bob@Example.com"))
	good := hex.EncodeToString(key.Sum(nil))
	out.Reset()
	errOut.Reset()
	assert.Equal(t, exitOK, run([]string{"-verify", good, "Bob@Example.com"}, nil, &out, &errOut, withSecret))
	assert.Empty(t, errOut.String(), "no upper-case warning when the signature matches")

	demo := hmac.New(sha256.New, []byte(standin.DemoSecret))
	demo.Write([]byte("ada@example.com"))
	out.Reset()
	errOut.Reset()
	assert.Equal(t, exitMismatch, run([]string{"-verify", hex.EncodeToString(demo.Sum(nil)), "ada@example.com"}, nil, &out, &errOut, withSecret))
	assert.Contains(t, errOut.String(), "demo's public secret")
}
