package pipeline

import (
	"errors"
	"fmt"

	"github.com/srbackup/srbackup/shared/source"
)

// A point-in-time worker reads the tiny whole partitions of a table in
// groups, one statement per group (source.GroupReader): a statement on a
// table of thousands of partitions costs the server milliseconds whatever
// it reads, so one per partition dominated a backup of many small ones.
// Each partition is still its own shard, file and record, exactly as if it
// had been read alone, so the plan, the layout and RESTORE are unchanged
// and no file spans two partitions.
const (
	// groupShardBytes is the largest estimate of a shard read in a group;
	// a bigger one is read alone (and can be split into pieces as it is
	// read, which a grouped shard is not).
	groupShardBytes = 1 << 20
	// groupBytes and groupShards bound a group: its estimated bytes, and
	// its partitions (the statement lists each by name).
	groupBytes  = 32 << 20
	groupShards = 1000
)

// shareReads orders the reads of a worker's pending shards: the groupable
// ones of a table in groups, in order of their first shard, every other
// shard alone.
func shareReads(plan *Plan, pending []int) [][]PlanShard {
	var out [][]PlanShard
	type open struct {
		at    int // index in out
		bytes int64
	}
	groups := map[[2]string]*open{}
	for _, n := range pending {
		ps := plan.Shards[n]
		sh := ps.Shard
		if !sh.Partitioned || sh.Lo != nil || sh.Hi != nil || sh.EstBytes > groupShardBytes {
			out = append(out, []PlanShard{ps})
			continue
		}
		tbl := [2]string{sh.Database, sh.Table}
		g := groups[tbl]
		if g == nil || len(out[g.at]) >= groupShards || g.bytes+sh.EstBytes > groupBytes {
			g = &open{at: len(out)}
			groups[tbl] = g
			out = append(out, nil)
		}
		out[g.at] = append(out[g.at], ps)
		g.bytes += sh.EstBytes
	}
	return out
}

// read reads one entry of shareReads: a shard alone, or a group through
// gr, falling back to one read per shard for a table whose partitions
// cannot be grouped. It returns the first error of the share.
func (w *shareWriter) read(g []PlanShard, src source.Reader, gr source.GroupReader) error {
	if len(g) == 1 || gr == nil {
		for _, ps := range g {
			if err := w.shard(ps, src); err != nil {
				return err
			}
		}
		return nil
	}
	if err := w.firstErr(); err != nil {
		return err
	}
	if err := w.active(); err != nil {
		w.fail(err)
		return err
	}
	err := w.readGroup(g, gr)
	if errors.Is(err, source.ErrNotGroupable) {
		return w.read(g, src, nil)
	}
	if err != nil {
		err = &shardError{n: g[0].N, err: err}
		w.fail(err)
		return err
	}
	return nil
}

// readGroup reads a group in one statement and writes each shard's file
// from its rows; a shard without rows gets an empty file, as when read
// alone.
func (w *shareWriter) readGroup(g []PlanShard, gr source.GroupReader) error {
	shards := make([]source.Shard, len(g))
	for i, ps := range g {
		shards[i] = ps.Shard
	}
	rows, err := gr.OpenGroup(w.ctx, shards)
	if err != nil {
		return fmt.Errorf("open %d partitions of %s.%s: %w", len(g), g[0].Shard.Database, g[0].Shard.Table, err)
	}
	defer rows.Close()
	pr := &partRows{GroupRows: rows, cur: -1}
	done := make([]bool, len(g))
	write := func(ps PlanShard) error {
		f, streamed, err := w.encodePiece(ps, 0, pr)
		if err != nil {
			return err
		}
		f.res.EstBytes, f.res.EstRows = ps.Shard.EstBytes, ps.Shard.EstRows
		return w.handOn(f, streamed)
	}
	for pr.advance() {
		i := pr.cur
		if done[i] {
			return fmt.Errorf("rows of partition %s came back after another partition's", g[i].Shard.Partition)
		}
		done[i] = true
		if err := write(g[i]); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %d partitions of %s.%s: %w", len(g), g[0].Shard.Database, g[0].Shard.Table, err)
	}
	pr.cur = -1 // the rows are at their end: what follows reads none
	for i, ps := range g {
		if !done[i] {
			if err := write(ps); err != nil {
				return err
			}
		}
	}
	return rows.Close()
}

// partRows gives out a group's rows one shard at a time: Next returns
// false where the rows of the current shard end; advance moves to the
// next shard that has rows.
type partRows struct {
	source.GroupRows
	cur  int  // the shard given out
	held bool // the underlying current row was read but not given out
}

func (r *partRows) advance() bool {
	if !r.held {
		if !r.GroupRows.Next() {
			return false
		}
		r.held = true
	}
	r.cur = r.GroupRows.Shard()
	return true
}

func (r *partRows) Next() bool {
	if !r.held && !r.GroupRows.Next() {
		return false
	}
	if r.GroupRows.Shard() != r.cur {
		r.held = true
		return false
	}
	r.held = false
	return true
}

// Close is the caller's, on the group's rows.
func (r *partRows) Close() error { return nil }
