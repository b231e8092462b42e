package jobstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
)

// Lock claims everything a new backup job needs, in one transaction:
//
//   - the database lock LOCK#<db>: free, expired, or already held by this job;
//   - the snapshot-name reservation SNAP#<repo>#<label>: free or this job's;
//   - the job record JOB#<id> (rec, normally job.NewRecord(spec));
//   - the database's last-job pointer that SHOW BACKUP reads.
//
// The lock expires when lease says (Lease.Expires), so that a crashed
// execution, or an API that died before starting one, never blocks its
// database for ever while a live job never loses it.
//
// Lock is idempotent for a job that already holds its lock: the API locks
// synchronously and the state machine's Lock state locks again. It fails
// with job.ErrDatabaseBusy or job.ErrSnapshotExists (ConflictError), in
// StarRocks' order: the database first. A job that is already final gets a
// CancelledError or ConflictError.
//
// Checking S3 for an existing __ss_<label> folder is the caller's part.
func (s *Store) Lock(ctx context.Context, rec job.Record, lease Lease) error {
	spec := rec.Spec
	if err := spec.Validate(); err != nil {
		return err
	}
	if rec.State != job.Pending {
		return fmt.Errorf("lock job %s: record is %s, want %s", spec.JobID, rec.State, job.Pending)
	}
	return s.lock(ctx, rec, lease, "")
}

