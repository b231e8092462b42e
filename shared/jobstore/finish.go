package jobstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
)

// maxEndAttempts bounds the rounds of Finish and Cancel; each round either
// succeeds or drops a release that belongs to another job.
const maxEndAttempts = 4

// Finish marks a job FINISHED (from UPLOAD_INFO) at the given time and
// releases its database lock, in one transaction. The snapshot-name
// reservation stays: a finished snapshot's name remains taken. It expires
// with the job after the retention period, when the __ss_<label> folder in
// S3 keeps the name taken. Finishing a finished job returns it unchanged.
func (s *Store) Finish(ctx context.Context, jobID string, at time.Time) (job.Record, error) {
	for range maxEndAttempts {
		rec, err := s.Get(ctx, jobID)
		if err != nil {
			return job.Record{}, err
		}
		last := job.UploadInfo
		if rec.Spec.IsRestore() {
			last = job.Committing
		}
		switch rec.State {
		case job.Finished:
			return rec, nil
		case job.Cancelled:
			return rec, job.ErrJobCancelled(rec)
		case last:
		default:
			return rec, &job.ConflictError{Message: fmt.Sprintf("backup job %s is %s: can not finish", jobID, rec.State)}
		}
		ttl := s.ttlAfter(at)
		items := []types.TransactWriteItem{
			{Update: &types.Update{
				TableName:                aws.String(s.table),
				Key:                      key(jobPK(jobID), skJob),
				UpdateExpression:         aws.String("SET #state = :finished, #ft = :at, #ttl = :ttl"),
				ConditionExpression:      aws.String("#state = :from"),
				ExpressionAttributeNames: map[string]string{"#state": attrState, "#ft": attrFinished, "#ttl": AttrTTL},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":finished": str(string(job.Finished)), ":at": str(formatTime(at)), ":ttl": ttl,
					":from": str(string(last)),
				},
			}},
			{Delete: s.releaseLock(rec.Spec.LockName(), jobID)},
		}
		if !rec.Spec.IsRestore() {
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName:                 aws.String(s.table),
				Key:                       key(snapPK(rec.Spec.Repository, rec.Spec.Label), skSnap),
				UpdateExpression:          aws.String("SET #ttl = :ttl"),
				ConditionExpression:       aws.String("#job = :job"),
				ExpressionAttributeNames:  map[string]string{"#ttl": AttrTTL, "#job": attrJobID},
				ExpressionAttributeValues: map[string]types.AttributeValue{":ttl": ttl, ":job": str(jobID)},
			}})
		}
		done, err := s.endJob(ctx, items)
		if err != nil {
			return job.Record{}, fmt.Errorf("finish job %s: %w", jobID, err)
		}
		if done {
			return s.Get(ctx, jobID)
		}
	}
	return job.Record{}, fmt.Errorf("finish job %s: still contended after %d attempts", jobID, maxEndAttempts)
}

// Cancel marks a job CANCELLED with the given status (user cancelled when
// status is OK) at the given time, releases its database lock and deletes
// its snapshot-name reservation, in one transaction. srbackup deliberately
// makes a cancelled label reusable, unlike StarRocks. Cancelling a
// cancelled job returns it unchanged, keeping its first status; cancelling
// a finished job gives job.ErrCannotCancel.
func (s *Store) Cancel(ctx context.Context, jobID string, status job.Status, at time.Time) (job.Record, error) {
	if status.OK() {
		status = job.StatusUserCancelled()
	}
	for range maxEndAttempts {
		rec, err := s.Get(ctx, jobID)
		if err != nil {
			return job.Record{}, err
		}
		switch rec.State {
		case job.Cancelled:
			return rec, nil
		case job.Finished:
			return rec, job.ErrCannotCancel(rec.Spec.Label, rec.State)
		}
		items := []types.TransactWriteItem{
			{Update: &types.Update{
				TableName:           aws.String(s.table),
				Key:                 key(jobPK(jobID), skJob),
				UpdateExpression:    aws.String("SET #state = :cancelled, #code = :code, #msg = :msg, #ft = :at, #ttl = :ttl"),
				ConditionExpression: aws.String("NOT #state IN (:finished, :cancelled)"),
				ExpressionAttributeNames: map[string]string{
					"#state": attrState, "#code": attrStatusCode, "#msg": attrStatusMsg, "#ft": attrFinished, "#ttl": AttrTTL,
				},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":cancelled": str(string(job.Cancelled)), ":finished": str(string(job.Finished)),
					":code": str(string(status.Code)), ":msg": str(status.Message),
					":at": str(formatTime(at)), ":ttl": s.ttlAfter(at),
				},
			}},
			{Delete: s.releaseLock(rec.Spec.LockName(), jobID)},
		}
		if !rec.Spec.IsRestore() {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{
				TableName:                 aws.String(s.table),
				Key:                       key(snapPK(rec.Spec.Repository, rec.Spec.Label), skSnap),
				ConditionExpression:       aws.String("attribute_not_exists(pk) OR #job = :job"),
				ExpressionAttributeNames:  map[string]string{"#job": attrJobID},
				ExpressionAttributeValues: map[string]types.AttributeValue{":job": str(jobID)},
			}})
		}
		done, err := s.endJob(ctx, items)
		if err != nil {
			return job.Record{}, fmt.Errorf("cancel job %s: %w", jobID, err)
		}
		if done {
			return s.Get(ctx, jobID)
		}
	}
	return job.Record{}, fmt.Errorf("cancel job %s: still contended after %d attempts", jobID, maxEndAttempts)
}

