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
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
)

// getItem reads one item with a strongly consistent read; nil when absent.
func (s *Store) getItem(ctx context.Context, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: k, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get item %s/%s: %w", keyString(k, AttrPK), keyString(k, AttrSK), err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

func keyString(k map[string]types.AttributeValue, name string) string {
	if v, ok := k[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return "?"
}

func unmarshal(av map[string]types.AttributeValue, v any) error {
	return attributevalue.UnmarshalMap(av, v)
}

// Get returns the job with the given id, or a job.NotFoundError.
func (s *Store) Get(ctx context.Context, jobID string) (job.Record, error) {
	av, err := s.getItem(ctx, key(jobPK(jobID), skJob))
	if err != nil {
		return job.Record{}, err
	}
	if av == nil {
		return job.Record{}, job.ErrJobNotFound(jobID)
	}
	return decodeJob(av)
}

// Active returns the job if a step may still work on it: a cancelled job
// gives a job.CancelledError, a job past its deadline a job.TimeoutError,
// a finished job a job.ConflictError.
func (s *Store) Active(ctx context.Context, jobID string) (job.Record, error) {
	rec, err := s.Get(ctx, jobID)
	if err != nil {
		return job.Record{}, err
	}
	switch {
	case rec.State == job.Cancelled:
		return rec, job.ErrJobCancelled(rec)
	case rec.State == job.Finished:
		return rec, &job.ConflictError{Message: fmt.Sprintf("backup job %s is already FINISHED", jobID)}
	case rec.Spec.Expired(s.now()):
		return rec, job.ErrJobTimedOut(rec.Spec)
	}
	return rec, nil
}

type dbPointer struct {
	Database string `dynamodbav:"database"`
	JobID    string `dynamodbav:"jobId"`
}

// LastJob returns the last job created for the database (strongly
// consistent: CANCEL BACKUP acts on it); ok is false when there is none.
func (s *Store) LastJob(ctx context.Context, db string) (rec job.Record, ok bool, err error) {
	av, err := s.getItem(ctx, key(pkDBs, dbSK(db)))
	if err != nil || av == nil {
		return job.Record{}, false, err
	}
	var p dbPointer
	if err := unmarshal(av, &p); err != nil {
		return job.Record{}, false, fmt.Errorf("decode last job of %s: %w", db, err)
	}
	rec, err = s.Get(ctx, p.JobID)
	var nf *job.NotFoundError
	if errors.As(err, &nf) {
		return job.Record{}, false, nil // expired by TTL
	}
	if err != nil {
		return job.Record{}, false, err
	}
	return rec, true, nil
}

// LastJobs returns the last job of every database, by database name: SHOW
// BACKUP without FROM. The DBS partition lists the databases; the jobs are
// read with consistent batch reads.
func (s *Store) LastJobs(ctx context.Context) ([]job.Record, error) {
	var ids []string
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pkDBs)},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list databases: %w", err)
		}
		for _, av := range page.Items {
			var ptr dbPointer
			if err := unmarshal(av, &ptr); err != nil {
				return nil, fmt.Errorf("decode database pointer: %w", err)
			}
			ids = append(ids, ptr.JobID)
		}
	}
	recs, err := s.batchGetJobs(ctx, ids)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b job.Record) int { return strings.Compare(a.Spec.Database, b.Spec.Database) })
	return recs, nil
}

// batchGetLimit is BatchGetItem's maximum number of keys per call.
const batchGetLimit = 100

// batchGetJobs reads jobs by id; ids whose job has expired are skipped.
func (s *Store) batchGetJobs(ctx context.Context, ids []string) ([]job.Record, error) {
	var recs []job.Record
	for chunk := range slices.Chunk(ids, batchGetLimit) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = key(jobPK(id), skJob)
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 1; len(req) > 0; attempt++ {
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("read jobs: %w", err)
			}
			for _, av := range out.Responses[s.table] {
				rec, err := decodeJob(av)
				if err != nil {
					return nil, err
				}
				recs = append(recs, rec)
			}
			req = out.UnprocessedKeys
			if len(req) > 0 {
				if attempt >= maxTransactAttempts*2 {
					return nil, fmt.Errorf("read jobs: %d keys still unprocessed after %d attempts", len(req[s.table].Keys), attempt)
				}
				if err := sleep(ctx, backoff(attempt)); err != nil {
					return nil, err
				}
			}
		}
	}
	return recs, nil
}

