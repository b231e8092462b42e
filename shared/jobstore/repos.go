package jobstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
)

// Repository is a registered repository (CREATE REPOSITORY).
type Repository struct {
	ID       int64  `dynamodbav:"repoId"`
	Name     string `dynamodbav:"name"`
	Location string `dynamodbav:"location"` // s3://bucket/prefix
	ReadOnly bool   `dynamodbav:"readOnly"`
	// Broker is the broker name of WITH BROKER <name>; empty for direct access.
	Broker string `dynamodbav:"broker,omitempty"`
	// Properties are the statement's PROPERTIES; never credentials (the API
	// refuses plaintext keys).
	Properties map[string]string `dynamodbav:"properties,omitempty"`
	CreateTime time.Time         `dynamodbav:"-"`
	// ErrMsg is the last connectivity error, shown by SHOW REPOSITORIES.
	ErrMsg string `dynamodbav:"errMsg,omitempty"`
}

type repoItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	CreateTime string `dynamodbav:"createTime"`
	Repository
}

// ShowRepositoriesColumns are SHOW REPOSITORIES' columns, in order.
var ShowRepositoriesColumns = []string{"RepoId", "RepoName", "CreateTime", "IsReadOnly", "Location", "Broker", "ErrMsg"}

// ShowRow returns r as a SHOW REPOSITORIES row; nil entries are NULL. As in
// StarRocks, Broker is "-" for direct access and ErrMsg NULL when empty.
func (r Repository) ShowRow() []*string {
	str := func(s string) *string { return &s }
	broker := cmp.Or(r.Broker, "-")
	var errMsg *string
	if r.ErrMsg != "" {
		errMsg = str(r.ErrMsg)
	}
	return []*string{
		str(strconv.FormatInt(r.ID, 10)), str(r.Name), job.FormatTime(r.CreateTime),
		str(strconv.FormatBool(r.ReadOnly)), str(r.Location), str(broker), errMsg,
	}
}

// PutRepository registers a repository under a new RepoId and returns it
// with that id. A taken name gives job.ErrRepositoryExists. CreateTime
// defaults to now.
func (s *Store) PutRepository(ctx context.Context, r Repository) (Repository, error) {
	if r.Name == "" || r.Location == "" {
		return Repository{}, fmt.Errorf("register repository: name and location are required")
	}
	if r.CreateTime.IsZero() {
		r.CreateTime = s.now()
	}
	if _, ok, err := s.GetRepository(ctx, r.Name); err != nil {
		return Repository{}, err
	} else if ok {
		return Repository{}, job.ErrRepositoryExists(r.Name)
	}
	id, err := s.nextRepoID(ctx)
	if err != nil {
		return Repository{}, err
	}
	r.ID = id
	av, err := attributevalue.MarshalMap(repoItem{PK: pkRepos, SK: repoSK(r.Name), CreateTime: formatTime(r.CreateTime), Repository: r})
	if err != nil {
		return Repository{}, fmt.Errorf("encode repository %s: %w", r.Name, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                av,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return Repository{}, job.ErrRepositoryExists(r.Name)
	}
	if err != nil {
		return Repository{}, fmt.Errorf("register repository %s: %w", r.Name, err)
	}
	return r, nil
}

// nextRepoID draws the next RepoId from an atomic counter.
func (s *Store) nextRepoID(ctx context.Context) (int64, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(pkRepos, skRepoSeq),
		UpdateExpression:          aws.String("ADD #seq :one"),
		ExpressionAttributeNames:  map[string]string{"#seq": "seq"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("draw a repository id: %w", err)
	}
	var v struct {
		Seq int64 `dynamodbav:"seq"`
	}
	if err := unmarshal(out.Attributes, &v); err != nil || v.Seq == 0 {
		return 0, fmt.Errorf("draw a repository id: bad counter %v: %w", out.Attributes, err)
	}
	return v.Seq, nil
}

// GetRepository returns the repository named name (names are
// case-sensitive, as in StarRocks); ok is false when it is not registered.
func (s *Store) GetRepository(ctx context.Context, name string) (r Repository, ok bool, err error) {
	av, err := s.getItem(ctx, key(pkRepos, repoSK(name)))
	if err != nil || av == nil {
		return Repository{}, false, err
	}
	r, err = decodeRepo(av)
	return r, err == nil, err
}

func decodeRepo(av map[string]types.AttributeValue) (Repository, error) {
	var it repoItem
	if err := unmarshal(av, &it); err != nil {
		return Repository{}, fmt.Errorf("decode repository: %w", err)
	}
	t, err := parseTime(it.CreateTime)
	if err != nil {
		return Repository{}, fmt.Errorf("repository %s create time: %w", it.Name, err)
	}
	it.Repository.CreateTime = t
	return it.Repository, nil
}

// DeleteRepository unregisters a repository; the files stay in S3. An
// unknown name gives job.ErrDropUnknownRepository.
func (s *Store) DeleteRepository(ctx context.Context, name string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(pkRepos, repoSK(name)),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	if isConditionFailed(err) {
		return job.ErrDropUnknownRepository()
	}
	if err != nil {
		return fmt.Errorf("drop repository %s: %w", name, err)
	}
	return nil
}

// ListRepositories returns every registered repository by RepoId.
func (s *Store) ListRepositories(ctx context.Context) ([]Repository, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :repo)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pkRepos), ":repo": str("REPO#"),
		},
		ConsistentRead: aws.Bool(true),
	})
	var out []Repository
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list repositories: %w", err)
		}
		for _, av := range page.Items {
			r, err := decodeRepo(av)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Repository) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