// endJob runs the transaction that ends a job: items[0] updates the job,
// the others release what the job holds. A release whose condition fails
// belongs to another job (a lock taken over after its lease expired) and is
// dropped before trying again. done is false when the job item's condition
// failed: its state changed, and the caller must look again.
func (s *Store) endJob(ctx context.Context, items []types.TransactWriteItem) (done bool, err error) {
	for len(items) > 0 {
		failed, err := s.transact(ctx, items)
		if err != nil {
			return false, err
		}
		if failed == nil {
			return true, nil
		}
		if failed[0] {
			return false, nil
		}
		kept := items[:1]
		for i, it := range items[1:] {
			if !failed[i+1] {
				kept = append(kept, it)
			}
		}
		if len(kept) == len(items) {
			return false, fmt.Errorf("transaction cancelled without a failed condition")
		}
		items = slices.Clip(kept)
	}
	return false, nil
}

// Tombstone records job jobID as CANCELLED with status when it has no
// record yet: an execution that ended before its Lock step recorded the
// job. A Lock of that execution still running (a Lambda outlives its
// stopped or timed-out execution) then finds a final job and claims
// nothing, where it would otherwise hold the database with no execution
// left to release it. created is false when the job was recorded meanwhile.
// It is an UpdateItem, which cleanup's role already has.
func (s *Store) Tombstone(ctx context.Context, jobID, executionARN string, status job.Status, at time.Time) (created bool, err error) {
	rec := job.Record{Spec: job.Spec{JobID: jobID}, State: job.Cancelled, Status: status,
		CreateTime: at, FinishedTime: at, ExecutionARN: executionARN}
	av, err := newJobItem(rec)
	if err != nil {
		return false, err
	}
	var sets []string
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	for k, v := range av {
		switch k {
		case AttrPK, AttrSK, "gsi1pk", "gsi1sk": // the key; no database to index it by
			continue
		}
		n := strconv.Itoa(len(sets))
		sets = append(sets, "#a"+n+" = :v"+n)
		names["#a"+n], values[":v"+n] = k, v
	}
	sets = append(sets, "#ttl = :ttl")
	names["#ttl"], values[":ttl"] = AttrTTL, s.ttlAfter(at)
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(jobPK(jobID), skJob),
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ")),
		ConditionExpression:       aws.String("attribute_not_exists(pk)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record cancelled job %s: %w", jobID, err)
	}
	return true, nil
}

// GetOrTombstone returns job jobID, or, when it has no record, writes its
// Tombstone and reports found false.
func (s *Store) GetOrTombstone(ctx context.Context, jobID, executionARN string, status job.Status, at time.Time) (rec job.Record, found bool, err error) {
	for range 2 {
		rec, err = s.Get(ctx, jobID)
		var nf *job.NotFoundError
		if !errors.As(err, &nf) {
			return rec, err == nil, err
		}
		created, err := s.Tombstone(ctx, jobID, executionARN, status, at)
		if err != nil || created {
			return job.Record{}, false, err
		}
		// Recorded meanwhile: read it again.
	}
	return rec, err == nil, err
}
