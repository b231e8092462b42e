package jobstore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
)

// shardAV encodes a shard result with its own attribute names (the json
// names of job.ShardResult).
func shardAV(jobID string, r job.ShardResult, ttl types.AttributeValue) (map[string]types.AttributeValue, error) {
	av, err := attributevalue.MarshalMapWithOptions(r, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
	if err != nil {
		return nil, fmt.Errorf("encode shard %d of job %s: %w", r.Shard, jobID, err)
	}
	av[AttrPK], av[AttrSK], av[AttrTTL] = str(jobPK(jobID)), str(pieceSK(r.Shard, r.Piece)), ttl
	return av, nil
}

func decodeShard(av map[string]types.AttributeValue) (job.ShardResult, error) {
	var r job.ShardResult
	if err := attributevalue.UnmarshalMapWithOptions(av, &r, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
		return job.ShardResult{}, fmt.Errorf("decode shard result: %w", err)
	}
	return r, nil
}

// RecordShard records the result of one uploaded shard (or piece of a
// shard) and adds it to the job's progress, in one transaction, while the
// job is UPLOADING: its rows and bytes read to the done counters, their
// difference to its estimate to the totals, and the shard to the shards
// done once its last piece is recorded. A result
// is written once: recording the same result again is a no-op success (a
// retried batch), a different result is a job.ConflictError. A cancelled
// job gives a job.CancelledError: the caller should delete the file it just
// uploaded, since cleanup may already have run.
//
// Upload steps should call Shard first and skip a recorded shard: a second
// upload would overwrite the recorded file with different bytes.
func (s *Store) RecordShard(ctx context.Context, jobID string, r job.ShardResult) error {
	return s.RecordShards(ctx, jobID, []job.ShardResult{r})
}

// MaxShardsPerTransaction is how many shard results RecordShards writes in
// one TransactWriteItems: DynamoDB's limit of 100 items, less the job
// record's update.
const MaxShardsPerTransaction = 99

// RecordShards records many shard results as RecordShard does, up to
// MaxShardsPerTransaction of them in each transaction: one update of the
// job's progress and one write-once put per result, so batching keeps
// every condition (BatchWriteItem has none). When a transaction fails
// because some of its results were recorded before (a retry), its results
// are recorded one at a time, which tells a repeat from a conflict. The
// results of distinct shards and pieces must differ in their keys.
func (s *Store) RecordShards(ctx context.Context, jobID string, rs []job.ShardResult) error {
	return s.RecordWorkerShards(ctx, jobID, NoWorker, rs)
}

// RecordWorkerShards is RecordShards for the results of one upload worker,
// whose reading slot (ReportReading) the same transactions set back to
// zero.
func (s *Store) RecordWorkerShards(ctx context.Context, jobID string, worker int, rs []job.ShardResult) error {
	if len(rs) == 0 {
		return nil
	}
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("record shard of job %s: %w", jobID, err)
		}
	}
	rec, err := s.Get(ctx, jobID)
	if err != nil {
		return err
	}
	ttl := s.ttlAfter(rec.Spec.Deadline)
	for len(rs) > 0 {
		n := min(len(rs), MaxShardsPerTransaction)
		if err := s.recordShards(ctx, jobID, worker, rs[:n], ttl); err != nil {
			return err
		}
		rs = rs[n:]
	}
	return nil
}

