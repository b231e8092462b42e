package jobstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
)

func TestDeploymentIDIsCreatedOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			// A store per caller, as every Lambda has its own.
			id, err := jobstore.New(e.db, e.table).DeploymentID(ctx)
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("deployment ids %v: want one id", ids)
		}
	}
}

func TestDropMarkerBlocksBackupAndRestore(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	spec := newSpec(t, "db1", "repo", "s1")
	mustLock(t, e, spec)
	finish(t, e, spec.JobID)
	holder, ok, err := e.store.Reservation(ctx, "repo", "s1")
	if err != nil || !ok || holder != spec.JobID {
		t.Fatalf("Reservation = %q %v %v", holder, ok, err)
	}

	// The name must still be held by the job the caller looked at.
	if err := e.store.BeginDrop(ctx, "repo", "s1", "d0", "other-job"); err == nil {
		t.Fatal("BeginDrop accepted a reservation held by another job")
	}
	if err := e.store.BeginDrop(ctx, "repo", "s1", "d1", spec.JobID); err != nil {
		t.Fatal(err)
	}
	drops, err := e.store.Drops(ctx)
	if err != nil || len(drops) != 1 || drops[0].DropID != "d1" || drops[0].Label != "s1" || drops[0].StartedAt.IsZero() {
		t.Fatalf("Drops = %+v %v", drops, err)
	}

	// While the marker exists no BACKUP takes the name and no RESTORE reads it.
	wantConflict(t, lock(t, e, newSpec(t, "db2", "repo", "s1")), "Snapshot 's1' is being dropped")
	restore := newSpec(t, "db3", "repo", "s1")
	restore.Type = job.TypeRestore
	wantConflict(t, lock(t, e, restore), "Snapshot 's1' is being dropped")
	// Other labels are not affected.
	mustLock(t, e, newSpec(t, "db4", "repo", "s2"))

	// An interrupted drop is taken over; the first one's end then does nothing.
	if err := e.store.BeginDrop(ctx, "repo", "s1", "d2", spec.JobID); err != nil {
		t.Fatal(err)
	}
	if err := e.store.EndDrop(ctx, "repo", "s1", "d1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.store.Reservation(ctx, "repo", "s1"); !ok {
		t.Fatal("a taken-over drop freed the name")
	}
	if err := e.store.EndDrop(ctx, "repo", "s1", "d2"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.store.Reservation(ctx, "repo", "s1"); ok {
		t.Fatal("the name is still reserved after the drop")
	}
	if drops, _ := e.store.Drops(ctx); len(drops) != 0 {
		t.Fatalf("markers left: %+v", drops)
	}
	// The label is free again.
	mustLock(t, e, newSpec(t, "db2", "repo", "s1"))

	// A refused drop leaves the name as it was.
	if err := e.store.BeginDrop(ctx, "repo", "free", "d3", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AbandonDrop(ctx, "repo", "free", "d3"); err != nil {
		t.Fatal(err)
	}
	if drops, _ := e.store.Drops(ctx); len(drops) != 0 {
		t.Fatalf("markers left after AbandonDrop: %+v", drops)
	}
}
