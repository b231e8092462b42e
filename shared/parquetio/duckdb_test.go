package parquetio_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/parquetio/parquettest"
)

// TestDuckDBReadsEveryKind has DuckDB read a file with every kind and edge
// values and checks each value against its source text.
func TestDuckDBReadsEveryKind(t *testing.T) {
	duck := parquettest.NewDuckDB(t)
	var buf bytes.Buffer
	w, err := parquetio.NewWriter(&buf, parquetio.KindColumns, parquetio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var src [][][]byte
	for _, r := range parquetio.KindRows {
		vals := parquetio.ToValues(r)
		src = append(src, vals)
		if err := w.Write(vals); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kinds.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tables := duck.Read(t, path)
	if len(tables) != 1 || len(tables[0].Rows) != len(src) {
		t.Fatalf("DuckDB read %d files / rows %v", len(tables), tables)
	}
	for r := range src {
		for _, msg := range parquettest.CheckRow(w.Specs(), src[r], &tables[0], r) {
			t.Errorf("row %d: %s", r, msg)
		}
	}
}