// lock is Lock; stale, when set, is a job whose name reservation the
// transaction takes over, cancelling that job (see staleReservation).
func (s *Store) lock(ctx context.Context, rec job.Record, lease Lease, stale string) error {
	spec := rec.Spec
	jobAV, err := newJobItem(rec)
	if err != nil {
		return err
	}
	snap := s.snapPut(spec)
	if stale != "" {
		snap.ConditionExpression = aws.String("attribute_not_exists(pk) OR #job = :job OR #job = :stale")
		snap.ExpressionAttributeValues[":stale"] = str(stale)
	}
	items := []types.TransactWriteItem{
		{Put: s.lockPut(rec, lease)},
		// No DROP SNAPSHOT of the snapshot may be under way.
		s.dropCheck(spec),
		{Put: snap},
		{Put: &types.Put{
			TableName:           aws.String(s.table),
			Item:                jobAV,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
		{Put: &types.Put{
			TableName: aws.String(s.table),
			Item: map[string]types.AttributeValue{
				AttrPK: str(pkDBs), AttrSK: str(dbSK(spec.Database)),
				"database": str(spec.Database), attrJobID: str(spec.JobID),
				"createTime": str(formatTime(rec.CreateTime)),
			},
		}},
	}
	if stale != "" {
		items = append(items, s.cancelStale(stale))
	}
	if spec.IsRestore() {
		// A RESTORE reads a snapshot: it reserves no name.
		items = slices.Delete(items, 2, 3)
	}
	failed, err := s.transact(ctx, items)
	if err != nil {
		return fmt.Errorf("lock database %s for job %s: %w", spec.Database, spec.JobID, err)
	}
	if failed != nil && spec.IsRestore() {
		failed = slices.Insert(failed, 2, false) // the indexes of the cases below
	}
	switch {
	case failed == nil:
		return nil
	case failed[0]:
		return job.ErrDatabaseBusy()
	case failed[1]:
		return job.ErrSnapshotDropping(spec.Label)
	case failed[2]:
		if stale == "" {
			if id, err := s.staleReservation(ctx, spec); err != nil {
				return err
			} else if id != "" {
				return s.lock(ctx, rec, lease, id)
			}
		}
		return job.ErrSnapshotExists(spec.Label)
	case failed[3]:
		return s.relock(ctx, rec, lease)
	case stale != "" && len(failed) > 5 && failed[5]:
		return job.ErrSnapshotExists(spec.Label) // the stale job moved on meanwhile
	}
	return fmt.Errorf("lock job %s: transaction cancelled without a reason", spec.JobID)
}

// staleReservation returns the job holding spec's snapshot name if that
// job never started: PENDING, with no execution recorded, and no longer
// holding its database lock (the API's short Pending lease ran out: it died
// between Lock and StartExecution). Such a job would keep the label taken
// and stay PENDING for ever; Lock takes its name over and cancels it in the
// same transaction. "" when the name is someone's in earnest.
func (s *Store) staleReservation(ctx context.Context, spec job.Spec) (string, error) {
	av, err := s.getItem(ctx, key(snapPK(spec.Repository, spec.Label), skSnap))
	if err != nil || av == nil {
		return "", err
	}
	id, _ := av[attrJobID].(*types.AttributeValueMemberS)
	if id == nil || id.Value == spec.JobID {
		return "", nil
	}
	holder, err := s.Get(ctx, id.Value)
	var nf *job.NotFoundError
	if errors.As(err, &nf) {
		return "", nil // its record expired: not ours to judge
	}
	if err != nil || holder.State != job.Pending || holder.ExecutionARN != "" {
		return "", err
	}
	lockedBy, expires, ok, err := s.Holder(ctx, holder.Spec.LockName())
	if err != nil || (ok && lockedBy == holder.Spec.JobID && !expires.Before(s.now())) {
		return "", err
	}
	return holder.Spec.JobID, nil
}

// cancelStale cancels a job that never started (staleReservation), if it
// still has not.
func (s *Store) cancelStale(jobID string) types.TransactWriteItem {
	status := job.NewStatus(job.CodeCommonError, "the job's execution never started")
	at := s.now()
	return types.TransactWriteItem{Update: &types.Update{
		TableName:           aws.String(s.table),
		Key:                 key(jobPK(jobID), skJob),
		UpdateExpression:    aws.String("SET #state = :cancelled, #code = :code, #msg = :msg, #ft = :at, #ttl = :ttl"),
		ConditionExpression: aws.String("#state = :pending AND attribute_not_exists(#arn)"),
		ExpressionAttributeNames: map[string]string{
			"#state": attrState, "#code": attrStatusCode, "#msg": attrStatusMsg, "#ft": attrFinished, "#ttl": AttrTTL, "#arn": attrExecARN,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":cancelled": str(string(job.Cancelled)), ":pending": str(string(job.Pending)),
			":code": str(string(status.Code)), ":msg": str(status.Message),
			":at": str(formatTime(at)), ":ttl": s.ttlAfter(at),
		},
	}}
}

// relock re-asserts the lock and the name of a job whose record exists:
// the idempotent path of Lock. The record is left alone; the condition check
// refuses a final job, and a job recorded for another execution (the
// console's "New execution" copies the input, jobId included): only the
// execution that holds the job may lock it again.
func (s *Store) relock(ctx context.Context, rec job.Record, lease Lease) error {
	spec := rec.Spec
	values := map[string]types.AttributeValue{
		":db":        str(spec.Database),
		":finished":  str(string(job.Finished)),
		":cancelled": str(string(job.Cancelled)),
	}
	owner := "attribute_not_exists(#arn)"
	if rec.ExecutionARN != "" {
		owner = "(attribute_not_exists(#arn) OR #arn = :arn)"
		values[":arn"] = str(rec.ExecutionARN)
	}
	items := []types.TransactWriteItem{
		{Put: s.lockPut(rec, lease)},
		{Put: s.snapPut(spec)},
		{ConditionCheck: &types.ConditionCheck{
			TableName:           aws.String(s.table),
			Key:                 key(jobPK(spec.JobID), skJob),
			ConditionExpression: aws.String("#db = :db AND NOT #state IN (:finished, :cancelled) AND " + owner),
			ExpressionAttributeNames: map[string]string{
				"#db": "database", "#state": attrState, "#arn": attrExecARN,
			},
			ExpressionAttributeValues: values,
		}},
	}
	if spec.IsRestore() {
		items = slices.Delete(items, 1, 2)
	}
	failed, err := s.transact(ctx, items)
	if err != nil {
		return fmt.Errorf("re-lock database %s for job %s: %w", spec.Database, spec.JobID, err)
	}
	if failed != nil && spec.IsRestore() {
		failed = slices.Insert(failed, 1, false)
	}
	switch {
	case failed == nil:
		return nil
	case failed[0]:
		return job.ErrDatabaseBusy()
	case failed[1]:
		return job.ErrSnapshotExists(spec.Label)
	}
	cur, err := s.Get(ctx, spec.JobID)
	if err != nil {
		return err
	}
	if cur.State == job.Cancelled {
		return job.ErrJobCancelled(cur)
	}
	if cur.ExecutionARN != "" && cur.ExecutionARN != rec.ExecutionARN && cur.Spec.Database == spec.Database {
		return &job.ConflictError{Message: fmt.Sprintf("%s job %s is run by another execution; this one can not run it too",
			strings.ToLower(spec.Kind()), spec.JobID)}
	}
	return &job.ConflictError{Message: fmt.Sprintf("backup job %s is %s in database %s; it can not be locked again",
		spec.JobID, cur.State, cur.Spec.Database)}
}

// Lease says how long a job's database lock lasts.
type Lease struct {
	// Grace is how long the lock outlives the job's deadline: time for
	// cleanup to run after a timeout.
	Grace time.Duration
	// MaxRun is the state machine's execution timeout: nothing runs a job
	// longer, whatever its `timeout` (up to 365 days), so the lock ends at
	// most MaxRun plus Grace after the job was created. Zero: no bound but
	// the deadline.
	MaxRun time.Duration
	// Pending, when non-zero, is the lease of a lock taken before the job's
	// execution has started (the API's): the execution's own Lock state
	// locks the job again with the full lease. A job whose execution never
	// started (the API died between Lock and StartExecution) frees its
	// database after Pending.
	Pending time.Duration
}

// Expires is when a lock taken at now for spec ends: the deadline, bounded
// by MaxRun, plus Grace; with Pending, at most Pending after now.
func (l Lease) Expires(spec job.Spec, now time.Time) time.Time {
	end := spec.Deadline
	if l.MaxRun > 0 {
		if ceiling := spec.CreatedAt.Add(l.MaxRun); ceiling.Before(end) {
			end = ceiling
		}
	}
	end = end.Add(l.Grace)
	if l.Pending > 0 {
		if pending := now.Add(l.Pending); pending.Before(end) {
			end = pending
		}
	}
	return end
}

func (s *Store) lockPut(rec job.Record, lease Lease) *types.Put {
	spec := rec.Spec
	return &types.Put{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			AttrPK: str(lockPK(spec.LockName())), AttrSK: str(skLock),
			attrJobID: str(spec.JobID), "kind": str(spec.Kind()), "label": str(spec.Label),
			"database": str(spec.Database), attrExpiresAt: num(lease.Expires(spec, s.now()).Unix()),
		},
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR #exp < :now OR #job = :job"),
		ExpressionAttributeNames: map[string]string{"#exp": attrExpiresAt, "#job": attrJobID},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": num(s.now().Unix()), ":job": str(spec.JobID),
		},
	}
}

