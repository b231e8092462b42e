package e2e

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/repository"
)

// The fault matrix (issue 12 §3): every step of BACKUP and RESTORE, in
// each consistency mode where it matters, under each fault the local stack
// can inject (localstack.FaultPlan), must end FINISHED after retries or
// CANCELLED with nothing left: no __info, no objects, no multipart uploads,
// no shadow or undo tables, the target as it was, the lock released and the
// label reusable. README "Fault matrix" is this table.

// A fault is a column of the matrix.
type fault string

const (
	fRetried  fault = "Lambda error (retried)"     // TransientError after the handler ran, once
	fFailed   fault = "Lambda error (not retried)" // an unknown error type after the handler ran, once
	fLost     fault = "Lambda lost mid-call"       // Sandbox.Timedout after 20 ms, the handler cut off
	fS3       fault = "S3 500 + 503 SlowDown"      // the step's first two S3 requests
	fDynamoDB fault = "DynamoDB throttling"        // the step's first two DynamoDB requests
	fSource   fault = "source connection dropped"  // the step's first packet naming the cell's database
	fStop     fault = "StopExecution"              // while the step's invocation is held
	fTimeout  fault = "execution timeout"          // while the step's invocation is held
)

var faults = []fault{fRetried, fFailed, fLost, fS3, fDynamoDB, fSource, fStop, fTimeout}

// A matrixStep is a row: a state of a state machine and the function it invokes.
type matrixStep struct {
	machine, state, function string
	// match narrows the step's Lambda invocations (the point-in-time
	// coordinator and the upload workers are one function).
	match string
	modes []string // BACKUP consistency modes the row runs in
	// na says why a fault does not apply to the step.
	na map[fault]string
}

const (
	noSource = "the function does not connect to the database"
	noS3     = "the function makes no S3 request"
)

var matrixSteps = []matrixStep{
	{machine: "backup", state: "Parse", function: "parse", modes: []string{"snapshot"}, na: map[fault]string{fS3: noS3}},
	{machine: "backup", state: "Lock", function: "lock", modes: []string{"snapshot"}, na: map[fault]string{fSource: noSource}},
	{machine: "backup", state: "SnapshotShard", function: "snapshot", modes: []string{"shard", "snapshot"}},
	{machine: "backup", state: "UploadBatch", function: "upload", match: `"batch":0`, modes: []string{"shard", "snapshot"}},
	{machine: "backup", state: "HoldCommits", function: "upload", match: `"coordinate":true`, modes: []string{"snapshot"}, na: map[fault]string{fS3: noS3,
		fSource: "the coordinator's statements (BACKUP STAGE, FLUSH TABLES WITH READ LOCK) name no database and it shares the upload function's connections with the workers: see UploadBatch"}},
	{machine: "backup", state: "Finalize", function: "finalize", modes: []string{"snapshot"}, na: map[fault]string{fSource: noSource}},
	{machine: "backup", state: "Cleanup", function: "cleanup", modes: []string{"snapshot"}, na: map[fault]string{fSource: noSource}},
	{machine: "restore", state: "Parse", function: "restoreparse", na: map[fault]string{fSource: noSource}},
	{machine: "restore", state: "Lock", function: "lock", na: map[fault]string{fSource: noSource, fS3: "a RESTORE's Lock makes no S3 request (it writes no snapshot)"}},
	{machine: "restore", state: "Prepare", function: "restoreprepare"},
	{machine: "restore", state: "LoadBatch", function: "restoreload"},
	{machine: "restore", state: "Commit", function: "restorecommit"},
	{machine: "restore", state: "Cleanup", function: "restorecleanup"},
}

// expected is a cell's outcome: FINISHED after retries, or CANCELLED. A
// fault after the commit marker (Finalize's __info, Commit's swap) leaves
// the job FINISHED: the commit stands, and cleanup leaves a finished job
// alone. A Lambda lost mid-call in those steps may fall either side of it.
func (s matrixStep) expected(mode string, f fault) []job.State {
	commits := s.state == "Finalize" || s.state == "Commit"
	switch {
	case s.state == "Cleanup":
		return []job.State{job.Cancelled} // cleanup runs only for a job that failed
	case f == fSource && mode == "snapshot" && s.state == "UploadBatch":
		// A worker that loses its connection loses its point in time.
		return []job.State{job.Cancelled}
	case f == fRetried || f == fS3 || f == fDynamoDB || f == fSource:
		return []job.State{job.Finished}
	case f == fFailed && commits:
		return []job.State{job.Finished}
	case f == fLost && commits:
		return []job.State{job.Finished, job.Cancelled}
	}
	return []job.State{job.Cancelled}
}

