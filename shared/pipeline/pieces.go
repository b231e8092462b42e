package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"slices"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/source"
)

// A shard that turns out much bigger than planned (the planner's estimate
// was wrong anyway: rows much wider than the sample, or rows inserted since
// planning) is split by its reader: rows of a shard bounded by the primary
// key arrive in key order, so once the file being written holds
// splitNum/splitDen of the larger of the plan's estimate and shard_size,
// the reader ends it where the key's value changes and continues with the
// rest of the shard, [that value, Hi), in pieces of shard_size. All pieces
// come from the one SELECT, in the one transaction the shard is read in,
// so a point-in-time worker keeps its snapshot. Each piece is its own file
// and shard result (piece k+1 starting at the Next bound piece k recorded),
// so a retried shard in "shard" consistency continues after its last
// recorded piece.
const splitNum, splitDen = 3, 2

// pieceRows gives a shard's rows out piece by piece: Next returns false at
// the end of the rows or where the current piece ends; next starts the
// following piece.
type pieceRows struct {
	source.Rows
	keyed source.KeyedRows // nil: the rows are not in key order, never split
	limit int64            // a piece ends at the next key change once it holds this many bytes
	bytes int64            // value bytes given out in this piece
	rows  int64            // rows given out in this piece
	cur   [][]byte
	last  []byte // the key bound of the row given out last
	// cut says the piece ended at a key change: the row read beyond it is
	// kept in pending, its key bound in pendingKey.
	cut        bool
	pending    [][]byte
	pendingKey []byte
	// progress reports how far the piece is read (nil: not reported);
	// shard and piece name it.
	progress     *readProgress
	shard, piece int
	// estBytes and estRows are what the shard's estimate leaves for the
	// pieces still to read (see settle).
	estBytes, estRows int64
}

func newPieceRows(rows source.Rows, sh source.Shard, limit int64, progress *readProgress, shard int) *pieceRows {
	r := &pieceRows{Rows: rows, limit: limit, progress: progress, shard: shard, estBytes: sh.EstBytes, estRows: sh.EstRows}
	if kr, ok := rows.(source.KeyedRows); ok && sh.Key != "" {
		r.keyed = kr
	}
	return r
}

// settle completes the result of the piece just read: a piece cut at a key
// change says where the next one starts and takes at most what it read of
// the shard's estimate, the last piece takes what is left.
func (r *pieceRows) settle(res *job.ShardResult) {
	if r.cut {
		res.More, res.Next = true, string(r.pendingKey)
		res.EstBytes, res.EstRows = min(r.estBytes, res.SourceBytes), min(r.estRows, res.Rows)
	} else {
		res.EstBytes, res.EstRows = r.estBytes, r.estRows
	}
	r.estBytes -= res.EstBytes
	r.estRows -= res.EstRows
}

func (r *pieceRows) Next() bool {
	if r.pending != nil {
		r.cur, r.last, r.pending = r.pending, append(r.last[:0], r.pendingKey...), nil
		r.cut = false
		r.count()
		return true
	}
	if r.cut || !r.Rows.Next() {
		return false
	}
	r.cur = r.Rows.Values()
	if r.keyed != nil {
		k := r.keyed.KeyBound()
		if k != nil && r.limit > 0 && r.bytes >= r.limit && r.last != nil && !bytes.Equal(k, r.last) {
			r.cut, r.pendingKey = true, append(r.pendingKey[:0], k...)
			r.pending = make([][]byte, len(r.cur))
			for i, v := range r.cur {
				if v != nil {
					r.pending[i] = append([]byte{}, v...)
				}
			}
			return false
		}
		r.last = append(r.last[:0], k...)
	}
	r.count()
	return true
}

func (r *pieceRows) count() {
	var n int64
	for _, v := range r.cur {
		n += int64(len(v))
	}
	r.bytes += n
	r.rows++
	r.progress.read(r.shard, r.piece, n, r.bytes, r.rows)
}

func (r *pieceRows) Values() [][]byte { return r.cur }

// Close is the caller's, on the shard's own rows.
func (r *pieceRows) Close() error { return nil }

// next starts the piece after a cut, of at most limit bytes.
func (r *pieceRows) next(limit int64) {
	r.bytes, r.rows, r.limit = 0, 0, limit
	r.piece++
}

// recorded returns a shard's recorded pieces and whether they complete it.
func (p *Pipeline) recorded(ctx context.Context, jobID string, n int) (pieces []job.ShardResult, complete bool, err error) {
	pieces, err = p.Store.ShardPieces(ctx, jobID, n)
	if err != nil {
		return nil, false, transient("read shard result", err)
	}
	return pieces, isComplete(pieces), nil
}

// isComplete reports whether a shard's recorded pieces, in order, complete it.
func isComplete(pieces []job.ShardResult) bool {
	return len(pieces) > 0 && !pieces[len(pieces)-1].More
}

// recordedShards returns every recorded piece of a job, by shard and in
// piece order, in one query.
func (p *Pipeline) recordedShards(ctx context.Context, jobID string) (map[int][]job.ShardResult, error) {
	rs, err := p.Store.Shards(ctx, jobID)
	if err != nil {
		return nil, transient("read shard results", err)
	}
	out := map[int][]job.ShardResult{}
	for _, r := range rs {
		out[r.Shard] = append(out[r.Shard], r)
	}
	for _, pieces := range out {
		slices.SortFunc(pieces, func(a, b job.ShardResult) int { return cmp.Compare(a.Piece, b.Piece) })
	}
	return out, nil
}

// sums adds up the rows and file bytes of shard results.
func sums(rs []job.ShardResult) (rows, bytes int64) {
	for _, r := range rs {
		rows += r.Rows
		bytes += r.Bytes
	}
	return rows, bytes
}
