package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/shared/job"
)

// TestProgressMovesWhileReading backs up a one-shard table through the real
// state machine and functions, with the workers reporting every 20 ms, and
// watches the job while it runs: its bytes and rows read grow before the
// shard is recorded, never go back, and end at the totals (issue 11 §2). In
// both consistency modes: a point-in-time worker records through its
// batching recorder, a shard-mode batch one result at a time.
func TestProgressMovesWhileReading(t *testing.T) {
	e := newEnv(t, envOptions{extraEnv: map[string]string{"SRBACKUP_PROGRESS_SECONDS": "0.02"}})
	const rows = 100000
	e.exec(fmt.Sprintf("CREATE TABLE %s.big (id INT NOT NULL PRIMARY KEY, pad VARCHAR(200) NOT NULL)", quote(e.db)),
		fmt.Sprintf("INSERT INTO %[1]s.big SELECT seq, REPEAT('x', 150) FROM %[1]s.seq_1_to_%d", quote(e.db), rows))
	for _, consistency := range []string{"snapshot", "shard"} {
		t.Run(consistency, func(t *testing.T) {
			arn := e.start(fmt.Sprintf(`BACKUP DATABASE %s SNAPSHOT progress_%s TO repo ON (TABLE big) PROPERTIES ("consistency" = "%s", "shard_size" = "1GB")`, e.db, consistency, consistency))
			id := localstackJobID(arn)
			var last job.Record
			moving, polls := 0, 0
			deadline := time.Now().Add(2 * time.Minute)
			for time.Now().Before(deadline) {
				rec, err := e.store.Get(context.Background(), id)
				var nf *job.NotFoundError
				if errors.As(err, &nf) {
					time.Sleep(2 * time.Millisecond)
					continue // not locked yet
				}
				if err != nil {
					t.Fatal(err)
				}
				polls++
				if rec.BytesDone < last.BytesDone || rec.RowsDone < last.RowsDone {
					t.Errorf("progress went back: %d bytes %d rows after %d and %d", rec.BytesDone, rec.RowsDone, last.BytesDone, last.RowsDone)
				}
				if rec.State == job.Uploading && rec.ShardsDone == 0 && rec.BytesDone > 0 && rec.RowsDone > 0 && rec.RowsDone < rows {
					moving++
				}
				last = rec
				if rec.State.IsFinal() {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			if d := e.wait(arn); d.Status != sfntypes.ExecutionStatusSucceeded || last.State != job.Finished {
				t.Fatalf("execution %s, job %s %s", d.Status, last.State, last.Status)
			}
			if last.RowsDone != rows || last.BytesDone != last.BytesTotal || last.ShardsDone != 1 {
				t.Errorf("final progress: %d/%d rows, %d/%d bytes, %d shards", last.RowsDone, rows, last.BytesDone, last.BytesTotal, last.ShardsDone)
			}
			if moving == 0 {
				t.Errorf("in %d looks at the job, its progress never moved before its one shard was recorded", polls)
			}
			t.Logf("%d of %d looks saw progress before the shard was recorded", moving, polls)
		})
	}
}
