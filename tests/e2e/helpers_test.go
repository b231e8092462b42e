package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack/fixture"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/workarea"
)

// pool is the test's connection pool to its MariaDB server, opened on
// first use (one per test: a test that checks hundreds of partitions must
// not open a pool per query).
func (e *env) pool() *sql.DB {
	e.t.Helper()
	if e.sqlPool != nil {
		return e.sqlPool
	}
	p, err := e.srv.Open("")
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { p.Close() })
	e.sqlPool = p
	return p
}

// exec runs statements against the source server.
func (e *env) exec(stmts ...string) {
	e.t.Helper()
	p := e.pool()
	for _, s := range stmts {
		if _, err := p.ExecContext(context.Background(), s); err != nil {
			e.t.Fatalf("%s: %v", s, err)
		}
	}
}

// count returns SELECT COUNT(*) of a table of the sample database.
func (e *env) count(table string) int64 {
	e.t.Helper()
	var n int64
	if err := e.pool().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+quote(e.db)+"."+quote(table)).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// createDatabase generates another sample database on the same server.
func (e *env) createDatabase() string {
	e.t.Helper()
	db := fmt.Sprintf("shop_%d_%d", os.Getpid(), dbSeq.Add(1))
	if _, err := fixture.Generate(context.Background(), e.pool(), fixture.Options{Database: db, SizeBytes: fixture.MinSizeBytes, Seed: 2, DropExisting: true}); err != nil {
		e.t.Fatalf("generate sample database: %v", err)
	}
	e.t.Cleanup(func() { _ = e.srv.DropDatabase(context.Background(), db) })
	return db
}

// sourcePartitions lists a table's partitions as srbackup names them: the
// table's own name when it is unpartitioned.
func (e *env) sourcePartitions(table string) []string {
	e.t.Helper()
	return e.queryStrings(`SELECT DISTINCT COALESCE(PARTITION_NAME, TABLE_NAME)
		FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, e.db, table)
}

// queryStrings runs a one-column query against the source server and
// returns its values, sorted.
func (e *env) queryStrings(query string, args ...any) []string {
	e.t.Helper()
	return queryStringsIn(e.t, e.pool(), query, args...)
}

// queryStringsIn runs a one-column query on db for test t, values sorted.
func queryStringsIn(t testing.TB, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// snapshotIn verifies a committed snapshot of repository r.
func (e *env) snapshotIn(r *repository.Repo, label string) repository.Info {
	e.t.Helper()
	ctx := context.Background()
	ts, err := r.Timestamps(ctx, label)
	if err != nil || len(ts) != 1 {
		e.t.Fatalf("timestamps of %s in %s: %v %v", label, r.Name(), ts, err)
	}
	info, err := r.VerifySnapshot(ctx, label, ts[0])
	if err != nil {
		e.t.Fatalf("verify snapshot %s: %v", label, err)
	}
	return info
}

// snapshotFiles lists the objects under a snapshot's directory, relative to it.
func (e *env) snapshotFiles(r *repository.Repo, label string) []string {
	e.t.Helper()
	return snapshotFilesOf(e.t, r, label)
}

// snapshotFilesIn is snapshotFiles of the env's repository for test t.
func (e *env) snapshotFilesIn(t testing.TB, label string) []string {
	t.Helper()
	return snapshotFilesOf(t, e.repo, label)
}

func snapshotFilesOf(t testing.TB, r *repository.Repo, label string) []string {
	t.Helper()
	dir, err := r.SnapshotPrefix(label)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := r.List(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range keys {
		out = append(out, strings.TrimPrefix(k, dir))
	}
	slices.Sort(out)
	return out
}

// settledFiles is snapshotFiles once a cancelled job's stragglers are done:
// an upload worker still running when its job was cancelled deletes the
// file it was writing when it next looks at the job, so the directory
// empties within moments, not at once. It waits up to 15 s for it to.
func (e *env) settledFiles(r *repository.Repo, label string) []string {
	e.t.Helper()
	files := e.snapshotFiles(r, label)
	for deadline := time.Now().Add(15 * time.Second); len(files) != 0 && time.Now().Before(deadline); files = e.snapshotFiles(r, label) {
		time.Sleep(100 * time.Millisecond)
	}
	return files
}

// openUploads lists the keys of open multipart uploads under a snapshot's directory.
func (e *env) openUploads(r *repository.Repo, label string) []string {
	e.t.Helper()
	return e.openUploadsOf(e.t, r, label)
}

func (e *env) openUploadsOf(t testing.TB, r *repository.Repo, label string) []string {
	t.Helper()
	dir, err := r.SnapshotPrefix(label)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.s3.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(r.Bucket()), Prefix: aws.String(dir)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

// lockHolder returns the job holding a database's lock, "" when it is free.
func (e *env) lockHolder(db string) string {
	e.t.Helper()
	id, _, ok, err := e.store.Holder(context.Background(), db)
	if err != nil {
		e.t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return id
}

// mustCancel checks that a backup ended CANCELLED with the given Status,
// the lock released and nothing left in the snapshot directory.
func (e *env) mustCancel(t *testing.T, d failedRun, label, status string) {
	t.Helper()
	if d.status != sfntypes.ExecutionStatusFailed || d.rec.State != job.Cancelled {
		t.Fatalf("execution %s (%s: %s), job %s %s; want FAILED and CANCELLED", d.status, d.errName, d.cause, d.rec.State, d.rec.Status)
	}
	if got := d.rec.Status.String(); got != status {
		t.Errorf("Status %q, want %q", got, status)
	}
	if h := e.lockHolder(e.db); h != "" {
		t.Errorf("database still locked by %s", h)
	}
	if files := e.settledFiles(e.repo, label); len(files) != 0 {
		t.Errorf("leftover objects in the snapshot directory: %v", files)
	}
	if ups := e.openUploads(e.repo, label); len(ups) != 0 {
		t.Errorf("open multipart uploads left: %v", ups)
	}
}

// failedRun is the outcome of an execution that should fail.
type failedRun struct {
	status         sfntypes.ExecutionStatus
	errName, cause string
	rec            job.Record
}

func (e *env) run(sql string) failedRun {
	e.t.Helper()
	d, rec := e.backup(sql)
	return failedRun{status: d.Status, errName: aws.ToString(d.Error), cause: aws.ToString(d.Cause), rec: rec}
}

// workFiles lists what is left in the deployment's work area of the
// stack's bucket (RESTORE's load Map items): a FINISHED or CANCELLED job
// leaves nothing there. jobID narrows it to one job ("" lists all).
func workFiles(t testing.TB, c *s3.Client, bucket, jobID string) []string {
	t.Helper()
	prefix := workarea.Prefix
	if jobID != "" {
		key, err := workarea.RestoreItemsKey(jobID)
		if err != nil {
			t.Fatal(err)
		}
		prefix = strings.TrimSuffix(key, "items.json")
	}
	var out []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	return out
}

// settledWorkFiles is workFiles once the job's cleanup (which runs after
// its execution ended, for a stopped one) had up to 30 s to finish.
func settledWorkFiles(t testing.TB, c *s3.Client, bucket, jobID string) []string {
	t.Helper()
	files := workFiles(t, c, bucket, jobID)
	for deadline := time.Now().Add(30 * time.Second); len(files) != 0 && time.Now().Before(deadline); files = workFiles(t, c, bucket, jobID) {
		time.Sleep(100 * time.Millisecond)
	}
	return files
}