// recordShards writes at most MaxShardsPerTransaction results in one
// transaction.
func (s *Store) recordShards(ctx context.Context, jobID string, worker int, rs []job.ShardResult, ttl types.AttributeValue) error {
	var done, bytes, rows, dbytes, drows int64
	items := []types.TransactWriteItem{{}}
	for _, r := range rs {
		av, err := shardAV(jobID, r, ttl)
		if err != nil {
			return err
		}
		if !r.More {
			done++
		}
		bytes += r.SourceBytes
		rows += r.Rows
		dbytes += r.SourceBytes - r.EstBytes
		drows += r.Rows - r.EstRows
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName:           aws.String(s.table),
			Item:                av,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}})
	}
	names := map[string]string{
		"#sd": attrShardsDone, "#bd": attrBytesDone, "#rd": attrRowsDone,
		"#bt": attrBytesTotal, "#rt": attrRowsTotal, "#state": attrState,
	}
	values := map[string]types.AttributeValue{
		":done": num(done), ":bytes": num(bytes), ":rows": num(rows),
		":dbytes": num(dbytes), ":drows": num(drows),
		":uploading": str(string(job.Uploading)),
	}
	// The worker's counts so far go with the same write that adds the
	// final counts (ReportReading).
	update := "ADD #sd :done, #bd :bytes, #rd :rows, #bt :dbytes, #rt :drows" + resetReading(worker, names, values)
	items[0] = types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       key(jobPK(jobID), skJob),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#state = :uploading"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}}
	failed, err := s.transact(ctx, items)
	if err != nil {
		if len(rs) == 1 {
			return fmt.Errorf("record shard %d of job %s: %w", rs[0].Shard, jobID, err)
		}
		return fmt.Errorf("record shards %d–%d of job %s: %w", rs[0].Shard, rs[len(rs)-1].Shard, jobID, err)
	}
	switch {
	case failed == nil:
		return nil
	case failed[0]:
		return s.stateConflict(ctx, jobID, fmt.Sprintf("record shard %d", rs[0].Shard))
	case len(rs) > 1:
		// Some were recorded before: nothing of this transaction was
		// written, so record each alone.
		for _, r := range rs {
			if err := s.recordShards(ctx, jobID, worker, []job.ShardResult{r}, ttl); err != nil {
				return err
			}
		}
		return nil
	default:
		// Recorded before: a retry is fine if the result is the same.
		r := rs[0]
		prev, ok, err := s.piece(ctx, jobID, r.Shard, r.Piece)
		if err != nil {
			return err
		}
		if ok && prev == r {
			return nil
		}
		return &job.ConflictError{Message: fmt.Sprintf(
			"shard %d of job %s is already recorded with a different result (key %s, sha256 %s)",
			r.Shard, jobID, prev.Key, prev.SHA256)}
	}
}

// Shard returns the recorded result of one shard, its first piece if its
// reader split it; ok is false when the shard has not been recorded.
func (s *Store) Shard(ctx context.Context, jobID string, n int) (r job.ShardResult, ok bool, err error) {
	return s.piece(ctx, jobID, n, 0)
}

// Recorded reports whether r (its shard and piece) is recorded with r's
// file: a record whose write failed ambiguously (its context cut off after
// the request went out) may have been committed after all.
func (s *Store) Recorded(ctx context.Context, jobID string, r job.ShardResult) (bool, error) {
	got, ok, err := s.piece(ctx, jobID, r.Shard, r.Piece)
	return ok && got.Key == r.Key, err
}

func (s *Store) piece(ctx context.Context, jobID string, n, piece int) (r job.ShardResult, ok bool, err error) {
	av, err := s.getItem(ctx, key(jobPK(jobID), pieceSK(n, piece)))
	if err != nil || av == nil {
		return job.ShardResult{}, false, err
	}
	r, err = decodeShard(av)
	return r, err == nil, err
}

// ShardPieces returns the recorded pieces of one shard in order: one for a
// shard read as planned, more for one its reader split.
func (s *Store) ShardPieces(ctx context.Context, jobID string, n int) ([]job.ShardResult, error) {
	first, ok, err := s.Shard(ctx, jobID, n)
	if err != nil || !ok {
		return nil, err
	}
	out := []job.ShardResult{first}
	for last := first; last.More; {
		r, ok, err := s.piece(ctx, jobID, n, last.Piece+1)
		if err != nil || !ok {
			return out, err
		}
		out = append(out, r)
		last = r
	}
	return out, nil
}

// Shards returns every recorded shard result of a job, by shard number.
func (s *Store) Shards(ctx context.Context, jobID string) ([]job.ShardResult, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :shard)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(jobPK(jobID)), ":shard": str(shardPfx),
		},
		ConsistentRead: aws.Bool(true),
	})
	var out []job.ShardResult
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list shards of job %s: %w", jobID, err)
		}
		for _, av := range page.Items {
			r, err := decodeShard(av)
			if err != nil {
				return nil, fmt.Errorf("job %s: %w", jobID, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}
