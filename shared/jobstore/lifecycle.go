package jobstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/srbackup/srbackup/shared/job"
)

// Items of the snapshot lifecycle:
//
//	DEPLOYMENT / DEPLOYMENT             deploymentId, createTime: this deployment's id
//	DROPS      / DROP#<repo>#<label>    dropId, repository, label, startedAt: a drop under way
const (
	pkDeployment = "DEPLOYMENT"
	pkDrops      = "DROPS"
)

func dropSK(repo, label string) string { return "DROP#" + KeyPart(repo) + "#" + KeyPart(label) }

// deploymentCache holds the id once read; it never changes.
type deploymentCache struct {
	mu sync.Mutex
	id string
}

// DeploymentID returns this deployment's id, creating it on first use: a
// UUID stored once in the table (a conditional put, so concurrent first
// calls agree). SHOW SNAPSHOT shows it as ClusterId; it is written into
// __repo_info and every __info, and DROP SNAPSHOT and the expiry sweep touch
// only snapshots that carry it (unless FORCE).
func (s *Store) DeploymentID(ctx context.Context) (string, error) {
	s.deployment.mu.Lock()
	defer s.deployment.mu.Unlock()
	if s.deployment.id != "" {
		return s.deployment.id, nil
	}
	for range 2 {
		av, err := s.getItem(ctx, key(pkDeployment, pkDeployment))
		if err != nil {
			return "", fmt.Errorf("read deployment id: %w", err)
		}
		if id := attrString(av, "deploymentId"); id != "" {
			s.deployment.id = id
			return id, nil
		}
		id := uuid.NewString()
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table),
			Item: map[string]types.AttributeValue{
				AttrPK: str(pkDeployment), AttrSK: str(pkDeployment),
				"deploymentId": str(id), "createTime": str(formatTime(s.now())),
			},
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		})
		if err == nil {
			s.deployment.id = id
			return id, nil
		}
		if !isConditionFailed(err) {
			return "", fmt.Errorf("create deployment id: %w", err)
		}
		// Another caller created it first: read theirs.
	}
	return "", fmt.Errorf("create deployment id: no id after a lost race")
}

// Reservation returns the id of the job holding the snapshot-name
// reservation of label in repo; ok is false when the name is free.
func (s *Store) Reservation(ctx context.Context, repo, label string) (jobID string, ok bool, err error) {
	av, err := s.getItem(ctx, key(snapPK(repo, label), skSnap))
	if err != nil || av == nil {
		return "", false, err
	}
	return attrString(av, attrJobID), true, nil
}

// Drop is a drop under way: the marker DROP SNAPSHOT and the expiry sweep
// write before deleting anything and remove once the name is free again.
type Drop struct {
	DropID     string    `dynamodbav:"dropId"`
	Repository string    `dynamodbav:"repository"`
	Label      string    `dynamodbav:"label"`
	StartedAt  time.Time `dynamodbav:"-"`
}

// BeginDrop writes the drop marker of label in repo, refusing with a
// ConflictError when the name reservation is no longer held by
// reservedBy (empty: no reservation), so that no BACKUP took the name
// since the caller looked. An earlier marker (a drop that was interrupted)
// is taken over. While the marker exists, Lock refuses every BACKUP and
// RESTORE of the label.
func (s *Store) BeginDrop(ctx context.Context, repo, label, dropID, reservedBy string) error {
	cond := &types.ConditionCheck{
		TableName:                 aws.String(s.table),
		Key:                       key(snapPK(repo, label), skSnap),
		ConditionExpression:       aws.String("#job = :job"),
		ExpressionAttributeNames:  map[string]string{"#job": attrJobID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":job": str(reservedBy)},
	}
	if reservedBy == "" {
		cond.ConditionExpression, cond.ExpressionAttributeNames, cond.ExpressionAttributeValues = aws.String("attribute_not_exists(pk)"), nil, nil
	}
	failed, err := s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(s.table),
			Item: map[string]types.AttributeValue{
				AttrPK: str(pkDrops), AttrSK: str(dropSK(repo, label)),
				"dropId": str(dropID), "repository": str(repo), "label": str(label),
				"startedAt": str(formatTime(s.now())),
			},
		}},
		{ConditionCheck: cond},
	})
	if err != nil {
		return fmt.Errorf("begin drop of snapshot %s in %s: %w", label, repo, err)
	}
	if failed != nil {
		return &job.ConflictError{Message: fmt.Sprintf("Snapshot '%s' can not be dropped: a new job took its name; try again", label)}
	}
	return nil
}

// EndDrop frees the name once the snapshot's objects are gone: it deletes
// the name reservation and this drop's marker in one transaction. If
// another drop took the marker over, it ends that drop's way instead and
// EndDrop does nothing.
func (s *Store) EndDrop(ctx context.Context, repo, label, dropID string) error {
	failed, err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(snapPK(repo, label), skSnap)}},
		{Delete: &types.Delete{
			TableName:                 aws.String(s.table),
			Key:                       key(pkDrops, dropSK(repo, label)),
			ConditionExpression:       aws.String("#d = :d"),
			ExpressionAttributeNames:  map[string]string{"#d": "dropId"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":d": str(dropID)},
		}},
	})
	if err != nil {
		return fmt.Errorf("end drop of snapshot %s in %s: %w", label, repo, err)
	}
	_ = failed // taken over: the other drop ends it
	return nil
}

// AbandonDrop removes this drop's marker without freeing the name: the drop
// was refused after its marker was written (a RESTORE reads the snapshot).
func (s *Store) AbandonDrop(ctx context.Context, repo, label, dropID string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(pkDrops, dropSK(repo, label)),
		ConditionExpression:       aws.String("#d = :d"),
		ExpressionAttributeNames:  map[string]string{"#d": "dropId"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": str(dropID)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("abandon drop of snapshot %s in %s: %w", label, repo, err)
	}
	return nil
}

// Drops lists the drop markers: drops under way or interrupted.
func (s *Store) Drops(ctx context.Context) ([]Drop, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pkDrops)},
		ConsistentRead:            aws.Bool(true),
	})
	var out []Drop
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list drops: %w", err)
		}
		for _, av := range page.Items {
			var d Drop
			if err := unmarshal(av, &d); err != nil {
				return nil, fmt.Errorf("decode drop: %w", err)
			}
			if d.StartedAt, err = parseTime(attrString(av, "startedAt")); err != nil {
				return nil, fmt.Errorf("drop of %s: %w", d.Label, err)
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// dropCheck is the condition Lock adds for the snapshot a job writes or
// reads: no drop of it under way.
func (s *Store) dropCheck(spec job.Spec) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:           aws.String(s.table),
		Key:                 key(pkDrops, dropSK(spec.Repository, spec.Label)),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}
}

// attrString returns a string attribute, "" when absent.
func attrString(av map[string]types.AttributeValue, name string) string {
	if v, ok := av[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
