package parquetio_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/parquetio/parquettest"
	"github.com/srbackup/srbackup/shared/source"
)

// counter is an io.Writer that only counts.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// orderColumns mimic a typical OLTP table (the fixture's orders).
var orderColumns = []source.Column{
	{Name: "id", Kind: source.KindUint, Bits: 64},
	{Name: "order_date", Kind: source.KindDate},
	{Name: "customer_id", Kind: source.KindUint, Bits: 64},
	{Name: "status", Kind: source.KindString},
	{Name: "item_count", Kind: source.KindUint, Bits: 16},
	{Name: "subtotal", Kind: source.KindDecimal, Precision: 14, Scale: 2},
	{Name: "total", Kind: source.KindDecimal, Precision: 14, Scale: 2},
	{Name: "ref", Kind: source.KindBytes},
	{Name: "address", Kind: source.KindString},
	{Name: "items", Kind: source.KindJSON},
	{Name: "note", Kind: source.KindString},
	{Name: "placed_at", Kind: source.KindDateTime, Scale: 6},
	{Name: "ratio", Kind: source.KindDouble},
}

// orderRows generates canonical text rows for orderColumns.
type orderRows struct {
	r    *rand.Rand
	id   uint64
	vals [][]byte
	buf  []byte
}

func newOrderRows() *orderRows {
	return &orderRows{r: rand.New(rand.NewPCG(1, 2)), vals: make([][]byte, len(orderColumns))}
}

var (
	statuses = []string{"pending", "paid", "shipped", "delivered", "cancelled"}
	streets  = []string{"Main Street", "Rue de Rivoli", "Hauptstraße", "Calle Mayor", "Via Roma", "High Street"}
	words    = strings.Fields("please leave the parcel at the door ring twice gift wrap fragile handle with care thank you")
)

