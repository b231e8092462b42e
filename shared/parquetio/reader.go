package parquetio

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// File is a Parquet file written by Writer, read back into the canonical
// text values the writer was given: the restore direction.
type File struct {
	f      *parquet.File
	specs  []ColumnSpec
	codecs []codec
	leaves int
	// For a file from OpenStream: the stream, the part in memory, the
	// stream's offset and each row group's byte span.
	stream Stream
	sparse *sparseFile
	pos    int64
	spans  [][2]int64
}

// OpenFile opens a Parquet file written by Writer.
func OpenFile(r io.ReaderAt, size int64) (*File, error) {
	return open(r, size)
}

func open(r io.ReaderAt, size int64, opts ...parquet.FileOption) (*File, error) {
	f, err := parquet.OpenFile(r, size, opts...)
	if err != nil {
		return nil, fmt.Errorf("open parquet file: %w", err)
	}
	meta, ok := f.Lookup(MetadataKey)
	if !ok {
		return nil, fmt.Errorf("parquet file has no %s metadata: not written by srbackup", MetadataKey)
	}
	var specs []ColumnSpec
	if err := json.Unmarshal([]byte(meta), &specs); err != nil {
		return nil, fmt.Errorf("decode %s metadata: %w", MetadataKey, err)
	}
	file := &File{f: f, specs: specs}
	var names []string
	for _, s := range specs {
		c := newCodec(s)
		file.codecs = append(file.codecs, c)
		file.leaves += c.leaves
		names = append(names, s.Name)
		if s.RawColumn != "" {
			names = append(names, s.RawColumn)
		}
		if s.SRIDColumn != "" {
			names = append(names, s.SRIDColumn)
		}
	}
	fields := f.Schema().Fields()
	if len(fields) != len(names) {
		return nil, fmt.Errorf("parquet file has %d columns, its metadata describes %d", len(fields), len(names))
	}
	for i, fd := range fields {
		if fd.Name() != names[i] || !fd.Leaf() {
			return nil, fmt.Errorf("parquet column %d is %q, its metadata says %q", i, fd.Name(), names[i])
		}
	}
	return file, nil
}

// Specs returns how each column is stored.
func (f *File) Specs() []ColumnSpec { return f.specs }

// NumRows is the number of rows in the file.
func (f *File) NumRows() int64 { return f.f.NumRows() }

// Rows calls fn with each row's canonical text values, nil for NULL. The
// values are valid only during the call. For a file from OpenStream, Rows
// may be called once, and returns nil only if the stream's Finish does.
func (f *File) Rows(fn func(values [][]byte) error) error {
	if f.stream == nil {
		return f.rows(fn)
	}
	err := f.rows(fn)
	if ferr := f.stream.Finish(); ferr != nil {
		return ferr
	}
	return err
}

func (f *File) rows(fn func(values [][]byte) error) error {
	buf := make([]parquet.Row, 128)
	vals := make([][]byte, len(f.codecs))
	text := make([]byte, 0, 4096)         // never nil, so empty values are not NULL
	ends := make([]int, 0, len(f.codecs)) // offsets into text, -1 for NULL
	for g, rg := range f.f.RowGroups() {
		if f.stream != nil {
			if err := f.next(g); err != nil {
				return err
			}
		}
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				if len(row) != f.leaves {
					rows.Close()
					return fmt.Errorf("parquet row has %d values, want %d", len(row), f.leaves)
				}
				text = text[:0]
				ends = ends[:0]
				leaf := 0
				for i := range f.codecs {
					c := &f.codecs[i]
					var ok bool
					var derr error
					if text, ok, derr = c.decode(text, row[leaf:leaf+c.leaves]); derr != nil {
						rows.Close()
						return fmt.Errorf("column %q: %w", c.spec.Name, derr)
					}
					leaf += c.leaves
					if ok {
						ends = append(ends, len(text))
					} else {
						ends = append(ends, -1)
					}
				}
				start := 0
				for i, end := range ends {
					if end < 0 {
						vals[i] = nil
						continue
					}
					vals[i] = text[start:end:end]
					start = end
				}
				if err := fn(vals); err != nil {
					rows.Close()
					return err
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("read parquet rows: %w", err)
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("read parquet rows: %w", err)
		}
	}
	return nil
}
