package repository_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/repository"
)

func TestVerifyRun(t *testing.T) {
	e := setup(t)
	r := e.repo(t, "repo", "verify", repository.WithPartSize(5<<20))
	ctx := context.Background()
	bt := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	// Two small files (writeSnapshot) and one multipart-sized file (3 parts).
	big := randomBytes(t, 11<<20)
	rel, _ := repository.ContentPath("shop", "big", "big", 0, "job-1")
	key, _ := r.SnapshotKey("v", rel)
	n, sum, err := r.PutStream(ctx, key, bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	info := writeSnapshotWith(t, r, "v", bt, func(i *repository.Info) {
		i.Objects = append(i.Objects, repository.ObjectData{Kind: repository.KindTable, Name: "big", Partitions: []repository.PartitionData{{Name: "big",
			Files: []repository.DataFile{{FileRef: repository.FileRef{Key: rel, Bytes: n, SHA256: sum}}}}}})
	})
	ts := repository.FormatTimestamp(bt)
	status := func(rows []repository.VerifyRow) string {
		var out []string
		for _, row := range rows {
			out = append(out, row.Status)
		}
		return strings.Join(out, " ")
	}
	for _, deep := range []bool{false, true} {
		rows, err := r.VerifyRun(ctx, "v", ts, deep)
		if err != nil {
			t.Fatal(err)
		}
		if got := status(rows); got != "OK OK OK OK" {
			t.Fatalf("deep=%v on a good snapshot: %s\n%+v", deep, got, rows)
		}
		if rows[0].File != "__meta" || rows[3].File != rel {
			t.Fatalf("rows %+v", rows)
		}
	}

	// One small file deleted, the other overwritten with bytes of the same
	// size, the multipart one overwritten with one byte more.
	files := info.Files()
	k0, _ := r.SnapshotKey("v", files[0].Key)
	k1, _ := r.SnapshotKey("v", files[1].Key)
	if err := r.DeleteKeys(ctx, []string{k0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.PutStream(ctx, k1, bytes.NewReader(randomBytes(t, int(files[1].Bytes)))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.PutStream(ctx, key, bytes.NewReader(append(big, 'x'))); err != nil {
		t.Fatal(err)
	}
	cheap, err := r.VerifyRun(ctx, "v", ts, false)
	if err != nil {
		t.Fatal(err)
	}
	deep, err := r.VerifyRun(ctx, "v", ts, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := status(deep); got != "OK MISSING MISMATCH MISMATCH" {
		t.Fatalf("deep on a damaged snapshot: %s\n%+v", got, deep)
	}
	if got := status(cheap); got != "OK MISSING MISMATCH MISMATCH" {
		t.Fatalf("cheap on a damaged snapshot: %s\n%+v", got, cheap)
	}
	t.Logf("cheap rows: %+v", cheap)
}
