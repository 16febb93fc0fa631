package main

import (
	"bufio"
	"crypto/hmac"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"unicode"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/secret"
	"github.com/prefinerykit/prefinery/standin"
)

// Exit codes.
const (
	exitOK       = 0 // signatures printed, or -verify matched
	exitMismatch = 1 // -verify did not match
	exitUsage    = 2 // bad usage, missing or unusable secret, unreadable input
)

const secretEnv = "PREFINERY_IDENTITY_SECRET"

const usage = `Usage:
  prefinery-sign [-kind KIND] [-json] [-secret-file PATH] IDENTIFIER...
  prefinery-sign [-kind KIND] [-json] [-secret-file PATH] [-] < identifiers.txt
  prefinery-sign [-kind KIND] [-json] [-secret-file PATH] -csv FILE [-column COLUMN]
  prefinery-sign [-secret-file PATH] -verify SIGNATURE IDENTIFIER
  prefinery-sign webhook [-t UNIX] [-secret-file PATH] [-post URL] PAYLOAD   (prefinery-sign webhook -h)

Computes Prefinery Identity Verification signatures (lowercase hex
HMAC-SHA256 of the identifier under the project's secret), with the code the
prefinery kit runs, or checks one.

The secret is read from the environment variable PREFINERY_IDENTITY_SECRET or
from the file given with -secret-file (which may end with one line break, as
editors write it; nothing more). It is never accepted as a flag value and
never printed.

Output: one "identifier<TAB>signature" line per identifier; with -json, one
object per line, exactly as prefinery('authenticateUser', ...) takes it.
With no IDENTIFIER, or "-", identifiers are read from standard input, one a
line. With -csv, they are one column of a CSV file (quoted fields such as
"Lovelace, Ada" read as CSV, not split at the comma): the column named
after -kind (email, referral_code, id) in the header, a one-column file's
only column, or the one -column names.

An identifier the kit would never sign (empty, not valid UTF-8, a control
character, over 4096 bytes) is not signed: an error names its argument or
line, the others are signed, and the exit code is 2. A first line that is a
column header (email, referral_code, id) is skipped with a note.

Flags:
%s
Examples:
  export PREFINERY_IDENTITY_SECRET="$(cat ~/.secrets/prefinery)"  # $(...) drops the newline
  prefinery-sign user@example.com
  prefinery-sign -json user@example.com
  prefinery-sign -kind referral_code -secret-file /run/secrets/prefinery AB12CD
  prefinery-sign -csv users.csv -column email      (or -column 2; - reads standard input)
  prefinery-sign -verify 8c1fea38...907e user@example.com
  prefinery-sign user@example.com -json        (flags may follow the arguments)

Exit codes: 0 ok, 1 mismatch (-verify), 2 usage or configuration error, or
an identifier refused.
`

