package parquetio

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// Stream is a Parquet file read front to back, as one GET of an object
// delivers it, with its last bytes read separately (the footer comes
// first in reading but last in the file).
type Stream interface {
	// Read reads the file's bytes in order from offset 0.
	io.Reader
	// ReadTail returns the file's last n bytes. It is called before Read
	// passes them, so the stream can check they are the bytes it carries.
	ReadTail(n int64) ([]byte, error)
	// Finish reads whatever Read has not delivered and checks the whole
	// file (size, checksum). Rows calls it last, whatever happened before,
	// and its error comes first: a damaged file explains a decode error.
	Finish() error
}

// tailRead is what OpenStream reads from the end first: the footer of a
// file written by Writer fits in it unless the file has very many row
// groups or columns, and then one more read gets it whole.
const tailRead = 64 << 10

// OpenStream opens a Parquet file written by Writer for one pass of Rows
// that holds in memory only the footer and one row group at a time (which
// Writer bounds with RowGroupBytes), whatever the file's size. Every byte
// decoded is a byte the stream delivered in order, except the footer,
// which the stream checks against the bytes it carries (ReadTail).
func OpenStream(s Stream, size int64) (*File, error) {
	if size < 12 {
		return nil, fmt.Errorf("parquet file of %d bytes is too short", size)
	}
	sp := &sparseFile{size: size}
	tail, err := s.ReadTail(min(size, tailRead))
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(s, sp.head[:]); err != nil {
		return nil, fmt.Errorf("read parquet header: %w", err)
	}
	if n := int64(binary.LittleEndian.Uint32(tail[len(tail)-8:])) + 8; n > int64(len(tail)) && n <= size-4 {
		if tail, err = s.ReadTail(n); err != nil {
			return nil, err
		}
	}
	sp.tail, sp.tailOff = tail, size-int64(len(tail))
	file, err := open(sp, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, err
	}
	footer := size - 8 - int64(binary.LittleEndian.Uint32(tail[len(tail)-8:]))
	pos := int64(4)
	for i, rg := range file.f.Metadata().RowGroups {
		start, end := int64(-1), int64(-1)
		for _, c := range rg.Columns {
			s := c.MetaData.DataPageOffset
			if d := c.MetaData.DictionaryPageOffset; d > 0 && d < s {
				s = d
			}
			if start < 0 || s < start {
				start = s
			}
			end = max(end, s+c.MetaData.TotalCompressedSize)
		}
		if start < pos || end < start || end > footer {
			return nil, fmt.Errorf("parquet row group %d spans bytes %d to %d: not in file order", i, start, end)
		}
		file.spans = append(file.spans, [2]int64{start, end})
		pos = end
	}
	file.stream, file.sparse, file.pos = s, sp, 4
	return file, nil
}

// next brings row group i's bytes from the stream into memory.
func (f *File) next(i int) error {
	span := f.spans[i]
	if _, err := io.CopyN(io.Discard, f.stream, span[0]-f.pos); err != nil {
		return fmt.Errorf("read parquet file: %w", err)
	}
	n := span[1] - span[0]
	if int64(cap(f.sparse.rg)) < n {
		f.sparse.rg = nil // let the old one go first
		f.sparse.rg = make([]byte, n)
	}
	f.sparse.rg = f.sparse.rg[:n]
	if _, err := io.ReadFull(f.stream, f.sparse.rg); err != nil {
		return fmt.Errorf("read parquet row group %d: %w", i, err)
	}
	f.sparse.rgOff, f.pos = span[0], span[1]
	return nil
}

// sparseFile is the part of a streamed file in memory: the magic header,
// the tail and the current row group. A read outside them is an error, so
// nothing is ever decoded from bytes the stream did not deliver.
type sparseFile struct {
	size    int64
	head    [4]byte
	tail    []byte
	tailOff int64
	rg      []byte
	rgOff   int64
}

func (s *sparseFile) ReadAt(p []byte, off int64) (int, error) {
	for _, r := range []struct {
		b   []byte
		off int64
	}{{s.head[:], 0}, {s.rg, s.rgOff}, {s.tail, s.tailOff}} {
		if off >= r.off && off+int64(len(p)) <= r.off+int64(len(r.b)) {
			return copy(p, r.b[off-r.off:]), nil
		}
	}
	return 0, fmt.Errorf("parquet read of %d bytes at offset %d is outside the part of the file in memory", len(p), off)
}
