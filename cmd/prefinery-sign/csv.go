package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/prefinerykit/prefinery"
)

// readCSV returns the identifiers in one column of the CSV file at path
// (standard input for "-"), read with encoding/csv, so quoted fields with
// commas, quotes or line breaks are one field. column is a header name, a
// 1-based number, or "" for the column named after kind (or a one-column
// file's column). A row without that column is a row with a problem; an
// unreadable or malformed file is an error, and nothing is signed.
func readCSV(path, column string, kind prefinery.Kind, stdin io.Reader, stderr io.Writer) ([]row, error) {
	in := stdin
	name := "standard input"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in, name = f, path
	}
	records, lines, err := readRecords(in)
	if err != nil {
		return nil, err
	}
	if len(records) == 0 {
		return nil, nil
	}
	col, header, err := pickColumn(records[0], column, kind, allOneColumn(records))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if header && column == "" {
		fmt.Fprintf(stderr, "prefinery-sign: reading column %d, %q, of %s\n", col+1, records[0][col], name)
	} else if !header && col < len(records[0]) && isHeader(records[0][col]) {
		fmt.Fprintf(stderr, "prefinery-sign: skipped the first line, %q: a column header, not an identifier\n", records[0][col])
		header = true
	}
	if header {
		records, lines = records[1:], lines[1:]
	}
	rows := make([]row, 0, len(records))
	for i, record := range records {
		r := row{where: fmt.Sprintf("line %d", lines[i])}
		if col < len(record) {
			r.identifier = record[col]
		} else {
			r.problem = fmt.Sprintf("the row has %d column(s), no column %d", len(record), col+1)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// readRecords reads every record of a CSV (any number of fields a row, a
// UTF-8 byte order mark dropped) with the line each starts on.
func readRecords(in io.Reader) (records [][]string, lines []int, err error) {
	br := bufio.NewReader(in)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		br.Discard(3)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	for {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			return records, lines, nil
		}
		if err != nil {
			return nil, nil, err // a *csv.ParseError names the line and column
		}
		line, _ := r.FieldPos(0)
		records = append(records, record)
		lines = append(lines, line)
	}
}

// pickColumn finds the 0-based column holding identifiers in a CSV whose
// first record is first, and whether that record is a header (to skip).
func pickColumn(first []string, column string, kind prefinery.Kind, oneColumn bool) (col int, header bool, err error) {
	if n, err := strconv.Atoi(column); err == nil {
		if n < 1 {
			return 0, false, fmt.Errorf("-column %d: columns are numbered from 1", n)
		}
		return n - 1, false, nil
	}
	if column != "" {
		for i, cell := range first {
			if headerName(cell) == headerName(column) {
				return i, true, nil
			}
		}
		return 0, false, fmt.Errorf("no column %q in the first line, %s", column, quoteAll(first))
	}
	for i, cell := range first {
		if k, ok := headerKind(cell); ok && k == kind {
			return i, true, nil
		}
	}
	if oneColumn {
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("%d columns and none named %s in the first line, %s: say which with -column NAME or -column NUMBER", len(first), kind, quoteAll(first))
}

// allOneColumn reports whether every record has a single field.
func allOneColumn(records [][]string) bool {
	for _, r := range records {
		if len(r) != 1 {
			return false
		}
	}
	return true
}

// headerName is a header cell as compared: letter case, surrounding
// whitespace and the difference between space, '-' and '_' ignored.
func headerName(cell string) string {
	return strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(cell)))
}

// headerKind reports which identifier kind a header cell names (email,
// e-mail, "Email address", referral_code, id, in any case).
func headerKind(cell string) (prefinery.Kind, bool) {
	switch headerName(strings.Trim(strings.TrimSpace(cell), `"`)) {
	case "email", "e_mail", "email_address", "e_mail_address":
		return prefinery.KindEmail, true
	case "referral_code":
		return prefinery.KindReferralCode, true
	case "id":
		return prefinery.KindID, true
	}
	return "", false
}

// isHeader reports whether a first line (or a first CSV cell) is a column
// header rather than an identifier.
func isHeader(cell string) bool {
	_, ok := headerKind(cell)
	return ok
}

func quoteAll(cells []string) string {
	quoted := make([]string, len(cells))
	for i, c := range cells {
		quoted[i] = strconv.Quote(c)
	}
	return strings.Join(quoted, ", ")
}