// next fills vals with the next row and returns its size in bytes.
func (g *orderRows) next() int {
	g.id++
	r := g.r
	b := g.buf[:0]
	var ends [13]int
	put := func(i int) { ends[i] = len(b) }
	b = strconv.AppendUint(b, g.id, 10)
	put(0)
	b = fmt.Appendf(b, "20%02d-%02d-%02d", 18+r.IntN(7), 1+r.IntN(12), 1+r.IntN(28))
	put(1)
	b = strconv.AppendUint(b, uint64(r.IntN(1_000_000)), 10)
	put(2)
	b = append(b, statuses[r.IntN(len(statuses))]...)
	put(3)
	b = strconv.AppendInt(b, int64(1+r.IntN(6)), 10)
	put(4)
	sub := r.IntN(10_000_000)
	b = fmt.Appendf(b, "%d.%02d", sub/100, sub%100)
	put(5)
	b = fmt.Appendf(b, "%d.%02d", (sub+sub/5)/100, (sub+sub/5)%100)
	put(6)
	for range 16 {
		b = append(b, byte(r.Uint32()))
	}
	put(7)
	b = fmt.Appendf(b, "%d %s, %05d City %d", 1+r.IntN(999), streets[r.IntN(len(streets))], r.IntN(100000), r.IntN(5000))
	put(8)
	b = append(b, '[')
	for k := range 1 + r.IntN(4) {
		if k > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"sku":"SKU-%06d","qty":%d,"price":%d.%02d}`, r.IntN(100000), 1+r.IntN(5), r.IntN(500), r.IntN(100))
	}
	b = append(b, ']')
	put(9)
	for range 5 + r.IntN(20) {
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ' ')
	}
	put(10)
	b = fmt.Appendf(b, "20%02d-%02d-%02d %02d:%02d:%02d.%06d", 18+r.IntN(7), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1e6))
	put(11)
	b = strconv.AppendFloat(b, r.Float64(), 'g', -1, 64)
	put(12)
	g.buf = b
	start := 0
	for i, end := range ends {
		g.vals[i] = b[start:end:end]
		start = end
	}
	return len(b)
}

// BenchmarkEncode measures the encoder alone: MB/s of canonical source
// text, and the Parquet/source size ratio. zstd, snappy and none write one
// file; zstd-files cuts a new file every filesBytes of source text, as an
// upload worker writes one per partition (the bench fixture's orders: 27
// files of about 4 MiB), so each file's own costs (the sample, buffers
// that grow, the Parquet writer) count.
func BenchmarkEncode(b *testing.B) {
	const filesBytes = 4 << 20
	// Rows are generated first, so that only the encoder is timed.
	const rows = 200_000
	g := newOrderRows()
	pool := make([][][]byte, rows)
	var srcBytes int64
	for i := range pool {
		srcBytes += int64(g.next())
		pool[i] = make([][]byte, len(g.vals))
		for j, v := range g.vals {
			pool[i][j] = bytes.Clone(v)
		}
	}
	for _, mode := range []string{parquetio.CompressionZstd, parquetio.CompressionSnappy, parquetio.CompressionNone, "zstd-files"} {
		b.Run(mode, func(b *testing.B) {
			comp, limit := mode, int64(math.MaxInt64)
			if mode == "zstd-files" {
				comp, limit = parquetio.CompressionZstd, filesBytes
			}
			var out counter
			cpu := parquettest.CPUTime()
			for b.Loop() {
				out.n = 0
				var w *parquetio.Writer
				for i, row := range pool {
					if w == nil {
						var err error
						if w, err = parquetio.NewWriter(&out, orderColumns, parquetio.Options{Compression: comp}); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Write(row); err != nil {
						b.Fatal(err)
					}
					if w.Stats().SourceBytes >= limit || i == len(pool)-1 {
						if err := w.Close(); err != nil {
							b.Fatal(err)
						}
						w = nil
					}
				}
			}
			b.SetBytes(srcBytes)
			b.ReportMetric(float64(out.n)/float64(srcBytes), "parquet/source")
			b.ReportMetric(float64(srcBytes)*float64(b.N)/1e6/(parquettest.CPUTime()-cpu).Seconds(), "MB/cpu-s")
		})
	}
}

// BenchmarkEncodeLargeShard streams SRBACKUP_BENCH_SHARD_BYTES (default
// 2 GiB) of source text through one Writer into io.Discard and reports
// the process's peak resident memory. Run it alone:
//
//	go test ./shared/parquetio -run '^$' -bench EncodeLargeShard -benchtime 1x
func BenchmarkEncodeLargeShard(b *testing.B) {
	size := int64(2 << 30)
	if s := os.Getenv("SRBACKUP_BENCH_SHARD_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	g := newOrderRows()
	var out counter
	for b.Loop() {
		out.n = 0
		w, err := parquetio.NewWriter(&out, orderColumns, parquetio.Options{})
		if err != nil {
			b.Fatal(err)
		}
		var written int64
		for written < size {
			written += int64(g.next())
			if err := w.Write(g.vals); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(written)
		b.ReportMetric(float64(w.Stats().RowGroups), "row-groups")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(out.n)/float64(size), "parquet/source")
	b.ReportMetric(float64(parquettest.PeakRSS())/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MB")
}

// osStream is a parquetio.Stream over a local file, as the repository's
// stream is over an S3 object.
type osStream struct {
	f   *os.File
	r   *bufio.Reader
	pos int64
}

func (s *osStream) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.pos += int64(n)
	return n, err
}

func (s *osStream) ReadTail(n int64) ([]byte, error) {
	st, err := s.f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err = s.f.ReadAt(b, st.Size()-n)
	return b, err
}

func (s *osStream) Finish() error {
	_, err := io.Copy(io.Discard, s.r)
	return err
}

// BenchmarkReadLargeFile writes one Parquet file of
// SRBACKUP_BENCH_SHARD_BYTES (default 1 GiB) of source text to a temporary
// directory, then decodes every row of it twice, each time after resetting
// the process's peak RSS: streamed (OpenStream, as RESTORE reads) and read
// whole into memory (what RESTORE did before). Run it alone:
//
//	go test ./shared/parquetio -run '^$' -bench ReadLargeFile -benchtime 1x
func BenchmarkReadLargeFile(b *testing.B) {
	size := int64(1 << 30)
	if s := os.Getenv("SRBACKUP_BENCH_SHARD_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	path := filepath.Join(b.TempDir(), "large.parquet")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	w, err := parquetio.NewWriter(bw, orderColumns, parquetio.Options{})
	if err != nil {
		b.Fatal(err)
	}
	g := newOrderRows()
	var written int64
	for written < size {
		written += int64(g.next())
		if err := w.Write(g.vals); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	out.Close()
	st, _ := os.Stat(path)
	b.Logf("%d MB of source text, %d MB of Parquet in %d row groups", written>>20, st.Size()>>20, w.Stats().RowGroups)
	count := func(f *parquetio.File) {
		var n int64
		if err := f.Rows(func([][]byte) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != w.Stats().Rows {
			b.Fatalf("read %d rows, wrote %d", n, w.Stats().Rows)
		}
	}
	for _, mode := range []string{"stream", "whole"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				debug.FreeOSMemory()
				if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
					b.Skipf("cannot reset the peak RSS: %v", err)
				}
				if mode == "stream" {
					f, err := os.Open(path)
					if err != nil {
						b.Fatal(err)
					}
					pf, err := parquetio.OpenStream(&osStream{f: f, r: bufio.NewReaderSize(f, 256<<10)}, st.Size())
					if err != nil {
						b.Fatal(err)
					}
					count(pf)
					f.Close()
				} else {
					data, err := os.ReadFile(path)
					if err != nil {
						b.Fatal(err)
					}
					pf, err := parquetio.OpenFile(bytes.NewReader(data), int64(len(data)))
					if err != nil {
						b.Fatal(err)
					}
					count(pf)
					runtime.KeepAlive(data)
				}
			}
			b.SetBytes(written)
			b.ReportMetric(float64(parquettest.PeakRSS())/(1<<20), "peak-RSS-MB")
		})
	}
}