// run is the whole command, testable in-process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	if len(args) > 0 && args[0] == "webhook" {
		return runWebhook(args[1:], stdin, stdout, stderr, lookupEnv)
	}
	fs := flag.NewFlagSet("prefinery-sign", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	kindName := fs.String("kind", string(prefinery.KindEmail), "identifier kind: email, referral_code or id")
	asJSON := fs.Bool("json", false, "print {\"<kind>\":\"…\",\"signature\":\"…\"} objects, one a line")
	secretFile := fs.String("secret-file", "", "read the secret from `PATH` instead of $"+secretEnv)
	verify := fs.String("verify", "", "check `SIGNATURE` against the single IDENTIFIER; exit 0 if it matches, 1 if not")
	showVersion := fs.Bool("version", false, "print the version and exit")
	csvFile := fs.String("csv", "", "read identifiers from one column of the CSV file `FILE` (- for standard input)")
	column := fs.String("column", "", "with -csv, the `COLUMN` of identifiers: a header name, or a number from 1 (as cut -f counts); default: the column named after -kind")
	printUsage := func(w io.Writer) {
		var flags strings.Builder
		fs.SetOutput(&flags)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintf(w, usage, flags.String())
	}
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return exitOK
		}
		if strings.Contains(err.Error(), "-secret") && !strings.Contains(err.Error(), "-secret-file") {
			fmt.Fprintln(stderr, "prefinery-sign: the secret is never taken as a flag value (it would land in the shell history and ps); set "+secretEnv+" or use -secret-file PATH")
			return exitUsage
		}
		fmt.Fprintln(stderr, "prefinery-sign:", err)
		fmt.Fprintln(stderr, "Run prefinery-sign -h for usage.")
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, "prefinery-sign", version())
		return exitOK
	}
	kind := prefinery.Kind(*kindName)
	switch kind {
	case prefinery.KindEmail, prefinery.KindReferralCode, prefinery.KindID:
	default:
		fmt.Fprintf(stderr, "prefinery-sign: -kind %q: want email, referral_code or id\n", *kindName)
		return exitUsage
	}

	switch {
	case *column != "" && *csvFile == "":
		fmt.Fprintln(stderr, "prefinery-sign: -column needs -csv FILE (- for standard input)")
		return exitUsage
	case *csvFile != "" && (*verify != "" || len(positional) > 0):
		fmt.Fprintln(stderr, "prefinery-sign: -csv FILE reads the identifiers; give no IDENTIFIER arguments and no -verify with it")
		return exitUsage
	}

	s, err := loadSecret(*secretFile, secretEnv, "copied from Prefinery's project settings", lookupEnv, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "prefinery-sign:", err)
		return exitUsage
	}
	key := secret.Of(s) // the kit's own signing code, without a Kit

	if *verify != "" {
		if len(positional) != 1 || positional[0] == "-" {
			fmt.Fprintln(stderr, "prefinery-sign: -verify takes exactly one IDENTIFIER argument")
			return exitUsage
		}
		if err := refusal(kind, positional[0]); err != nil {
			fmt.Fprintf(stderr, "prefinery-sign: %s; the kit never signs such an identifier\n", err)
			return exitUsage
		}
		return verifyOne(key, kind, *verify, positional[0], stdout, stderr)
	}

	var rows []row
	switch {
	case *csvFile != "":
		if rows, err = readCSV(*csvFile, *column, kind, stdin, stderr); err != nil {
			fmt.Fprintln(stderr, "prefinery-sign: -csv:", err)
			return exitUsage
		}
	case len(positional) == 0 || (len(positional) == 1 && positional[0] == "-"):
		if rows, err = readLines(stdin, stderr); err != nil {
			fmt.Fprintln(stderr, "prefinery-sign: reading standard input:", err)
			return exitUsage
		}
	default:
		for i, identifier := range positional {
			rows = append(rows, row{where: fmt.Sprintf("argument %d", i+1), identifier: identifier})
		}
	}
	code := exitOK
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	for _, r := range rows {
		if r.problem != "" {
			fmt.Fprintf(stderr, "prefinery-sign: %s: not signed: %s\n", r.where, r.problem)
			code = exitUsage
			continue
		}
		if err := refusal(kind, r.identifier); err != nil {
			fmt.Fprintf(stderr, "prefinery-sign: %s: not signed: %s\n", r.where, err)
			code = exitUsage
			continue
		}
		warn(stderr, kind, r.identifier)
		id := prefinery.Identity{Kind: kind, Identifier: r.identifier, Signature: key.Sign(r.identifier)}
		if !*asJSON {
			fmt.Fprintf(out, "%s\t%s\n", r.identifier, id.Signature)
			continue
		}
		b, _ := id.MarshalJSON() // refusal checked what it refuses
		out.Write(b)
		out.WriteByte('\n')
	}
	return code
}

// row is one identifier to sign and where it came from ("argument 2",
// "line 7"), for its error; problem says why a row holds none.
type row struct{ where, identifier, problem string }

// refusal is why the kit would never sign and emit identifier (empty,
// invalid UTF-8, a control character, too long), or nil: the same check in
// plain and -json output, by the kit's own code.
func refusal(kind prefinery.Kind, identifier string) error {
	probe := prefinery.Identity{Kind: kind, Identifier: identifier, Signature: strings.Repeat("0", secret.SignatureLength)}
	if _, err := probe.MarshalJSON(); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), prefinery.ErrInvalidIdentifier.Error()+": "))
	}
	return nil
}

