package pipeline

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/source"
)

// TestShareReads: tiny whole partitions of a table go in groups (bounded
// in shards and bytes), in order of their first shard; key ranges, big
// partitions and unpartitioned tables are read alone.
func TestShareReads(t *testing.T) {
	lo := "5"
	plan := &Plan{}
	add := func(table string, partitioned bool, est int64, bounded bool) {
		sh := source.Shard{Database: "d", Table: table, Partition: fmt.Sprintf("p%d", len(plan.Shards)), Partitioned: partitioned, EstBytes: est}
		if bounded {
			sh.Lo = &lo
		}
		plan.Shards = append(plan.Shards, PlanShard{N: len(plan.Shards), Shard: sh})
	}
	add("a", true, 100, false)               // 0: group a
	add("b", true, 100, false)               // 1: group b
	add("a", true, 100, false)               // 2: group a
	add("a", true, groupShardBytes+1, false) // 3: alone, too big
	add("a", true, 100, true)                // 4: alone, a key range
	add("u", false, 100, false)              // 5: alone, unpartitioned
	for range groupShards + 1 {
		add("c", true, 10, false) // 6…: group c, then a second one
	}
	var pending []int
	for i := range plan.Shards {
		pending = append(pending, i)
	}
	var got [][]int
	for _, g := range shareReads(plan, pending) {
		var ns []int
		for _, ps := range g {
			ns = append(ns, ps.N)
		}
		got = append(got, ns)
	}
	var c1 []int
	for i := range groupShards {
		c1 = append(c1, 6+i)
	}
	want := [][]int{{0, 2}, {1}, {3}, {4}, {5}, c1, {6 + groupShards}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("reads %v, want %v", got[:5], want[:5])
	}
	// The bytes bound a group too.
	plan.Shards, pending = nil, nil
	per := int(groupBytes / groupShardBytes)
	for i := range per + 1 {
		add("a", true, groupShardBytes, false)
		pending = append(pending, i)
	}
	if g := shareReads(plan, pending); len(g) != 2 || len(g[0]) != per {
		t.Errorf("groups of at most %d bytes: %d groups, the first of %d shards", groupBytes, len(g), len(g[0]))
	}
}

// fakeGroup is a group's rows: each row's value is its shard's index.
type fakeGroup struct {
	shards []int
	i      int
}

func (f *fakeGroup) Columns() []source.Column {
	return []source.Column{{Name: "v", Kind: source.KindInt}}
}
func (f *fakeGroup) Next() bool              { f.i++; return f.i <= len(f.shards) }
func (f *fakeGroup) Values() [][]byte        { return [][]byte{[]byte(fmt.Sprint(f.shards[f.i-1]))} }
func (f *fakeGroup) SnapshotTime() time.Time { return time.Time{} }
func (f *fakeGroup) Err() error              { return nil }
func (f *fakeGroup) Close() error            { return nil }
func (f *fakeGroup) Shard() int              { return f.shards[f.i-1] }

// TestPartRows: a group's rows come out one shard at a time, every row
// once, with shards without rows simply not met.
func TestPartRows(t *testing.T) {
	pr := &partRows{GroupRows: &fakeGroup{shards: []int{0, 0, 2, 5, 5, 5}}, cur: -1}
	got := map[int][]string{}
	var order []int
	for pr.advance() {
		order = append(order, pr.cur)
		for pr.Next() {
			got[pr.cur] = append(got[pr.cur], string(pr.Values()[0]))
		}
	}
	if !slices.Equal(order, []int{0, 2, 5}) || len(got[0]) != 2 || len(got[2]) != 1 || len(got[5]) != 3 || got[5][2] != "5" {
		t.Errorf("order %v, rows %v", order, got)
	}
	if pr.Next() {
		t.Error("rows after the end")
	}
}
