package sql_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/sql"
)

// FuzzParse checks, for any input: no panic; a failure is a *sql.Error with
// a 1-based position inside the text; a success round-trips through SQL()
// and marshals to JSON.
func FuzzParse(f *testing.F) {
	for _, c := range validCases {
		f.Add(c.in)
	}
	for _, c := range invalidCases {
		f.Add(strings.Replace(c.in, marker, "", 1))
	}
	f.Fuzz(func(t *testing.T, text string) {
		stmts, err := sql.Parse(text)
		if err != nil {
			e, ok := err.(*sql.Error)
			if !ok {
				t.Fatalf("error %T %v is not a *sql.Error", err, err)
			}
			lines := strings.Count(text, "\n") + 1
			if e.Line < 1 || e.Line > lines || e.Column < 1 || e.Message == "" || e.Detail == "" {
				t.Fatalf("bad error %+v for a text of %d lines", e, lines)
			}
			if e.Kind != sql.SyntaxError && e.Kind != sql.ParseRejection && e.Kind != sql.AnalysisError {
				t.Fatalf("bad error kind %d", e.Kind)
			}
			return
		}
		if len(stmts) == 0 {
			t.Fatal("no error and no statement")
		}
		if err := roundTrip(stmts, sql.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(sql.NewResult(stmts, nil)); err != nil {
			t.Fatalf("JSON: %v", err)
		}
	})
}
