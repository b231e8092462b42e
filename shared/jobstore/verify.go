package jobstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/repository"
)

// Items of ADMIN VERIFY SNAPSHOT:
//
//	VERIFY#<id> / VERIFY      the verification: snapshot, state, counts
//	VERIFY#<id> / ROWS#<n>    its rows, verifyRowsPerItem per item
const (
	skVerify          = "VERIFY"
	verifyRowsPfx     = "ROWS#"
	verifyRowsPerItem = 500
)

func verifyPK(id string) string { return "VERIFY#" + KeyPart(id) }

// Verification states.
const (
	VerifyPending  = "PENDING"
	VerifyRunning  = "RUNNING"
	VerifyFinished = "FINISHED"
	VerifyFailed   = "FAILED"
)

// Verification is one ADMIN VERIFY SNAPSHOT job.
type Verification struct {
	ID         string    `dynamodbav:"verifyId" json:"verificationId"`
	Repository string    `dynamodbav:"repository" json:"repository"`
	Label      string    `dynamodbav:"label" json:"snapshot"`
	Timestamp  string    `dynamodbav:"timestamp" json:"timestamp"`
	Deep       bool      `dynamodbav:"deep" json:"deep"`
	State      string    `dynamodbav:"state" json:"state"`
	CreateTime time.Time `dynamodbav:"createTime" json:"createTime"`
	FinishTime time.Time `dynamodbav:"finishTime,omitempty" json:"finishTime,omitzero"`
	// Files, OK, Missing and Mismatch count the rows once FINISHED.
	Files    int `dynamodbav:"files" json:"files"`
	OK       int `dynamodbav:"ok" json:"ok"`
	Missing  int `dynamodbav:"missing" json:"missing"`
	Mismatch int `dynamodbav:"mismatch" json:"mismatch"`
	// Message says why a FAILED verification could not check the snapshot.
	Message string `dynamodbav:"message,omitempty" json:"message,omitempty"`
}

type verifyItem struct {
	PK  string `dynamodbav:"pk"`
	SK  string `dynamodbav:"sk"`
	TTL int64  `dynamodbav:"ttl"`
	Verification
}

// PutVerification records a new verification (PENDING).
func (s *Store) PutVerification(ctx context.Context, v Verification) error {
	av, err := attributevalue.MarshalMap(verifyItem{PK: verifyPK(v.ID), SK: skVerify, TTL: v.CreateTime.Add(s.retention).Unix(), Verification: v})
	if err != nil {
		return fmt.Errorf("encode verification %s: %w", v.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		return fmt.Errorf("record verification %s: %w", v.ID, err)
	}
	return nil
}

// UpdateVerification rewrites a verification's record (its state and
// counts); the record must exist.
func (s *Store) UpdateVerification(ctx context.Context, v Verification) error {
	av, err := attributevalue.MarshalMap(verifyItem{PK: verifyPK(v.ID), SK: skVerify, TTL: v.CreateTime.Add(s.retention).Unix(), Verification: v})
	if err != nil {
		return fmt.Errorf("encode verification %s: %w", v.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	if err != nil {
		return fmt.Errorf("update verification %s: %w", v.ID, err)
	}
	return nil
}

// Verification returns one verification; an unknown id is a NotFoundError.
func (s *Store) Verification(ctx context.Context, id string) (Verification, error) {
	av, err := s.getItem(ctx, key(verifyPK(id), skVerify))
	if err != nil {
		return Verification{}, err
	}
	if av == nil {
		return Verification{}, &job.NotFoundError{Message: fmt.Sprintf("verification %s does not exist", id)}
	}
	var it verifyItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return Verification{}, fmt.Errorf("decode verification %s: %w", id, err)
	}
	return it.Verification, nil
}

// PutVerifyRows stores a verification's rows, in items of
// verifyRowsPerItem rows.
func (s *Store) PutVerifyRows(ctx context.Context, v Verification, rows []repository.VerifyRow) error {
	for i := 0; i*verifyRowsPerItem < len(rows); i++ {
		chunk := rows[i*verifyRowsPerItem : min((i+1)*verifyRowsPerItem, len(rows))]
		b, err := json.Marshal(chunk)
		if err != nil {
			return err
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table),
			Item: map[string]types.AttributeValue{
				AttrPK: str(verifyPK(v.ID)), AttrSK: str(fmt.Sprintf("%s%06d", verifyRowsPfx, i)),
				"rows": str(string(b)), AttrTTL: num(v.CreateTime.Add(s.retention).Unix()),
			},
		})
		if err != nil {
			return fmt.Errorf("record rows of verification %s: %w", v.ID, err)
		}
	}
	return nil
}

// VerifyRows returns a verification's rows, in order.
func (s *Store) VerifyRows(ctx context.Context, id string) ([]repository.VerifyRow, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :rows)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(verifyPK(id)), ":rows": str(verifyRowsPfx),
		},
		ConsistentRead: aws.Bool(true),
	})
	out := []repository.VerifyRow{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read rows of verification %s: %w", id, err)
		}
		for _, av := range page.Items {
			var chunk []repository.VerifyRow
			if err := json.Unmarshal([]byte(attrString(av, "rows")), &chunk); err != nil {
				return nil, fmt.Errorf("decode rows of verification %s: %w", id, err)
			}
			out = append(out, chunk...)
		}
	}
	return out, nil
}