var cellSeq atomic.Int64

// TestFaultMatrix runs every cell against one stack, several at a time:
// each cell has its own databases, label and execution names, and its
// faults match only them.
func TestFaultMatrix(t *testing.T) {
	e := newEnv(t, envOptions{faults: true})
	// Cells wait on the state machines more than they compute.
	sem := make(chan struct{}, 6)
	var wg sync.WaitGroup
	for _, s := range matrixSteps {
		modes := s.modes
		if len(modes) == 0 {
			modes = []string{""}
		}
		for _, mode := range modes {
			for _, f := range faults {
				name := s.machine + "/" + s.state + "/" + string(f)
				if mode != "" && len(s.modes) > 1 {
					name += "/" + mode
				}
				if why := s.na[f]; why != "" {
					t.Run(name, func(t *testing.T) { t.Skip("not applicable: " + why) })
					continue
				}
				// Each cell has its own repository, so that the
				// registry reads and the S3 keys of its jobs name it.
				tok := fmt.Sprintf("fm%03d", cellSeq.Add(1))
				repo := e.createRepository("r_" + tok)
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					t.Run(name, func(t *testing.T) {
						c := newCell(t, e, repo, tok, s, mode, f)
						c.run()
					})
				}()
			}
		}
	}
	wg.Wait()
}

// mcell is one run of the matrix.
type mcell struct {
	t     *testing.T
	e     *env
	repo  *repository.Repo
	step  matrixStep
	mode  string
	fault fault
	tok   string // in every name the cell uses: its database, label and executions
	db    *sql.DB
	ctx   context.Context
}

func newCell(t *testing.T, e *env, repo *repository.Repo, tok string, s matrixStep, mode string, f fault) *mcell {
	p, err := e.srv.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c := &mcell{t: t, e: e, repo: repo, step: s, mode: mode, fault: f, tok: tok, db: p, ctx: context.Background()}
	c.exec("CREATE DATABASE "+tok,
		"CREATE TABLE "+tok+".t1 (id INT PRIMARY KEY, v VARCHAR(32))",
		"INSERT INTO "+tok+".t1 SELECT seq, CONCAT('v', seq) FROM mysql.seq_1_to_40",
		"CREATE TABLE "+tok+".t2 (id INT PRIMARY KEY, d DATE) PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (20), PARTITION p1 VALUES LESS THAN MAXVALUE)",
		"INSERT INTO "+tok+".t2 SELECT seq, '2024-01-01' + INTERVAL seq DAY FROM mysql.seq_1_to_40")
	t.Cleanup(func() {
		_ = e.srv.DropDatabase(context.Background(), tok)
		_ = e.srv.DropDatabase(context.Background(), tok+"r")
	})
	return c
}

func (c *mcell) exec(stmts ...string) {
	c.t.Helper()
	for _, s := range stmts {
		if _, err := c.db.ExecContext(c.ctx, s); err != nil {
			c.t.Fatalf("%s: %v", s, err)
		}
	}
}

func (c *mcell) label() string { return "l_" + c.tok }

func (c *mcell) backupSQL() string {
	mode := cmp.Or(c.mode, "snapshot")
	return fmt.Sprintf(`BACKUP DATABASE %s SNAPSHOT %s TO r_%s PROPERTIES ("consistency" = "%s", "parallelism" = "2")`, c.tok, c.label(), c.tok, mode)
}

func (c *mcell) restoreSQL(ts string) string {
	return fmt.Sprintf(`RESTORE SNAPSHOT %s FROM r_%s DATABASE %s AS %sr PROPERTIES ("backup_timestamp" = "%s", "parallelism" = "2")`, c.label(), c.tok, c.tok, c.tok, ts)
}

