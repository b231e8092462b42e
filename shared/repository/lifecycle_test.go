package repository_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/repository"
)

func cell(c *string) string {
	if c == nil {
		return "NULL"
	}
	return *c
}

func TestShowSnapshotLifecycleColumns(t *testing.T) {
	e := setup(t)
	r := e.repo(t, "repo", "life")
	ctx := context.Background()
	bt := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	finish := bt.Add(90 * time.Second)
	writeSnapshotWith(t, r, "ttl", bt, func(i *repository.Info) {
		i.DeploymentID, i.FinishTime, i.TTL, i.ExpireTime = "dep-1", finish, "7 DAY", finish.AddDate(0, 0, 7)
	})
	writeSnapshot(t, r, "old", bt) // written before lifecycle fields existed

	rows, err := r.ListSnapshots(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(repository.SnapshotColumns) != len(rows[0].Row()) {
		t.Fatalf("%d columns, %d cells", len(repository.SnapshotColumns), len(rows[0].Row()))
	}
	var got []string
	for _, row := range rows {
		var cells []string
		for _, c := range row.Row() {
			cells = append(cells, cell(c))
		}
		got = append(got, strings.Join(cells, "|"))
	}
	want := []string{
		"old|2026-11-24-03-00-00-000|OK|NULL|NULL|NULL|NULL",
		"ttl|2026-11-24-03-00-00-000|OK|dep-1|2026-11-24 03:01:30|7 DAY|2026-12-01 03:01:30",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("SHOW SNAPSHOT rows\n got: %q\nwant: %q", got, want)
	}
	d, err := r.Snapshot(ctx, "ttl", repository.FormatTimestamp(bt))
	if err != nil {
		t.Fatal(err)
	}
	if row := d.Row(); len(row) != len(repository.SnapshotDetailColumns) || cell(row[5]) != "dep-1" || cell(row[8]) != "2026-12-01 03:01:30" {
		t.Fatalf("detail row %v", row)
	}
	runs, err := r.Runs(ctx, "ttl")
	if err != nil || len(runs) != 1 || !runs[0].Lifecycle.Expired(finish.AddDate(0, 0, 7)) || runs[0].Lifecycle.Expired(finish) {
		t.Fatalf("Runs = %+v %v", runs, err)
	}
}

func TestRetriedCommitKeepsFirstFinishTime(t *testing.T) {
	e := setup(t)
	r := e.repo(t, "repo", "retry")
	ctx := context.Background()
	bt := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	info := writeSnapshotWith(t, r, "s", bt, func(i *repository.Info) { i.FinishTime = bt.Add(time.Minute) })
	info.FinishTime = bt.Add(2 * time.Minute)
	if _, err := r.WriteInfo(ctx, info); err != nil {
		t.Fatalf("a retried commit with a later finish time: %v", err)
	}
	got, err := r.ReadInfo(ctx, "s", repository.FormatTimestamp(bt))
	if err != nil || !got.FinishTime.Equal(bt.Add(time.Minute)) {
		t.Fatalf("finish time %v %v, want the first commit's", got.FinishTime, err)
	}
	info.Database = "other"
	if _, err := r.WriteInfo(ctx, info); err == nil {
		t.Fatal("a different commit under the same timestamp accepted")
	}
}

func TestDropSnapshot(t *testing.T) {
	e := setup(t)
	r := e.repo(t, "repo", "drop")
	ctx := context.Background()
	bt := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	writeSnapshot(t, r, "a", bt)
	writeSnapshot(t, r, "a", bt.Add(time.Hour))
	writeSnapshot(t, r, "ab", bt) // shares a prefix with "a": must survive
	p, _ := r.SnapshotPrefix("a")

	// Interrupted after the commit markers: invisible at once, the rest left.
	boom := errors.New("crash")
	restore := repository.SetDropHook(func(string) error { return boom })
	res, err := r.DropSnapshot(ctx, "a")
	restore()
	if !errors.Is(err, boom) || len(res.Timestamps) != 2 {
		t.Fatalf("interrupted drop = %+v %v", res, err)
	}
	rows, err := r.ListSnapshots(ctx, nil)
	if err != nil || len(rows) != 1 || rows[0].Snapshot != "ab" {
		t.Fatalf("after the markers went, SHOW SNAPSHOT = %+v %v", rows, err)
	}
	if left := e.keys(t, p); len(left) == 0 {
		t.Fatal("the interruption left nothing to clean up; the test proves nothing")
	}

	// A second drop removes the remainder.
	res, err = r.DropSnapshot(ctx, "a")
	if err != nil || len(res.Timestamps) != 0 || res.Objects == 0 {
		t.Fatalf("second drop = %+v %v", res, err)
	}
	if left := e.keys(t, p); len(left) != 0 {
		t.Fatalf("left under %s: %v", p, left)
	}
	if exists, _ := r.SnapshotExists(ctx, "ab"); !exists {
		t.Fatal("dropping a removed ab")
	}
	// Nothing left: a no-op.
	if res, err := r.DropSnapshot(ctx, "a"); err != nil || res.Objects != 0 {
		t.Fatalf("third drop = %+v %v", res, err)
	}
}
