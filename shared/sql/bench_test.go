package sql_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/sql"
)

const mib = 1 << 20

// bigBackup returns a BACKUP statement of at least size bytes naming
// distinct tables with partitions.
func bigBackup(size int) string {
	var b strings.Builder
	b.WriteString("BACKUP DATABASE db SNAPSHOT big TO repo ON (")
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "TABLE t%07d PARTITION (p1, `p 2`, 'p3')", i)
	}
	b.WriteString(") PROPERTIES ('timeout' = '3600')")
	return b.String()
}

// bigInputs are texts of about 1 MiB that must parse, or fail at their
// very end, in linear time.
func bigInputs() map[string]string {
	backup := bigBackup(mib)
	return map[string]string{
		"backup-objects":     backup,
		"backup-duplicate":   strings.Replace(backup, ") PROPERTIES", ", TABLE t0000000) PROPERTIES", 1),
		"backup-syntax-tail": backup + " ;;; SHOW BACKUPS",
		"comments":           "/*" + strings.Repeat("x ", mib/2) + "*/ SHOW BACKUP " + strings.Repeat("-- c\n", mib/5),
		"string-escapes":     "SHOW SNAPSHOT ON r WHERE SNAPSHOT = '" + strings.Repeat(`a\'b''c`, mib/7) + "'",
		"many-statements":    strings.Repeat("SHOW BACKUP FROM db; ", mib/21+1),
		"long-name":          "SHOW BACKUP FROM `" + strings.Repeat("n", mib) + "`",
		"dotted-name":        "BACKUP SNAPSHOT " + strings.Repeat("a.", mib/2) + "b TO r",
	}
}

func TestBigInputs(t *testing.T) {
	// long-name is longer than MaxIdentLen.
	wantErr := map[string]bool{"backup-duplicate": true, "backup-syntax-tail": true, "dotted-name": true, "long-name": true}
	for name, text := range bigInputs() {
		if len(text) < mib {
			t.Errorf("%s: only %d bytes", name, len(text))
		}
		_, err := sql.Parse(text)
		if (err != nil) != wantErr[name] {
			t.Errorf("%s: error %v, want error: %v", name, err, wantErr[name])
		}
		if err != nil && len(err.Error()) > 500 {
			t.Errorf("%s: error message of %d bytes", name, len(err.Error()))
		}
	}
}

// BenchmarkParseStatements parses the valid suite, one statement text at a
// time, and reports statements per second.
func BenchmarkParseStatements(b *testing.B) {
	var texts []string
	for _, c := range validCases {
		texts = append(texts, c.in)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, text := range texts {
			stmts, err := sql.Parse(text)
			if err != nil {
				b.Fatal(err)
			}
			n += len(stmts)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "stmts/s")
}

// BenchmarkParse1MiB reports MB/s for texts of about 1 MiB.
func BenchmarkParse1MiB(b *testing.B) {
	inputs := bigInputs()
	for _, name := range []string{"backup-objects", "backup-duplicate", "comments", "string-escapes", "many-statements"} {
		text := inputs[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				sql.Parse(text)
			}
		})
	}
}
