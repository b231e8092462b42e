package sql_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/srbackup/srbackup/shared/sql"
)

// roundTrip checks that every statement prints canonical SQL that parses
// back to an equal statement and prints the same again.
func roundTrip(stmts []sql.Statement, opts sql.Options) error {
	for i, s := range stmts {
		text := s.SQL()
		again, err := sql.ParseWithOptions(text, opts)
		if err != nil {
			return fmt.Errorf("statement %d: its SQL %q does not parse: %v", i, text, err)
		}
		if len(again) != 1 {
			return fmt.Errorf("statement %d: its SQL %q parses to %d statements", i, text, len(again))
		}
		if a, b := withoutPos(s), withoutPos(again[0]); !reflect.DeepEqual(a, b) {
			return fmt.Errorf("statement %d: %q parses back to a different statement\n got: %#v\nwant: %#v", i, text, b, a)
		}
		if text2 := again[0].SQL(); text2 != text {
			return fmt.Errorf("statement %d: SQL is not stable: %q then %q", i, text, text2)
		}
	}
	return nil
}

func TestRoundTrip(t *testing.T) {
	for _, c := range validCases {
		stmts, err := sql.Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if err := roundTrip(stmts, sql.Options{}); err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
		}
	}
}

func TestQuoting(t *testing.T) {
	for _, s := range []string{"", "plain", "a`b", "``", "it's", `back\slash`, "\x00\n\r\t\b\x1a", `\%\_`, "数据"} {
		stmts, err := sql.Parse("SHOW SNAPSHOT ON " + sql.QuoteIdent("r"+s) + " WHERE SNAPSHOT = " + sql.QuoteString("x"+s))
		if err != nil {
			t.Errorf("quoting %q: %v", s, err)
			continue
		}
		got := stmts[0].(*sql.ShowSnapshotStmt)
		if got.Repository != "r"+s || got.Snapshot != "x"+s {
			t.Errorf("quoting %q: read back %q and %q", s, got.Repository, got.Snapshot)
		}
	}
}