// start starts an execution of machine named name.
func (c *mcell) start(machine, name, sqlText string) string {
	c.t.Helper()
	in, _ := json.Marshal(map[string]string{"sql": sqlText})
	out, err := c.e.sfn.StartExecution(c.ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(c.e.st.StateMachineARNs[machine]), Name: aws.String(name), Input: aws.String(string(in)),
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return aws.ToString(out.ExecutionArn)
}

func (c *mcell) wait(arn string) *sfn.DescribeExecutionOutput {
	c.t.Helper()
	return c.e.waitFor(c.t, arn)
}

// job returns the job of an execution; ok is false when there is none.
func (c *mcell) job(name string) (job.Record, bool) {
	c.t.Helper()
	rec, err := c.e.store.Get(c.ctx, name)
	var nf *job.NotFoundError
	if errors.As(err, &nf) {
		return rec, false
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return rec, true
}

// mustRun runs an execution with no fault and requires it FINISHED.
func (c *mcell) mustRun(machine, name, sqlText string) {
	c.t.Helper()
	d := c.wait(c.start(machine, name, sqlText))
	rec, _ := c.job(name)
	if d.Status != sfntypes.ExecutionStatusSucceeded || rec.State != job.Finished {
		c.t.Fatalf("%s: execution %s (%s: %s), job %s %s", name, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), rec.State, rec.Status)
	}
}

func (c *mcell) arm(r localstack.Rule) *localstack.Armed {
	a := c.e.st.Faults.Add(r)
	c.t.Cleanup(a.Remove)
	return a
}

// armFault arms the cell's fault on its step; the returned rule is the
// one that must be hit. For the Cleanup rows it also fails the job first.
func (c *mcell) armFault() *localstack.Armed {
	fn, match := c.step.function, []string{c.tok}
	if c.step.match != "" {
		match = append(match, c.step.match)
	}
	if c.step.state == "Cleanup" {
		loader := "upload"
		if c.step.machine == "restore" {
			loader = "restoreload"
		}
		c.arm(localstack.Rule{Service: localstack.ServiceLambda, Function: loader, Match: []string{c.tok}, Calls: localstack.Nth(1),
			Fault: localstack.LambdaError("InjectedFault", "injected failure")})
	}
	lambdaRule := func(f localstack.Fault) *localstack.Armed {
		return c.arm(localstack.Rule{Service: localstack.ServiceLambda, Function: fn, Match: match, Calls: localstack.Nth(1), Fault: f})
	}
	switch c.fault {
	case fRetried:
		return lambdaRule(localstack.LambdaError("TransientError", "injected transient failure"))
	case fFailed:
		return lambdaRule(localstack.LambdaError("InjectedFault", "injected failure"))
	case fLost:
		return lambdaRule(localstack.LambdaLost(20 * time.Millisecond))
	case fStop, fTimeout:
		return lambdaRule(localstack.LambdaHold())
	case fS3:
		// S3 requests carry the label in their keys; RESTORE reads the
		// snapshot of the cell's own BACKUP.
		a := c.arm(localstack.Rule{Service: localstack.ServiceS3, Function: fn, Match: []string{c.tok}, Calls: localstack.Nth(1), Fault: localstack.S3InternalError()})
		c.arm(localstack.Rule{Service: localstack.ServiceS3, Function: fn, Match: []string{c.tok}, Calls: localstack.Nth(2), Fault: localstack.S3SlowDown()})
		return a
	case fDynamoDB:
		a := c.arm(localstack.Rule{Service: localstack.ServiceDynamoDB, Function: fn, Match: []string{c.tok}, Calls: localstack.Nth(1), Fault: localstack.DynamoDBThroughputExceeded()})
		c.arm(localstack.Rule{Service: localstack.ServiceDynamoDB, Function: fn, Match: []string{c.tok}, Calls: localstack.Nth(2), Fault: localstack.DynamoDBThrottling()})
		return a
	case fSource:
		return c.arm(localstack.Rule{Service: localstack.ServiceSource, Function: fn, Match: []string{c.tok}, Calls: localstack.Nth(1), Fault: localstack.DropConnection()})
	}
	c.t.Fatalf("unknown fault %q", c.fault)
	return nil
}

func (c *mcell) run() {
	t := c.t
	machine, sqlText := c.step.machine, c.backupSQL()
	var before string
	if machine == "restore" {
		// The snapshot to restore, and a target that a cancelled RESTORE
		// must leave as it is: t1 with other rows, no t2.
		c.mustRun("backup", c.tok+"-s", c.backupSQL())
		ts, err := c.repo.Timestamps(c.ctx, c.label())
		if err != nil || len(ts) != 1 {
			t.Fatalf("snapshot timestamps %v %v", ts, err)
		}
		sqlText = c.restoreSQL(ts[0])
		c.exec("CREATE DATABASE "+c.tok+"r",
			"CREATE TABLE "+c.tok+"r.t1 (id INT PRIMARY KEY, v VARCHAR(32))",
			"INSERT INTO "+c.tok+"r.t1 VALUES (1, 'old'), (2, 'old')")
		before = c.tables(c.tok + "r")
	}
	a := c.armFault()
	name := c.tok + "-a"
	arn := c.start(machine, name, sqlText)
	switch c.fault {
	case fStop, fTimeout:
		select {
		case <-a.Hit():
		case <-time.After(90 * time.Second):
			t.Fatalf("%s was never invoked", c.step.state)
		}
		if c.fault == fStop {
			if _, err := c.e.sfn.StopExecution(c.ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
				t.Fatal(err)
			}
		} else if err := c.e.st.SetExecutionTimeout(c.ctx, name, time.Millisecond); err != nil {
			t.Fatal(err)
		}
		d := c.wait(arn)
		want := map[fault]sfntypes.ExecutionStatus{fStop: sfntypes.ExecutionStatusAborted, fTimeout: sfntypes.ExecutionStatusTimedOut}[c.fault]
		if d.Status != want {
			t.Errorf("execution %s, want %s", d.Status, want)
		}
		// The event's cleanup runs first; the held invocation then runs
		// late, as a Lambda still running when its execution ended does.
		c.settle(name, before)
		a.Release()
	}
	d := c.wait(arn)
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	if err := a.Wait(ctx); err != nil {
		t.Errorf("a held or abandoned invocation did not return: %v", err)
	}
	if a.Hits() == 0 {
		t.Fatalf("the fault was never injected: %s made no matching call (mark the cell not applicable if it cannot)", c.step.function)
	}
	want := c.step.expected(c.mode, c.fault)
	rec, ok := c.settle(name, before)
	if !slices.Contains(want, rec.State) && (ok || !slices.Contains(want, job.Cancelled)) {
		t.Fatalf("execution %s (%s: %s), job %s %s; want %v", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), rec.State, rec.Status, want)
	}
	if rec.State == job.Finished {
		if len(want) == 1 && d.Status != sfntypes.ExecutionStatusSucceeded && c.fault != fFailed {
			t.Errorf("execution %s, want SUCCEEDED after retries", d.Status)
		}
		c.checkFinished(machine, name)
		return
	}
	if d.Status == sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution SUCCEEDED, job %s; want it to fail", rec.State)
	}
	if ok && rec.State != job.Cancelled {
		t.Errorf("job %s %s, want CANCELLED", rec.State, rec.Status)
	}
	if !ok && c.step.state != "Parse" && c.step.state != "Lock" {
		t.Errorf("no job record after a failure in %s", c.step.state)
	}
	c.checkClean(machine, before, name)
	// The label is free again: the same statement now runs to the end.
	c.mustRun(machine, c.tok+"-b", sqlText)
	c.checkFinished(machine, c.tok+"-b")
}

