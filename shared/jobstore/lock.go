package jobstore

import (
	"context"
	"fmt"
	"slices"
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
// The lock expires grace after the job's deadline, so that a crashed
// execution never blocks its database for ever while a live job never loses
// it: pass the time cleanup needs after a timeout.
//
// Lock is idempotent for a job that already holds its lock: the API locks
// synchronously and the state machine's Lock state locks again. It fails
// with job.ErrDatabaseBusy or job.ErrSnapshotExists (ConflictError), in
// StarRocks' order: the database first. A job that is already final gets a
// CancelledError or ConflictError.
//
// Checking S3 for an existing __ss_<label> folder is the caller's part.
func (s *Store) Lock(ctx context.Context, rec job.Record, grace time.Duration) error {
	spec := rec.Spec
	if err := spec.Validate(); err != nil {
		return err
	}
	if rec.State != job.Pending {
		return fmt.Errorf("lock job %s: record is %s, want %s", spec.JobID, rec.State, job.Pending)
	}
	jobAV, err := newJobItem(rec)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Put: s.lockPut(rec, grace)},
		// No DROP SNAPSHOT of the snapshot may be under way.
		s.dropCheck(spec),
		{Put: s.snapPut(spec)},
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
		return job.ErrSnapshotExists(spec.Label)
	case failed[3]:
		return s.relock(ctx, rec, grace)
	}
	return fmt.Errorf("lock job %s: transaction cancelled without a reason", spec.JobID)
}

// relock re-asserts the lock and the name of a job whose record exists:
// the idempotent path of Lock. The record is left alone (it may already
// carry an execution ARN); the condition check refuses a final job.
func (s *Store) relock(ctx context.Context, rec job.Record, grace time.Duration) error {
	spec := rec.Spec
	items := []types.TransactWriteItem{
		{Put: s.lockPut(rec, grace)},
		{Put: s.snapPut(spec)},
		{ConditionCheck: &types.ConditionCheck{
			TableName:           aws.String(s.table),
			Key:                 key(jobPK(spec.JobID), skJob),
			ConditionExpression: aws.String("#db = :db AND NOT #state IN (:finished, :cancelled)"),
			ExpressionAttributeNames: map[string]string{
				"#db": "database", "#state": attrState,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":db":        str(spec.Database),
				":finished":  str(string(job.Finished)),
				":cancelled": str(string(job.Cancelled)),
			},
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
	return &job.ConflictError{Message: fmt.Sprintf("backup job %s is %s in database %s; it can not be locked again",
		spec.JobID, cur.State, cur.Spec.Database)}
}

func (s *Store) lockPut(rec job.Record, grace time.Duration) *types.Put {
	spec := rec.Spec
	return &types.Put{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			AttrPK: str(lockPK(spec.Database)), AttrSK: str(skLock),
			attrJobID: str(spec.JobID), "kind": str(spec.Kind()), "label": str(spec.Label),
			"database": str(spec.Database), attrExpiresAt: num(spec.Deadline.Add(grace).Unix()),
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

// releaseLock deletes the database lock if this job holds it.
func (s *Store) releaseLock(db, jobID string) *types.Delete {
	return &types.Delete{
		TableName:                 aws.String(s.table),
		Key:                       key(lockPK(db), skLock),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #job = :job"),
		ExpressionAttributeNames:  map[string]string{"#job": attrJobID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":job": str(jobID)},
	}
}

// Holder returns the id of the job holding the database lock and when the
// lock expires; ok is false when the database is free.
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
