package parquetio

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/source"
)

// memStream is a Stream over bytes, recording what was read how.
type memStream struct {
	data     []byte
	pos      int
	tails    int
	finished bool
}

var errDamaged = errors.New("damaged")

func (m *memStream) Read(p []byte) (int, error) {
	if m.pos == len(m.data) {
		return 0, errors.New("read past the end")
	}
	n := copy(p, m.data[m.pos:])
	m.pos += n
	return n, nil
}

func (m *memStream) ReadTail(n int64) ([]byte, error) {
	m.tails++
	return bytes.Clone(m.data[len(m.data)-int(n):]), nil
}

func (m *memStream) Finish() error {
	m.finished = true
	if m.pos > len(m.data) || bytes.Contains(m.data, []byte("DAMAGED")) {
		return errDamaged
	}
	m.pos = len(m.data)
	return nil
}

func streamRows(t *testing.T, s *memStream) ([][]string, error) {
	t.Helper()
	f, err := OpenStream(s, int64(len(s.data)))
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
	return got, err
}

// TestOpenStream reads files of one and of many row groups front to back
// and gets what OpenFile gets; Finish's error wins.
func TestOpenStream(t *testing.T) {
	data, _ := writeFile(t, kindColumns, kindRows, Options{})
	s := &memStream{data: data}
	got, err := streamRows(t, s)
	if err != nil || !slices.EqualFunc(got, readFile(t, data), slices.Equal) || !s.finished || s.tails != 1 {
		t.Errorf("every kind: err %v, equal %v, finished %v, %d tail reads", err, slices.EqualFunc(got, readFile(t, data), slices.Equal), s.finished, s.tails)
	}

	cols := []source.Column{{Name: "id", Kind: source.KindInt, Bits: 64}, {Name: "pad", Kind: source.KindBytes}}
	rows := make([][]string, 20000)
	for i := range rows {
		rows[i] = []string{strconv.Itoa(i), strings.Repeat("p", i%300)}
	}
	data, stats := writeFile(t, cols, rows, Options{RowGroupBytes: 256 << 10})
	s = &memStream{data: data}
	f, err := OpenStream(s, int64(len(data)))
	if err != nil || stats.RowGroups < 10 || len(f.spans) != stats.RowGroups {
		t.Fatalf("%d row groups, %d spans: %v", stats.RowGroups, len(f.spans), err)
	}
	got, err = streamRows(t, &memStream{data: data})
	if err != nil || !slices.EqualFunc(got, readFile(t, data), slices.Equal) {
		t.Errorf("many row groups: err %v, %d rows", err, len(got))
	}

	bad := bytes.Clone(data)
	copy(bad[len(bad)/2:], "DAMAGED")
	if _, err := streamRows(t, &memStream{data: bad}); !errors.Is(err, errDamaged) {
		t.Errorf("damaged file: %v, want Finish's error", err)
	}
}
