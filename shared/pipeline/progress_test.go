package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/source"
)

// TestReadProgressThrottled: a worker reports how far it has read the piece
// in hand while it reads, at most once per interval of its clock (a fake one
// here, one second per look), with counts that only grow within a piece and
// start again at the next piece (issue 11 §2).
func TestReadProgressThrottled(t *testing.T) {
	var clock time.Time
	looks := 0
	now := func() time.Time { looks++; clock = clock.Add(time.Second); return clock }
	type report struct {
		at           time.Time
		shard, piece int
		bytes, rows  int64
	}
	var got []report
	rp := &readProgress{worker: 3, every: 3 * time.Second, now: now, last: now(),
		report: func(shard, piece int, bytes, rows int64) { got = append(got, report{clock, shard, piece, bytes, rows}) }}

	src := &keyedRows{}
	for i := range 20000 {
		src.keys = append(src.keys, fmt.Sprintf("%06d", i))
		src.vals = append(src.vals, fmt.Sprintf("row-%06d", i)) // ten bytes
	}
	pr := newPieceRows(src, source.Shard{Key: "k"}, 120000, rp, 7) // a cut after 12,000 rows
	var pieceRows []int64
	for {
		var n int64
		for pr.Next() {
			n++
		}
		pieceRows = append(pieceRows, n)
		if !pr.cut {
			break
		}
		pr.next(1 << 30)
	}
	if len(pieceRows) != 2 || pieceRows[0] != 12000 || pieceRows[1] != 8000 {
		t.Fatalf("pieces of %v rows, want 12000 and 8000", pieceRows)
	}
	// The clock is looked at once per 1,024 rows: 19 times, plus setup.
	if looks != 1+20000/progressCheckRows {
		t.Errorf("clock looked at %d times", looks)
	}
	if len(got) != 6 {
		t.Fatalf("%d reports, want one per three looks (6): %+v", len(got), got)
	}
	for i, r := range got {
		if r.shard != 7 || r.bytes != 10*r.rows || r.rows > pieceRows[r.piece] || r.rows <= 0 {
			t.Errorf("report %d: %+v", i, r)
		}
		if i > 0 {
			prev := got[i-1]
			if r.at.Sub(prev.at) < rp.every {
				t.Errorf("reports %d and %d only %v apart", i-1, i, r.at.Sub(prev.at))
			}
			if r.piece == prev.piece && r.rows <= prev.rows || r.piece < prev.piece {
				t.Errorf("report %d %+v goes back from %+v", i, r, prev)
			}
		}
	}
	if got[0].piece != 0 || got[len(got)-1].piece != 1 {
		t.Errorf("reports span pieces %d to %d, want 0 to 1", got[0].piece, got[len(got)-1].piece)
	}
	if rp.slot() != 3 || (*readProgress)(nil).slot() != -1 {
		t.Errorf("slots %d and %d", rp.slot(), (*readProgress)(nil).slot())
	}

	// Rows of a megabyte each: the clock is looked at every row.
	looks = 0
	big := &readProgress{every: time.Second, now: now, last: now(), report: func(int, int, int64, int64) {}}
	for range 5 {
		big.read(0, 0, progressCheckBytes, 0, 0)
	}
	if looks != 6 {
		t.Errorf("clock looked at %d times for five 1 MiB rows", looks)
	}
	// A nil reporter (reporting off) is a no-op.
	var off *readProgress
	off.read(0, 0, 1, 1, 1)
}