// settle waits up to 30 s for the job of execution name to be final and
// its cleanup done: the lock free, no files, no job tables in the target,
// and no function still running for the cell (an upload worker still
// running when its job was cancelled deletes its file when it next looks
// at the job; until then the label's folder is not empty).
func (c *mcell) settle(name, before string) (job.Record, bool) {
	var rec job.Record
	var ok bool
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		rec, ok = c.job(name)
		if c.e.st.Lambda.Running(c.tok) > 0 {
			continue
		}
		if ok && !rec.State.IsFinal() {
			continue
		}
		if c.lockHolder() != "" {
			continue
		}
		if ok && rec.State == job.Finished {
			break
		}
		if c.step.machine == "backup" && (len(snapshotFilesOf(c.t, c.repo, c.label())) > 0 || len(c.openUploads()) > 0) {
			continue
		}
		if c.step.machine == "restore" && (c.tables(c.tok+"r") != before || len(c.workFiles(name)) > 0) {
			continue
		}
		break
	}
	return rec, ok
}

func (c *mcell) lockHolder() string {
	db := c.tok
	if c.step.machine == "restore" {
		db += "r"
	}
	id, _, ok, err := c.e.store.Holder(c.ctx, db)
	if err != nil {
		c.t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return id
}

func (c *mcell) openUploads() []string { return c.e.openUploadsOf(c.t, c.repo, c.label()) }

// tables is every table of db with its checksum: a cancelled RESTORE
// leaves it as it was, shadow (__srr_*) and undo (__sro_*) tables included.
func (c *mcell) tables(db string) string {
	c.t.Helper()
	names := queryStringsIn(c.t, c.db, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", db)
	var b strings.Builder
	for _, n := range names {
		var name string
		var sum sql.NullString
		if err := c.db.QueryRowContext(c.ctx, "CHECKSUM TABLE "+quote(db)+"."+quote(n)).Scan(&name, &sum); err != nil {
			c.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%s\n", n, sum.String)
	}
	return b.String()
}

// workFiles is what job jobID left in the deployment's work area.
func (c *mcell) workFiles(jobID string) []string { return workFiles(c.t, c.e.s3, c.e.st.Bucket, jobID) }

// checkClean checks what cancelled job jobID must leave: for a BACKUP no
// snapshot, objects or uploads; for a RESTORE the target as it was and no
// work files; for both the lock free.
func (c *mcell) checkClean(machine, before, jobID string) {
	t := c.t
	if h := c.lockHolder(); h != "" {
		t.Errorf("database still locked by %s", h)
	}
	if machine == "backup" {
		if ts, err := c.repo.Timestamps(c.ctx, c.label()); err != nil || len(ts) != 0 {
			t.Errorf("a cancelled job committed a snapshot: %v %v", ts, err)
		}
		if files := snapshotFilesOf(t, c.repo, c.label()); len(files) != 0 {
			t.Errorf("leftover objects: %v", files)
		}
		if ups := c.openUploads(); len(ups) != 0 {
			t.Errorf("open multipart uploads: %v", ups)
		}
		return
	}
	if after := c.tables(c.tok + "r"); after != before {
		t.Errorf("target changed:\n--- before\n%s--- after\n%s", before, after)
	}
	if files := c.workFiles(jobID); len(files) != 0 {
		t.Errorf("work files left: %v", files)
	}
}

// checkFinished checks finished job jobID's result: the snapshot verifies
// and holds exactly its files; the restored tables equal the source's and
// no work file is left.
func (c *mcell) checkFinished(machine, jobID string) {
	t := c.t
	if h := c.lockHolder(); h != "" {
		t.Errorf("database still locked by %s", h)
	}
	if machine == "backup" {
		ts, err := c.repo.Timestamps(c.ctx, c.label())
		if err != nil || len(ts) != 1 {
			t.Fatalf("snapshot timestamps %v %v", ts, err)
		}
		info, err := c.repo.VerifySnapshot(c.ctx, c.label(), ts[0])
		if err != nil {
			t.Fatalf("verify snapshot: %v", err)
		}
		want := []string{"__meta", "__info_" + info.Timestamp()}
		for _, f := range info.Files() {
			want = append(want, f.Key)
		}
		slices.Sort(want)
		if got := snapshotFilesOf(t, c.repo, c.label()); !slices.Equal(got, want) {
			t.Errorf("snapshot directory holds %v\nwant %v", got, want)
		}
		return
	}
	src, dst := c.tables(c.tok), c.tables(c.tok+"r")
	if src != dst {
		t.Errorf("restored tables differ from the source:\n--- source\n%s--- restored\n%s", src, dst)
	}
	if files := c.workFiles(jobID); len(files) != 0 {
		t.Errorf("work files left: %v", files)
	}
}

// TestFinalizeCutAfterCommit: a Finalize that commits but does not get to
// delete the shard plan (here S3 refuses the delete and Finalize's answer is
// then lost to an error) leaves the job FINISHED, and the cleanup that the
// failed execution runs deletes the plan: no plan file (it holds key
// boundary values) outlives a finished job. The matrix's Finalize × Lambda
// lost cell meets this only when its cut falls between the two.
func TestFinalizeCutAfterCommit(t *testing.T) {
	e := newEnv(t, envOptions{faults: true})
	tok := "fmz01"
	c := newCell(t, e, e.createRepository("r_"+tok), tok, matrixStep{machine: "backup", state: "Finalize", function: "finalize"}, "shard", fFailed)
	refused := c.arm(localstack.Rule{Service: localstack.ServiceS3, Op: "s3:DeleteObject", Function: "finalize", Match: []string{"__plan_" + tok},
		Calls: localstack.Every(), Fault: localstack.Fault{Kind: localstack.FaultS3Error, Status: 403, Code: "AccessDenied", Message: "Access Denied"}})
	lost := c.arm(localstack.Rule{Service: localstack.ServiceLambda, Function: "finalize", Match: []string{tok}, Calls: localstack.Nth(1),
		Fault: localstack.LambdaError("InjectedFault", "answer lost after the commit")})
	name := tok + "-a"
	d := c.wait(c.start("backup", name, c.backupSQL()))
	rec, _ := c.settle(name, "")
	if refused.Hits() == 0 || lost.Hits() != 1 {
		t.Fatalf("faults injected: plan delete %d, finalize %d", refused.Hits(), lost.Hits())
	}
	if d.Status != sfntypes.ExecutionStatusFailed || rec.State != job.Finished {
		t.Fatalf("execution %s, job %s %s; want FAILED and FINISHED", d.Status, rec.State, rec.Status)
	}
	c.checkFinished("backup", name) // exactly the manifest's files, __meta and __info
}
