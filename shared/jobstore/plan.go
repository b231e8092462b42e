package jobstore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
)

const attrPlanSHA256 = "planSha256"

// RecordPlanSHA256 records the SHA-256 of a job's shard plan file, once: a
// job that has recorded another one gets a ConflictError, a final job the
// error Advance gives.
func (s *Store) RecordPlanSHA256(ctx context.Context, jobID, sum string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.table),
		Key:              key(jobPK(jobID), skJob),
		UpdateExpression: aws.String("SET #ps = :ps"),
		ConditionExpression: aws.String("attribute_exists(pk) AND NOT #state IN (:finished, :cancelled) AND " +
			"(attribute_not_exists(#ps) OR #ps = :ps)"),
		ExpressionAttributeNames: map[string]string{"#ps": attrPlanSHA256, "#state": attrState},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":ps": str(sum), ":finished": str(string(job.Finished)), ":cancelled": str(string(job.Cancelled)),
		},
	})
	if isConditionFailed(err) {
		rec, gerr := s.Get(ctx, jobID)
		if gerr != nil {
			return gerr
		}
		if rec.PlanSHA256 != "" && rec.PlanSHA256 != sum {
			return &job.ConflictError{Message: fmt.Sprintf("job %s already has a shard plan with SHA-256 %s, not %s", jobID, rec.PlanSHA256, sum)}
		}
		return s.stateConflict(ctx, jobID, "record the shard plan checksum")
	}
	if err != nil {
		return fmt.Errorf("record the shard plan checksum of job %s: %w", jobID, err)
	}
	return nil
}