func (s *Store) snapPut(spec job.Spec) *types.Put {
	return &types.Put{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			AttrPK: str(snapPK(spec.Repository, spec.Label)), AttrSK: str(skSnap),
			attrJobID: str(spec.JobID), "database": str(spec.Database),
			"repository": str(spec.Repository), "label": str(spec.Label),
		},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #job = :job"),
		ExpressionAttributeNames:  map[string]string{"#job": attrJobID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":job": str(spec.JobID)},
	}
}

// releaseLock deletes the database lock (of db, a Spec.LockName) if this
// job holds it.
func (s *Store) releaseLock(db, jobID string) *types.Delete {
	return &types.Delete{
		TableName:                 aws.String(s.table),
		Key:                       key(lockPK(db), skLock),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #job = :job"),
		ExpressionAttributeNames:  map[string]string{"#job": attrJobID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":job": str(jobID)},
	}
}

// Holder returns the id of the job holding the database lock (of db, a
// Spec.LockName) and when the lock expires; ok is false when the database
// is free.
func (s *Store) Holder(ctx context.Context, db string) (jobID string, expires time.Time, ok bool, err error) {
	out, err := s.getItem(ctx, key(lockPK(db), skLock))
	if err != nil || out == nil {
		return "", time.Time{}, false, err
	}
	var it struct {
		JobID     string `dynamodbav:"jobId"`
		ExpiresAt int64  `dynamodbav:"expiresAt"`
	}
	if err := unmarshal(out, &it); err != nil {
		return "", time.Time{}, false, fmt.Errorf("decode lock of %s: %w", db, err)
	}
	return it.JobID, time.Unix(it.ExpiresAt, 0).UTC(), true, nil
}
