package parquetio

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/srbackup/srbackup/shared/source"
)

// kindColumns has one column of each kind, with the source attributes
// source/mysql would give them.
var kindColumns = []source.Column{
	{Name: "i8", Kind: source.KindInt, Bits: 8, SourceType: "tinyint(4)"},
	{Name: "u8", Kind: source.KindUint, Bits: 8, SourceType: "tinyint(3) unsigned"},
	{Name: "i24", Kind: source.KindInt, Bits: 24, SourceType: "mediumint(9)"},
	{Name: "u32", Kind: source.KindUint, Bits: 32, SourceType: "int(10) unsigned"},
	{Name: "i64", Kind: source.KindInt, Bits: 64, SourceType: "bigint(20)"},
	{Name: "u64", Kind: source.KindUint, Bits: 64, SourceType: "bigint(20) unsigned"},
	{Name: "d5", Kind: source.KindDecimal, Precision: 5, Scale: 2, SourceType: "decimal(5,2)"},
	{Name: "d18", Kind: source.KindDecimal, Precision: 18, Scale: 6, SourceType: "decimal(18,6)"},
	{Name: "d38", Kind: source.KindDecimal, Precision: 38, Scale: 10, SourceType: "decimal(38,10)"},
	{Name: "d65", Kind: source.KindDecimal, Precision: 65, Scale: 30, SourceType: "decimal(65,30)"},
	{Name: "f", Kind: source.KindFloat, SourceType: "float"},
	{Name: "g", Kind: source.KindDouble, SourceType: "double"},
	{Name: "b1", Kind: source.KindBit, Bits: 1, SourceType: "bit(1)"},
	{Name: "b64", Kind: source.KindBit, Bits: 64, SourceType: "bit(64)"},
	{Name: "dt", Kind: source.KindDate, SourceType: "date"},
	{Name: "dtm", Kind: source.KindDateTime, Scale: 6, SourceType: "datetime(6)"},
	{Name: "ts", Kind: source.KindTimestamp, Scale: 3, SourceType: "timestamp(3)"},
	{Name: "tm", Kind: source.KindTime, Scale: 6, SourceType: "time(6)"},
	{Name: "y", Kind: source.KindYear, Precision: 4, SourceType: "year(4)"},
	{Name: "s", Kind: source.KindString, SourceType: "varchar(20)", Charset: "utf8mb4", Collation: "utf8mb4_general_ci"},
	{Name: "j", Kind: source.KindJSON, SourceType: "longtext", Charset: "utf8mb4", Collation: "utf8mb4_bin"},
	{Name: "bin", Kind: source.KindBytes, SourceType: "blob"},
	{Name: "geo", Kind: source.KindGeometry, SourceType: "geometry"},
	{Name: "dt__raw", Kind: source.KindString, SourceType: "text"}, // collides with dt's companion
}

func mustHex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// kindRows are canonical text rows for kindColumns; "\x00NULL" is NULL.
var kindRows = [][]string{
	{"-128", "255", "-8388608", "4294967295", "-9223372036854775808", "18446744073709551615",
		"-999.99", "-999999999999.999999", "-9999999999999999999999999999.9999999999",
		"-99999999999999999999999999999999999.999999999999999999999999999999",
		"3.4028234663852886e+38", "-1.7976931348623157e+308", "\x01", "\xff\xff\xff\xff\xff\xff\xff\xff",
		"0001-01-01", "1000-01-01 00:00:00.000000", "1970-01-01 00:00:01.000", "-838:59:59.999999", "1901",
		"héllo wörld €", `{"a": [1, 2.50, "x"]}`, "\x00\x01\xfe\xff", mustHex("e6100000010100000000000000000000000000000000000040"), "x"},
	{"127", "0", "8388607", "0", "9223372036854775807", "0",
		"999.99", "0.000001", "0.0000000001", "0.000000000000000000000000000001",
		"1.401298464324817e-45", "5e-324", "\x00", "\x00\x00\x00\x00\x00\x00\x00\x00",
		"9999-12-31", "9999-12-31 23:59:59.999999", "2038-01-19 03:14:07.999", "838:59:59.000000", "2155",
		"", "null", "", mustHex("000000000101000000000000000000f03f0000000000000040"), ""},
	{"0", "1", "0", "1", "0", "1", "0.00", "0.000000", "0.0000000000", "0.000000000000000000000000000000",
		"0", "0", "\x00", "\x80\x00\x00\x00\x00\x00\x00\x01",
		"0000-00-00", "0000-00-00 00:00:00.000000", "0000-00-00 00:00:00.000", "00:00:00.000000", "0000",
		"'quote' `tick` \\ \n\t", "[]", "\x00", mustHex("110f0000010100000000000000000000000000000000000000"), "\x00NULL"},
	{"\x00NULL", "\x00NULL", "\x00NULL", "\x00NULL", "\x00NULL", "\x00NULL", "\x00NULL", "\x00NULL", "\x00NULL", "\x00NULL",
		"\x00NULL", "\x00NULL", "\x00NULL", "\x00NULL", "2024-02-00", "2024-00-15 01:02:03.500000", "\x00NULL", "-00:00:00.500000", "\x00NULL",
		"\x00NULL", "\x00NULL", "\x00NULL", "\x00NULL", "\x00NULL"},
}