// loadSecret reads the secret from the environment variable envName, or from
// secretFile, with the kit's checks. Warnings (a group-readable secret file)
// go to stderr.
func loadSecret(secretFile, envName, where string, lookupEnv func(string) (string, bool), stderr io.Writer) (prefinery.Secret, error) {
	var (
		s   prefinery.Secret
		err error
	)
	if secretFile != "" {
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(stderr, nil)))
		s, err = prefinery.SecretFromFile(secretFile)
		slog.SetDefault(prev)
	} else {
		v, ok := lookupEnv(envName)
		if !ok || v == "" {
			return prefinery.Secret{}, fmt.Errorf("no secret: set %s (%s) or use -secret-file PATH", envName, where)
		}
		if s, err = prefinery.NewSecret(v); err != nil {
			err = fmt.Errorf("%s: %w", envName, err)
		}
	}
	return s, err
}

// matches reports whether signature (either hex case) is identifier's.
func matches(key *secret.Key, identifier, signature string) bool {
	return hmac.Equal([]byte(strings.ToLower(signature)), []byte(key.Sign(identifier)))
}

// verifyOne checks signature and explains a mismatch.
func verifyOne(key *secret.Key, kind prefinery.Kind, signature, identifier string, stdout, stderr io.Writer) int {
	if matches(key, identifier, signature) {
		fmt.Fprintln(stdout, "ok")
		return exitOK
	}
	warn(stderr, kind, identifier)
	fmt.Fprintln(stdout, "mismatch")
	fmt.Fprintf(stderr, "The signature is not %q's signature under this secret. Common causes:\n", identifier)
	if len(signature) != secret.SignatureLength {
		fmt.Fprintf(stderr, "  - it is %d characters long; a signature is %d hex characters\n", len(signature), secret.SignatureLength)
	}
	if t := strings.TrimSpace(identifier); t != identifier && t != "" && matches(key, t, signature) {
		fmt.Fprintf(stderr, "  - it IS the signature of %q: the identifier differs only in surrounding whitespace\n", t)
	}
	if l := strings.ToLower(identifier); l != identifier && matches(key, l, signature) {
		fmt.Fprintf(stderr, "  - it IS the signature of %q: the identifier differs only in letter case\n", l)
	}
	fmt.Fprintln(stderr, "  - whitespace or letter case in the identifier differs from what was signed (the kit signs bytes exactly)")
	if demo := secret.New(standin.DemoSecret); hmac.Equal([]byte(strings.ToLower(signature)), []byte(demo.Sign(identifier))) {
		fmt.Fprintln(stderr, "  - it IS the signature under the demo's public secret (DEMO-ONLY-…): the app ran without PREFINERY_IDENTITY_SECRET, and Prefinery refuses it")
	}
	fmt.Fprintln(stderr, "  - the secret differs: another project's, or rotated (regenerated) in Prefinery since")
	fmt.Fprintln(stderr, "  - the signature was computed for another identifier kind or value")
	fmt.Fprintln(stderr, "  (upper-case hex is fine: signatures are compared case-insensitively)")
	return exitMismatch
}

// warn points out what most often causes a 403, without changing the identifier.
func warn(stderr io.Writer, kind prefinery.Kind, identifier string) {
	if strings.TrimSpace(identifier) != identifier {
		fmt.Fprintf(stderr, "warning: %q has leading or trailing whitespace; it is signed as is\n", identifier)
	}
	if kind == prefinery.KindEmail && strings.IndexFunc(identifier, unicode.IsUpper) >= 0 {
		fmt.Fprintf(stderr, "warning: %q has upper-case letters; Prefinery must have the address in exactly this case\n", identifier)
	}
}

// parseInterspersed parses flags wherever they stand among the arguments
// (prefinery-sign bob@example.com -json), as a person debugging a 403 types
// them; everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// version is the module version the command was built from (built from a
// clone, a pseudo-version naming the commit).
func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

// readLines returns the lines of r without their line endings (LF or CRLF),
// a first line that is a column header skipped with a note on stderr.
func readLines(r io.Reader, stderr io.Writer) ([]row, error) {
	var rows []row
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if n == 1 && isHeader(line) {
			fmt.Fprintf(stderr, "prefinery-sign: skipped the first line, %q: a column header, not an identifier\n", line)
			continue
		}
		rows = append(rows, row{where: fmt.Sprintf("line %d", n), identifier: line})
	}
	return rows, sc.Err()
}
