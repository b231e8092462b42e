package parquetio_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/parquetio/parquettest"
)

// TestDuckDBReadsEveryKind has DuckDB read a file with every kind and edge
// values and checks each value against its source text: once as few rows
// as the fixture has (the default storage), once repeated past the sample
// the writer chooses each column's storage from (dictionary encoding or no
// compression where the sample suggests it).
func TestDuckDBReadsEveryKind(t *testing.T) {
	for _, repeat := range []int{1, 400} {
		t.Run(fmt.Sprintf("x%d", repeat), func(t *testing.T) { duckDBReadsEveryKind(t, repeat) })
	}
}

func duckDBReadsEveryKind(t *testing.T, repeat int) {
	duck := parquettest.NewDuckDB(t)
	var buf bytes.Buffer
	w, err := parquetio.NewWriter(&buf, parquetio.KindColumns, parquetio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var src [][][]byte
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range repeat * len(parquetio.KindRows) {
		r := parquetio.KindRows[i%len(parquetio.KindRows)]
		if repeat > 1 { // in random order, so that zstd alone does not do best
			r = parquetio.KindRows[rnd.IntN(len(parquetio.KindRows))]
		}
		vals := parquetio.ToValues(r)
		src = append(src, vals)
		if err := w.Write(vals); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if repeat > 1 {
		// The sample's choices are in the file.
		f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		var dict int
		for _, c := range f.Metadata().RowGroups[0].Columns {
			if slices.Contains(c.MetaData.Encoding, format.RLEDictionary) {
				dict++
			}
		}
		if dict == 0 {
			t.Fatal("no dictionary-encoded column in the file")
		}
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