// History returns up to limit jobs of the database, newest first (all of
// them when limit <= 0). It reads the gsi1 index, which is eventually
// consistent: a job created a moment ago may be missing.
func (s *Store) History(ctx context.Context, db string, limit int) ([]job.Record, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexByDB),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(dbGSI(db))},
		ScanIndexForward:          aws.Bool(false),
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(min(limit, 1000)))
	}
	var recs []job.Record
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() && (limit <= 0 || len(recs) < limit) {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list jobs of %s: %w", db, err)
		}
		for _, av := range page.Items {
			rec, err := decodeJob(av)
			if err != nil {
				return nil, err
			}
			recs = append(recs, rec)
		}
	}
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	return recs, nil
}

// stateTimeAttr is the time attribute a state sets when a job enters it,
// as StarRocks sets its times.
func stateTimeAttr(to job.State) string {
	switch to {
	case job.Snapshoting:
		return attrMetaPrepared // RESTORE's MetaPreparedTime; unused for a BACKUP
	case job.Download:
		return attrSnapFinished
	case job.Commit:
		return attrDownloadDone
	case job.UploadSnapshot:
		return attrSnapFinished
	case job.SaveMeta:
		return attrUploadDone
	case job.Finished, job.Cancelled:
		return attrFinished
	}
	return ""
}

// UpdateState moves a job to state to if it is in one of from, and returns
// the updated record. Entering UPLOAD_SNAPSHOT sets SnapshotFinishedTime
// and SAVE_META UploadFinishedTime, to at. Listing to among from makes a
// retried step idempotent. FINISHED and CANCELLED are reached through Finish
// and Cancel, which also release the lock.
//
// A cancelled job gives a job.CancelledError, any other state mismatch a
// job.ConflictError.
func (s *Store) UpdateState(ctx context.Context, jobID string, from []job.State, to job.State, at time.Time) (job.Record, error) {
	if to.IsFinal() || !to.Valid() {
		return job.Record{}, fmt.Errorf("update job %s: use Finish or Cancel to reach %q", jobID, to)
	}
	if len(from) == 0 {
		return job.Record{}, fmt.Errorf("update job %s to %s: no source states", jobID, to)
	}
	names := map[string]string{"#state": attrState}
	values := map[string]types.AttributeValue{":to": str(string(to))}
	in := make([]string, len(from))
	for i, f := range from {
		if f != to && !job.CanTransition(f, to) {
			return job.Record{}, fmt.Errorf("update job %s: %s → %s is not a job transition", jobID, f, to)
		}
		in[i] = ":from" + strconv.Itoa(i)
		values[in[i]] = str(string(f))
	}
	update := "SET #state = :to"
	if attr := stateTimeAttr(to); attr != "" {
		// Keep the first time on a retried transition.
		update += ", #time = if_not_exists(#time, :at)"
		names["#time"] = attr
		values[":at"] = str(formatTime(at))
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(jobPK(jobID), skJob),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(pk) AND #state IN (" + strings.Join(in, ", ") + ")"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return job.Record{}, s.stateConflict(ctx, jobID, fmt.Sprintf("move to %s from %v", to, from))
	}
	if err != nil {
		return job.Record{}, fmt.Errorf("update job %s to %s: %w", jobID, to, err)
	}
	return decodeJob(out.Attributes)
}

// Advance moves a job one step forward to state to: from the state before
// it, or from to itself when a step is retried.
func (s *Store) Advance(ctx context.Context, jobID string, to job.State, at time.Time) (job.Record, error) {
	prev, ok := to.Previous()
	if !ok {
		return job.Record{}, fmt.Errorf("advance job %s: %s has no previous state", jobID, to)
	}
	return s.UpdateState(ctx, jobID, []job.State{prev, to}, to, at)
}

