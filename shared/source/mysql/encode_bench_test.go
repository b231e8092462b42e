package mysql_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"os"
	"sort"
	"sync"
	"testing"

	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/parquetio/parquettest"
	"github.com/srbackup/srbackup/shared/source"
	"github.com/srbackup/srbackup/shared/source/mysql"
)

// memTable is one fixture table read once into memory.
type memTable struct {
	Name  string
	Cols  []source.Column
	Rows  [][][]byte
	Bytes int64 // canonical text
}

var memFixture struct {
	once   sync.Once
	tables []memTable
	err    error
}

// loadMemFixture reads every table of the benchmark fixture into memory.
// With SRBACKUP_BENCH_ROWS_CACHE=file, the rows are read from that file
// when it exists, with no server (e.g. under valgrind), and saved there
// when it does not.
func loadMemFixture(b *testing.B) []memTable {
	b.Helper()
	cache := os.Getenv("SRBACKUP_BENCH_ROWS_CACHE")
	if cache != "" {
		if f, err := os.Open(cache); err == nil {
			defer f.Close()
			memFixture.once.Do(func() { memFixture.err = gob.NewDecoder(bufio.NewReader(f)).Decode(&memFixture.tables) })
			if memFixture.err != nil {
				b.Fatal(memFixture.err)
			}
			return memFixture.tables
		}
	}
	dsn, db, _ := benchFixture(b)
	memFixture.once.Do(func() {
		defer func() {
			if memFixture.err == nil && cache != "" {
				memFixture.err = saveRows(cache, memFixture.tables)
			}
		}()
		ctx := context.Background()
		src, err := mysql.Open(ctx, dsn)
		if err != nil {
			memFixture.err = err
			return
		}
		defer src.Close()
		tables, err := src.Tables(ctx, db)
		if err != nil {
			memFixture.err = err
			return
		}
		for _, t := range tables {
			if t.Kind == source.KindSequence {
				continue
			}
			shards, err := src.PlanShards(ctx, db, t.Name, t.Name, 1<<40)
			if err != nil {
				// Partitioned: one shard set per partition.
				parts, perr := src.Partitions(ctx, db, t.Name)
				if perr != nil {
					memFixture.err = perr
					return
				}
				shards = nil
				for _, p := range parts {
					s, err := src.PlanPartition(ctx, db, t.Name, p, 1<<40)
					if err != nil {
						memFixture.err = err
						return
					}
					shards = append(shards, s...)
				}
			}
			mt := memTable{Name: t.Name}
			for _, sh := range shards {
				rows, err := src.OpenShard(ctx, sh)
				if err != nil {
					memFixture.err = err
					return
				}
				mt.Cols = rows.Columns()
				for rows.Next() {
					vals := rows.Values()
					row := make([][]byte, len(vals))
					for i, v := range vals {
						if v != nil {
							row[i] = bytes.Clone(v)
							if row[i] == nil {
								row[i] = []byte{}
							}
							mt.Bytes += int64(len(v))
						}
					}
					mt.Rows = append(mt.Rows, row)
				}
				if err := rows.Err(); err != nil {
					memFixture.err = err
					return
				}
				if err := rows.Close(); err != nil {
					memFixture.err = err
					return
				}
			}
			memFixture.tables = append(memFixture.tables, mt)
		}
		sort.Slice(memFixture.tables, func(i, j int) bool { return memFixture.tables[i].Name < memFixture.tables[j].Name })
	})
	if memFixture.err != nil {
		b.Fatal(memFixture.err)
	}
	return memFixture.tables
}

func saveRows(path string, tables []memTable) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := gob.NewEncoder(w).Encode(tables); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BenchmarkEncodeFixture encodes every table of the benchmark fixture (read
// once into memory first, so only the encoder is timed), one file per
// table, and reports the Parquet/source ratio of the whole fixture and of
// each table, and MB of source text per CPU-second. That rate includes
// collecting the fixture's own large heap, so it is no measure of the
// encoder's CPU: BenchmarkReadEncode and parquetio's BenchmarkEncode are.
func BenchmarkEncodeFixture(b *testing.B) {
	tables := loadMemFixture(b)
	var src int64
	for _, t := range tables {
		src += t.Bytes
	}
	sizes := make([]int64, len(tables))
	cpu := parquettest.CPUTime()
	for b.Loop() {
		for i, t := range tables {
			var out counter
			w, err := parquetio.NewWriter(&out, t.Cols, parquetio.Options{})
			if err != nil {
				b.Fatal(err)
			}
			for _, row := range t.Rows {
				if err := w.Write(row); err != nil {
					b.Fatalf("%s: %v", t.Name, err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			sizes[i] = out.n
		}
	}
	var total int64
	for i, t := range tables {
		total += sizes[i]
		b.ReportMetric(float64(sizes[i])/float64(t.Bytes), t.Name+"-parquet/source")
	}
	b.SetBytes(src)
	b.ReportMetric(float64(total)/(1<<20), "parquet-MiB")
	b.ReportMetric(float64(total)/float64(src), "parquet/source")
	b.ReportMetric(float64(src)*float64(b.N)/1e6/(parquettest.CPUTime()-cpu).Seconds(), "MB/cpu-s")
}

// counter is an io.Writer that only counts.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
