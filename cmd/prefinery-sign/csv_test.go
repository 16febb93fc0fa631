package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCSV: -csv reads a column as CSV, so a quoted "Lovelace, Ada" is one
// field (cut -d, -f2 signed ` Ada"`); the column is found by its header,
// its number or on its own; a row with no identifier is an error on its
// line while the others are signed; a malformed file signs nothing.
func TestCSV(t *testing.T) {
	const people = "name,email\n\"Lovelace, Ada\",ada@example.com\n\"Hopper, Grace\",grace@example.com\n"
	adaGrace := "ada@example.com\t" + sign(t, "ada@example.com") + "\ngrace@example.com\t" + sign(t, "grace@example.com") + "\n"
	tests := []struct {
		name       string
		file       string // the CSV, written to a file unless args read "-"
		args       []string
		wantCode   int
		wantOut    string
		wantErrHas []string
		noErr      bool
	}{
		{name: "quoted fields, column by header", file: people, args: []string{"-column", "email"}, wantOut: adaGrace, noErr: true},
		{name: "header name in another case", file: people, args: []string{"-column", " EMAIL "}, wantOut: adaGrace},
		{name: "column found on its own", file: people, wantOut: adaGrace, wantErrHas: []string{`reading column 2, "email"`}},
		{name: "column by number, header skipped", file: "Name,E-Mail\n\"Lovelace, Ada\",ada@example.com\n\"Hopper, Grace\",grace@example.com\n",
			args: []string{"-column", "2"}, wantOut: adaGrace, wantErrHas: []string{`skipped the first line, "E-Mail"`}},
		{name: "column by number, no header", file: "\"Lovelace, Ada\",ada@example.com\n\"Hopper, Grace\",grace@example.com\n",
			args: []string{"-column", "2"}, wantOut: adaGrace, noErr: true},
		{name: "one column, no header", file: "ada@example.com\ngrace@example.com\n", wantOut: adaGrace, noErr: true},
		{name: "Excel: byte order mark, CRLF, Email address", file: "\ufeffName,Email address\r\n\"Lovelace, Ada\",ada@example.com\r\n\"Hopper, Grace\",grace@example.com\r\n",
			wantOut: adaGrace},
		{name: "a field across lines keeps line numbers", file: "note,email\n\"two\nlines\",ada@example.com\nx,\n",
			wantCode: 2, wantOut: "ada@example.com\t" + sign(t, "ada@example.com") + "\n", wantErrHas: []string{"line 4: not signed: the identifier is empty"}},
		{name: "empty cell, others signed", file: "name,email\nLovelace,ada@example.com\nNobody,\nHopper,grace@example.com\n",
			wantCode: 2, wantOut: adaGrace, wantErrHas: []string{"line 3: not signed: the identifier is empty"}},
		{name: "quoted empty cell", file: "email\n\"\"\nada@example.com\n", wantCode: 2,
			wantOut: "ada@example.com\t" + sign(t, "ada@example.com") + "\n", wantErrHas: []string{"line 2: not signed: the identifier is empty"}},
		{name: "short row", file: "name,email\nLovelace\nHopper,grace@example.com\n", args: []string{"-column", "email"}, wantCode: 2,
			wantOut: "grace@example.com\t" + sign(t, "grace@example.com") + "\n", wantErrHas: []string{"line 2: not signed: the row has 1 column(s), no column 2"}},
		{name: "json", file: people, args: []string{"-json", "-column", "email"},
			wantOut: `{"email":"ada@example.com","signature":"` + sign(t, "ada@example.com") + `"}` + "\n" + `{"email":"grace@example.com","signature":"` + sign(t, "grace@example.com") + `"}` + "\n"},
		{name: "referral codes by kind", file: "email,referral_code\nada@example.com,AB12\n", args: []string{"-kind", "referral_code"},
			wantOut: "AB12\t" + sign(t, "AB12") + "\n"},
		{name: "standard input", file: people, args: []string{"-csv", "-", "-column", "email"}, wantOut: adaGrace},
		{name: "no such column", file: people, args: []string{"-column", "mail"}, wantCode: 2, wantErrHas: []string{`no column "mail" in the first line, "name", "email"`}},
		{name: "no column named after the kind", file: "name,address\nLovelace,ada@example.com\n", wantCode: 2,
			wantErrHas: []string{"2 columns and none named email", "-column NAME or -column NUMBER"}},
		{name: "column 0", file: people, args: []string{"-column", "0"}, wantCode: 2, wantErrHas: []string{"numbered from 1"}},
		{name: "malformed: nothing signed", file: "email\nada@example.com\nbad\"quote@example.com\n", wantCode: 2, wantErrHas: []string{"line 3", "bare \" in non-quoted-field"}},
		{name: "empty file", file: "", wantOut: "", noErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, stdin := tt.args, ""
			if len(args) < 2 || args[0] != "-csv" {
				path := filepath.Join(t.TempDir(), "users.csv")
				require.NoError(t, os.WriteFile(path, []byte(tt.file), 0o600))
				args = append([]string{"-csv", path}, args...)
			} else {
				stdin = tt.file
			}
			var stdout, stderr strings.Builder
			code := run(args, strings.NewReader(stdin), &stdout, &stderr, withSecret)
			assert.Equal(t, tt.wantCode, code, "exit code; stderr: %s", stderr.String())
			assert.Equal(t, tt.wantOut, stdout.String())
			for _, want := range tt.wantErrHas {
				assert.Contains(t, stderr.String(), want)
			}
			if tt.noErr {
				assert.Empty(t, stderr.String())
			}
			assert.NotContains(t, stdout.String(), `Ada"`, "never a half of a quoted field")
		})
	}
}

// TestCSVMissingFile: an unreadable file is a usage error naming it.
func TestCSVMissingFile(t *testing.T) {
	var stdout, stderr strings.Builder
	missing := filepath.Join(t.TempDir(), "nope.csv")
	assert.Equal(t, exitUsage, run([]string{"-csv", missing}, nil, &stdout, &stderr, withSecret))
	assert.Contains(t, stderr.String(), missing)
	assert.Empty(t, stdout.String())
}