// stateConflict explains why a conditional write on a job failed.
func (s *Store) stateConflict(ctx context.Context, jobID, what string) error {
	rec, err := s.Get(ctx, jobID)
	if err != nil {
		return err
	}
	if rec.State == job.Cancelled {
		return job.ErrJobCancelled(rec)
	}
	return &job.ConflictError{Message: fmt.Sprintf("backup job %s is %s: can not %s", jobID, rec.State, what)}
}

// SetPlan records the number of shards and their planned source bytes, the
// totals of SHOW BACKUP's Progress.
func (s *Store) SetPlan(ctx context.Context, jobID string, shards, bytes int64) error {
	return s.updateActive(ctx, jobID, "set the shard plan",
		"SET #st = :st, #bt = :bt",
		map[string]string{"#st": attrShardsTotal, "#bt": attrBytesTotal},
		map[string]types.AttributeValue{":st": num(shards), ":bt": num(bytes)})
}

// SetBackupPlan records a BACKUP's plan: the number of shards, their
// estimated bytes of values and rows (the totals of Progress, corrected as
// shards are read) and the job's warnings.
func (s *Store) SetBackupPlan(ctx context.Context, jobID string, shards, bytes, rows int64, warnings []string) error {
	update := "SET #st = :st, #bt = :bt, #rt = :rt"
	names := map[string]string{"#st": attrShardsTotal, "#bt": attrBytesTotal, "#rt": attrRowsTotal}
	values := map[string]types.AttributeValue{":st": num(shards), ":bt": num(bytes), ":rt": num(rows)}
	if len(warnings) > 0 {
		update += ", #w = :w"
		names["#w"] = attrWarnings
		values[":w"] = &types.AttributeValueMemberL{Value: strList(warnings)}
	}
	return s.updateActive(ctx, jobID, "set the shard plan", update, names, values)
}

func strList(ss []string) []types.AttributeValue {
	out := make([]types.AttributeValue, len(ss))
	for i, s := range ss {
		out[i] = str(s)
	}
	return out
}

// AddProgress adds to a job's done counters (files and bytes for a
// RESTORE): the Progress of SHOW RESTORE.
func (s *Store) AddProgress(ctx context.Context, jobID string, files, bytes int64) error {
	return s.updateActive(ctx, jobID, "record progress",
		"ADD #sd :sd, #bd :bd",
		map[string]string{"#sd": attrShardsDone, "#bd": attrBytesDone},
		map[string]types.AttributeValue{":sd": num(files), ":bd": num(bytes)})
}

// maxTaskErrLen bounds one task error message; DynamoDB items are limited
// to 400 KB and SHOW BACKUP rows should stay readable.
const maxTaskErrLen = 512

// RecordTaskError records the last error of a shard attempt (SHOW BACKUP's
// TaskErrMsg). The state machine retries the shard.
func (s *Store) RecordTaskError(ctx context.Context, jobID string, shard int, msg string) error {
	if len(msg) > maxTaskErrLen {
		msg = msg[:maxTaskErrLen] + "…"
	}
	return s.updateActive(ctx, jobID, "record a task error",
		"SET #err = :msg",
		map[string]string{"#err": taskErrAttr(shard)},
		map[string]types.AttributeValue{":msg": str(msg)})
}

// updateActive applies an update to a job that is not final.
func (s *Store) updateActive(ctx context.Context, jobID, what, update string, names map[string]string, values map[string]types.AttributeValue) error {
	names["#state"] = attrState
	values[":finished"] = str(string(job.Finished))
	values[":cancelled"] = str(string(job.Cancelled))
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(jobPK(jobID), skJob),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(pk) AND NOT #state IN (:finished, :cancelled)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return s.stateConflict(ctx, jobID, what)
	}
	if err != nil {
		return fmt.Errorf("%s of job %s: %w", what, jobID, err)
	}
	return nil
}