func toValues(row []string) [][]byte {
	vals := make([][]byte, len(row))
	for i, s := range row {
		if s != "\x00NULL" {
			vals[i] = []byte(s)
		}
	}
	return vals
}

// writeFile writes rows through a Writer and returns the file.
func writeFile(t testing.TB, cols []source.Column, rows [][]string, opts Options) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, cols, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		vals := toValues(r)
		if err := w.Write(vals); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals { // the writer must have copied them
			for i := range v {
				v[i] = '#'
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.Stats()
}

// readFile reads a file back as canonical text rows.
func readFile(t testing.TB, data []byte) [][]string {
	t.Helper()
	f, err := OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	err = f.Rows(func(vals [][]byte) error {
		row := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = "\x00NULL"
			} else {
				row[i] = string(v)
			}
		}
		got = append(got, row)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRoundTripEveryKind(t *testing.T) {
	for _, comp := range []string{"", CompressionSnappy, CompressionNone} {
		t.Run("compression="+comp, func(t *testing.T) {
			data, stats := writeFile(t, kindColumns, kindRows, Options{Compression: comp})
			if stats.Rows != int64(len(kindRows)) || stats.ParquetBytes != int64(len(data)) || stats.RowGroups != 1 {
				t.Errorf("stats = %+v for %d rows, %d bytes", stats, len(kindRows), len(data))
			}
			got := readFile(t, data)
			if len(got) != len(kindRows) {
				t.Fatalf("read %d rows, wrote %d", len(got), len(kindRows))
			}
			for r := range kindRows {
				for c, col := range kindColumns {
					if got[r][c] != kindRows[r][c] {
						t.Errorf("row %d column %s: read %q, wrote %q", r, col.Name, got[r][c], kindRows[r][c])
					}
				}
			}
		})
	}
}

func TestSchema(t *testing.T) {
	data, _ := writeFile(t, kindColumns, kindRows[:1], Options{})
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fd := range f.Schema().Fields() {
		names = append(names, fd.Name())
	}
	want := "i8 u8 i24 u32 i64 u64 d5 d18 d38 d65 f g b1 b64 dt dt__raw_ dtm dtm__raw ts ts__raw tm y s j bin geo geo__srid dt__raw"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("columns:\n got %s\nwant %s", got, want)
	}
	specs, err := Specs(kindColumns)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, s := range specs {
		types[s.Name] = s.Physical + " " + s.Logical
	}
	for name, want := range map[string]string{
		"i8":  "INT32 INT(8,true)",
		"u64": "INT64 INT(64,false)",
		"d5":  "INT32 DECIMAL(5,2)",
		"d18": "INT64 DECIMAL(18,6)",
		"d38": "FIXED_LEN_BYTE_ARRAY(16) DECIMAL(38,10)",
		"d65": "BYTE_ARRAY STRING",
		"f":   "FLOAT ",
		"dtm": "INT64 TIMESTAMP(isAdjustedToUTC=false,unit=MICROS)",
		"ts":  "INT64 TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)",
		"tm":  "INT64 INT(64,true)",
		"j":   "BYTE_ARRAY JSON",
		"bin": "BYTE_ARRAY ",
	} {
		if types[name] != want {
			t.Errorf("column %s stored as %q, want %q", name, types[name], want)
		}
	}
}

func TestWriteRejectsInexactValues(t *testing.T) {
	for _, tc := range []struct {
		col source.Column
		val string
	}{
		{kindColumns[0], "128"},
		{kindColumns[1], "256"},
		{kindColumns[1], "-1"},
		{kindColumns[2], "8388608"},
		{kindColumns[3], "4294967296"},
		{kindColumns[6], "1000.00"},
		{kindColumns[6], "1.005"},
		{kindColumns[8], "99999999999999999999999999999.0"},
		{kindColumns[9], "1e5"},
		{kindColumns[10], "0.1"}, // not a float widened to double
		{kindColumns[11], "x"},
		{kindColumns[12], "\x01\x02"},
		{kindColumns[14], "2024-01-01 00:00:00"},
		{kindColumns[15], "2024-01-01"},
		{kindColumns[17], "12:00"},
		{kindColumns[18], "10000"},
		{kindColumns[19], "\xff\xfe"},
		{kindColumns[22], "\x01\x02"},
	} {
		w, err := NewWriter(io.Discard, []source.Column{tc.col}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write([][]byte{[]byte(tc.val)}); err == nil {
			t.Errorf("%s: wrote %q without an error", tc.col.SourceType, tc.val)
		} else if strings.Contains(err.Error(), tc.val) && len(tc.val) > 3 {
			t.Errorf("error %q repeats the value", err)
		}
	}
}

func TestNewWriterErrors(t *testing.T) {
	for name, cols := range map[string][]source.Column{
		"none":      nil,
		"duplicate": {kindColumns[0], kindColumns[0]},
		"bad kind":  {{Name: "x", Kind: "vector"}},
		"bad width": {{Name: "x", Kind: source.KindInt, Bits: 12}},
		"bad fsp":   {{Name: "x", Kind: source.KindTime, Scale: 7}},
		"bad dec":   {{Name: "x", Kind: source.KindDecimal, Precision: 66}},
		"no name":   {{Kind: source.KindInt, Bits: 8}},
	} {
		if _, err := NewWriter(io.Discard, cols, Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := NewWriter(io.Discard, kindColumns, Options{Compression: "lz4"}); err == nil {
		t.Error("unknown compression accepted")
	}
	w, err := NewWriter(io.Discard, kindColumns[:1], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([][]byte{nil, nil}); err == nil {
		t.Error("row with too many values accepted")
	}
}

// TestRowGroupsBounded checks that row groups are cut at RowGroupBytes.
func TestRowGroupsBounded(t *testing.T) {
	cols := []source.Column{{Name: "id", Kind: source.KindInt, Bits: 64}, {Name: "pad", Kind: source.KindBytes}}
	rows := make([][]string, 20000)
	pad := strings.Repeat("p", 200)
	for i := range rows {
		rows[i] = []string{strconv.Itoa(i), pad}
	}
	data, stats := writeFile(t, cols, rows, Options{RowGroupBytes: 256 << 10})
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.RowGroups()); n < 10 || n != stats.RowGroups {
		t.Errorf("%d row groups (stats say %d) for ~4 MB at 256 KiB each", n, stats.RowGroups)
	}
	got := readFile(t, data)
	for i, r := range got {
		if r[0] != strconv.Itoa(i) || r[1] != pad {
			t.Fatalf("row %d = %q", i, r)
		}
	}
}

// TestCopy runs Copy over a fake shard.
func TestCopy(t *testing.T) {
	rows := &fakeRows{cols: kindColumns, rows: kindRows}
	var buf bytes.Buffer
	specs, stats, err := Copy(context.Background(), &buf, rows, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != len(kindColumns) || stats.Rows != int64(len(kindRows)) {
		t.Errorf("specs %d, stats %+v", len(specs), stats)
	}
	if got := readFile(t, buf.Bytes()); len(got) != len(kindRows) {
		t.Errorf("read %d rows", len(got))
	}

	rows = &fakeRows{cols: kindColumns, rows: kindRows, err: fmt.Errorf("connection lost")}
	if _, _, err := Copy(context.Background(), io.Discard, rows, Options{}); err == nil || !strings.Contains(err.Error(), "connection lost") {
		t.Errorf("Copy over a failing shard: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rows = &fakeRows{cols: kindColumns, rows: kindRows}
	if _, _, err := Copy(ctx, io.Discard, rows, Options{}); err == nil {
		t.Error("Copy with a cancelled context succeeded")
	}
}

// fakeRows is a source.Rows over fixed text rows.
type fakeRows struct {
	cols []source.Column
	rows [][]string
	err  error // returned after the rows
	i    int
	cur  [][]byte
}

func (r *fakeRows) Columns() []source.Column { return r.cols }
func (r *fakeRows) Next() bool {
	if r.i >= len(r.rows) {
		return false
	}
	r.cur = toValues(r.rows[r.i])
	r.i++
	return true
}
func (r *fakeRows) Values() [][]byte        { return r.cur }
func (r *fakeRows) SnapshotTime() time.Time { return time.Time{} }
func (r *fakeRows) Err() error              { return r.err }
func (r *fakeRows) Close() error            { return nil }

func TestFloatWidening(t *testing.T) {
	// Every float32 widened to float64 and printed shortest must encode
	// back to the same bits.
	col := source.Column{Name: "f", Kind: source.KindFloat}
	for _, bits := range []uint32{0, 1, 0x7f7fffff, 0x00800000, 0x3dcccccd, 0x3f800001, 0x4b800001, 0x80000001, 0xff7fffff} {
		f := math.Float32frombits(bits)
		text := strconv.FormatFloat(float64(f), 'g', -1, 64)
		data, _ := writeFile(t, []source.Column{col}, [][]string{{text}}, Options{})
		pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]parquet.Row, 1)
		rr := pf.RowGroups()[0].Rows()
		if n, _ := rr.ReadRows(buf); n != 1 {
			t.Fatal("no row")
		}
		rr.Close()
		if got := math.Float32bits(buf[0][0].Float()); got != bits {
			t.Errorf("float %08x stored as %08x", bits, got)
		}
	}
}

// TestStorageChosenFromSample checks the per-column choices made from the
// first rows: dictionary encoding for a repetitive string, no compression
// for random bytes, the defaults otherwise; and that every value reads
// back exactly, including after the dictionary outgrows its bound.
func TestStorageChosenFromSample(t *testing.T) {
	cols := []source.Column{
		{Name: "id", Kind: source.KindInt, Bits: 64},
		{Name: "status", Kind: source.KindString, Nullable: true},
		{Name: "token", Kind: source.KindBytes},
		{Name: "note", Kind: source.KindString},
		{Name: "late", Kind: source.KindString}, // repetitive in the sample, unique after it
	}
	r := rand.New(rand.NewPCG(1, 2))
	statuses := []string{"pending", "paid", "shipped", "delivered"}
	rows := make([][]string, 3*sampleRows)
	for i := range rows {
		token := make([]byte, 16)
		for j := range token {
			token[j] = byte(r.Uint32())
		}
		status := statuses[r.IntN(len(statuses))]
		if i%7 == 0 {
			status = "\x00NULL"
		}
		late := fmt.Sprintf("%016x", uint64(r.IntN(50))*0x9e3779b97f4a7c15)
		if i >= sampleRows {
			late = strings.Repeat(strconv.Itoa(i), 20)
		}
		rows[i] = []string{strconv.Itoa(i), status, string(token), fmt.Sprintf("note %d for %x", r.Uint64(), r.Uint64()), late}
	}
	data, _ := writeFile(t, cols, rows, Options{})
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		dictionary   bool
		uncompressed bool
	}{"status": {true, false}, "token": {false, true}, "note": {false, false}, "late": {true, false}}
	for _, c := range f.Metadata().RowGroups[0].Columns {
		name := c.MetaData.PathInSchema[0]
		if name == "late" && !slices.Contains(c.MetaData.Encoding, format.Plain) {
			t.Errorf("column late: encodings %v, want PLAIN after the dictionary outgrew its bound", c.MetaData.Encoding)
		}
		if _, ok := want[name]; !ok {
			continue
		}
		dict := slices.Contains(c.MetaData.Encoding, format.RLEDictionary)
		unc := c.MetaData.Codec == format.Uncompressed
		if w := want[name]; dict != w.dictionary || unc != w.uncompressed {
			t.Errorf("column %s: dictionary %v, uncompressed %v; want %v, %v (encodings %v)", name, dict, unc, w.dictionary, w.uncompressed, c.MetaData.Encoding)
		}
	}
	got := readFile(t, data)
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("rows differ after the round trip (%d rows read, %d written)", len(got), len(rows))
	}
}

// TestZstdLevelFromSample: a column whose sample the fastest zstd level
// compresses as well as the default gets it (addresses); hex text, which
// only the default's entropy coding shrinks, keeps the default; a writer
// with another codec keeps it.
func TestZstdLevelFromSample(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	streets := []string{"Main Street", "Rue de Rivoli", "Hauptstraße", "Calle Mayor", "Via Roma", "High Street"}
	var repeats, hex []parquet.Value
	for range sampleRows {
		repeats = append(repeats, parquet.ByteArrayValue(fmt.Appendf(nil, "%d %s, %05d City %d", 1+r.IntN(999), streets[r.IntN(len(streets))], r.IntN(100000), r.IntN(5000))))
		hex = append(hex, parquet.ByteArrayValue(fmt.Appendf(nil, "%016x%016x", r.Uint64(), r.Uint64())))
	}
	var s sampler
	if c := s.choose(repeats, parquet.ByteArray, &parquet.Zstd); c.codec != zstdFastest {
		t.Errorf("repetitive text: %+v, want the fastest zstd level", c)
	}
	if c := s.choose(hex, parquet.ByteArray, &parquet.Zstd); c.codec != nil || c.uncompressed || c.dictionary {
		t.Errorf("hex text: %+v, want the default zstd level", c)
	}
	if c := s.choose(repeats, parquet.ByteArray, &parquet.Snappy); c.codec != nil {
		t.Errorf("repetitive text with snappy: codec %v, want the writer's", c.codec)
	}
}
