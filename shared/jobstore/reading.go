package jobstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
)

// How far an upload worker has read the shard piece in hand, not recorded
// yet, so that a job's progress moves while a large shard is read and not
// only when it is recorded. Each worker (its Map item: a batch, or a
// point-in-time share) has one slot on the job item: top-level attributes
// "readB_<w>" (bytes of values), "readR_<w>" (rows) and "readK_<w>" (which
// shard piece), top-level for the reason taskErr_ is, and one slot per
// worker so the item stays small whatever the number of shards.
//
// A slot is kept apart from the done counters on purpose. A report SETs the
// piece's counts so far, never ADDs: a retried or repeated request writes
// the same value again, and a condition keeps a piece's counts monotonic (a
// report overtaken by a later one changes nothing). The done counters
// change only when a piece is recorded, by the same transaction that sets
// its worker's slot back to zero, so a byte is never counted twice: at worst
// (the recording of piece k, which a point-in-time worker hands to its
// recorder, landing after the first report of piece k+1) the slot shows
// less than was read until the next report. Readers add the slots to the
// done counters while the job is UPLOADING and ignore them in any other
// state. A report from an attempt that outlives its batch's retry (a Lambda
// running on past its Step Functions timeout) could show in the slot until
// the retry records its next piece.
const (
	attrReadingBytesPfx = "readB_"
	attrReadingRowsPfx  = "readR_"
	attrReadingPiecePfx = "readK_"
)

// NoWorker records shard results without a worker slot to reset (callers
// that never report reading).
const NoWorker = -1

func readingAttrs(worker int) (bytes, rows, piece string) {
	w := strconv.Itoa(worker)
	return attrReadingBytesPfx + w, attrReadingRowsPfx + w, attrReadingPiecePfx + w
}

// ReportReading records, in worker's slot, that bytes of values and rows of
// one shard piece have been read so far, while the job is UPLOADING.
// applied is false when nothing changed: the job is no longer UPLOADING, or
// the slot already shows at least as many bytes of the same piece.
func (s *Store) ReportReading(ctx context.Context, jobID string, worker, shard, piece int, bytes, rows int64) (applied bool, err error) {
	b, r, k := readingAttrs(worker)
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(jobPK(jobID), skJob),
		UpdateExpression:    aws.String("SET #b = :b, #r = :r, #k = :k"),
		ConditionExpression: aws.String("#state = :uploading AND (attribute_not_exists(#k) OR #k <> :k OR #b < :b)"),
		ExpressionAttributeNames: map[string]string{
			"#b": b, "#r": r, "#k": k, "#state": attrState,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":b": num(bytes), ":r": num(rows), ":k": str(strconv.Itoa(shard) + "." + strconv.Itoa(piece)),
			":uploading": str(string(job.Uploading)),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("report reading of shard %d of job %s: %w", shard, jobID, err)
	}
	return true, nil
}

// resetReading is the SET clause that empties worker's slot, for the
// transaction that records its pieces ("" for NoWorker).
func resetReading(worker int, names map[string]string, values map[string]types.AttributeValue) string {
	if worker == NoWorker {
		return ""
	}
	b, r, _ := readingAttrs(worker)
	names["#wb"], names["#wr"] = b, r
	values[":zero"] = num(0)
	return " SET #wb = :zero, #wr = :zero"
}

// addReading adds the slots of an UPLOADING job's item to its done
// counters (see the comment on attrReadingBytesPfx).
func addReading(rec *job.Record, av map[string]types.AttributeValue) error {
	if rec.State != job.Uploading {
		return nil
	}
	for name, v := range av {
		var dst *int64
		switch {
		case strings.HasPrefix(name, attrReadingBytesPfx):
			dst = &rec.BytesDone
		case strings.HasPrefix(name, attrReadingRowsPfx):
			dst = &rec.RowsDone
		default:
			continue
		}
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			return fmt.Errorf("job %s: bad reading attribute %q", rec.Spec.JobID, name)
		}
		x, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return fmt.Errorf("job %s: bad reading attribute %q: %w", rec.Spec.JobID, name, err)
		}
		*dst += x
	}
	return nil
}
