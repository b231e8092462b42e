package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/source"
)

// keyedRows are rows with a key bound each, as a primary-key shard is read.
type keyedRows struct {
	keys []string
	vals []string
	i    int
}

func (r *keyedRows) Columns() []source.Column {
	return []source.Column{{Name: "v", Kind: source.KindString}}
}
func (r *keyedRows) Next() bool              { r.i++; return r.i <= len(r.vals) }
func (r *keyedRows) Values() [][]byte        { return [][]byte{[]byte(r.vals[r.i-1])} }
func (r *keyedRows) KeyBound() []byte        { return []byte(r.keys[r.i-1]) }
func (r *keyedRows) SnapshotTime() time.Time { return time.Time{} }
func (r *keyedRows) Err() error              { return nil }
func (r *keyedRows) Close() error            { return nil }

// TestPieceRowsSplitAtKeyChanges reads rows of ten bytes whose key repeats
// in runs (a composite key's leading column): pieces end only where the key
// changes, once they hold the limit, each next piece starts at the recorded
// bound, and every row comes out exactly once, in order.
func TestPieceRowsSplitAtKeyChanges(t *testing.T) {
	src := &keyedRows{}
	for i := range 100 {
		src.keys = append(src.keys, fmt.Sprintf("%04d", i/3)) // runs of three
		src.vals = append(src.vals, fmt.Sprintf("row-%06d", i))
	}
	pr := newPieceRows(src, source.Shard{Key: "k"}, 95, nil, 0)
	var got []string
	pieces, bound := 0, ""
	for {
		pieces++
		first := true
		for pr.Next() {
			v := string(pr.Values()[0])
			var i int
			fmt.Sscanf(v, "row-%d", &i)
			if first && bound != "" && (src.keys[i] != bound || src.keys[i-1] == bound) {
				t.Errorf("piece %d starts at row %d (key %s), the recorded bound is %s", pieces, i, src.keys[i], bound)
			}
			first = false
			got = append(got, v)
		}
		if !pr.cut {
			break
		}
		bound = string(pr.pendingKey)
		pr.next(50)
	}
	if len(got) != 100 {
		t.Fatalf("%d rows out of 100", len(got))
	}
	for i, v := range got {
		if v != src.vals[i] {
			t.Fatalf("row %d is %s, want %s", i, v, src.vals[i])
		}
	}
	if pieces < 10 {
		t.Errorf("%d pieces", pieces)
	}
}

// TestPieceRowsUnkeyedNeverSplit: rows that do not come in key order (a
// shard without a key, or a reader that cannot order) are one piece.
func TestPieceRowsUnkeyedNeverSplit(t *testing.T) {
	src := &keyedRows{keys: make([]string, 50), vals: make([]string, 50)}
	for i := range src.vals {
		src.keys[i], src.vals[i] = fmt.Sprint(i), "0123456789"
	}
	pr := newPieceRows(src, source.Shard{}, 10, nil, 0)
	n := 0
	for pr.Next() {
		n++
	}
	if n != 50 || pr.cut {
		t.Errorf("%d rows, cut %t", n, pr.cut)
	}
}
