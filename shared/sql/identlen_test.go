package sql_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/sql"
)

// TestIdentifierLength: identifiers are at most MaxIdentLen bytes (issue
// 12 §2); strings (principal ARNs, locations) are not identifiers.
func TestIdentifierLength(t *testing.T) {
	ok := strings.Repeat("é", sql.MaxIdentLen/2)
	if _, err := sql.Parse("SHOW BACKUP FROM `" + ok + "`"); err != nil {
		t.Errorf("a %d-byte name: %v", len(ok), err)
	}
	for _, text := range []string{
		"SHOW BACKUP FROM `" + strings.Repeat("n", sql.MaxIdentLen+1) + "`",
		"BACKUP DATABASE d SNAPSHOT s TO " + strings.Repeat("r", sql.MaxIdentLen+1),
	} {
		_, err := sql.Parse(text)
		var se *sql.Error
		if !errors.As(err, &se) || se.Kind != sql.AnalysisError || !strings.Contains(se.Message, "longer than 256") || len(se.Message) > 300 {
			t.Errorf("%.40s…: %v", text, err)
		}
	}
}
