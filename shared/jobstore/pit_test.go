package jobstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/source"
)

// TestPITRendezvous walks the rendezvous through its phases and checks that
// every out-of-phase write is refused.
func TestPITRendezvous(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const id = "job-pit"
	must := func(ok bool, err error) bool {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if err := e.store.CreatePIT(ctx, id, 2, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !must(e.store.PITReady(ctx, id, 0)) || !must(e.store.PITReady(ctx, id, 1)) {
		t.Fatal("ready refused")
	}
	if must(e.store.PITReady(ctx, id, 1)) {
		t.Error("a worker registered ready twice")
	}
	if must(e.store.PITJoin(ctx, id, 0, source.Position{})) {
		t.Error("joined before commits were held")
	}
	pos := source.Position{ServerTime: time.Now().UTC().Truncate(time.Microsecond), Binlog: true, BinlogFile: "b.000001", BinlogPosition: 42, GTIDVariable: "gtid_binlog_pos", GTID: "0-1-7"}
	if !must(e.store.PITHeld(ctx, id, source.HoldBackupStage, pos, 3*time.Millisecond)) {
		t.Fatal("held refused")
	}
	if must(e.store.PITReady(ctx, id, 2)) {
		t.Error("ready accepted after the hold began")
	}
	if !must(e.store.PITJoin(ctx, id, 0, pos)) || !must(e.store.PITJoin(ctx, id, 1, pos)) {
		t.Fatal("join refused")
	}
	if must(e.store.PITJoin(ctx, id, 1, pos)) {
		t.Error("a worker joined twice")
	}
	if !must(e.store.PITClose(ctx, id)) {
		t.Fatal("close refused")
	}
	if must(e.store.PITJoin(ctx, id, 2, pos)) {
		t.Error("joined after the window closed")
	}
	if err := e.store.PITReleased(ctx, id, 12*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	p, ok, err := e.store.GetPIT(ctx, id)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if p.Phase != jobstore.PITClosed || p.Workers != 2 || p.Ready != 2 || p.Joined != 2 || !p.Verified ||
		p.WindowMS != 12 || p.WaitedMS != 3 || p.Method != source.HoldBackupStage || p.Position != pos || p.WorkerPositions[1] != pos {
		t.Errorf("rendezvous %+v", p)
	}
	if err := e.store.CreatePIT(ctx, id, 2, time.Now().Add(time.Hour)); err == nil {
		t.Error("a begun rendezvous was reset")
	}
	if err := e.store.PITFail(ctx, id, "release failed"); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := e.store.GetPIT(ctx, id); p.Phase != jobstore.PITFailed || p.Reason != "release failed" {
		t.Errorf("after fail: %+v", p)
	}
}
