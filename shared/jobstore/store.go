// Package jobstore keeps srbackup's jobs, locks, snapshot-name reservations,
// shard results and repository registry in one DynamoDB table (schema in
// schema.go), with conditional writes so that concurrent Lambda invocations
// agree on who holds a database and which results count.
//
// Items (pk / sk):
//
//	LOCK#<db>               / LOCK     jobId, kind, label, expiresAt: the database lock
//	SNAP#<repo>#<label>     / SNAP     jobId, database: the snapshot-name reservation
//	JOB#<id>                / JOB      the job record; gsi1 = DB#<db> / <createTime>#<id>
//	JOB#<id>                / SHARD#<n> one shard result, written once
//	DBS                     / DB#<db>  jobId of the database's last job (SHOW BACKUP)
//	REPOS                   / REPO#<name> one registered repository
//	REPOS                   / SEQ      RepoId sequence
//	DEPLOYMENT              / DEPLOYMENT  this deployment's id
//	DROPS                   / DROP#<repo>#<label>  a DROP SNAPSHOT under way
//
// Names inside keys are escaped ('%' and '#') so that no two names share a key.
package jobstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// API is the part of the DynamoDB client the store uses; *dynamodb.Client
// implements it.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// DefaultRetention is how long finished and cancelled jobs are kept.
const DefaultRetention = 30 * 24 * time.Hour

// Store is the srbackup job store. It is safe for concurrent use.
type Store struct {
	db        API
	table     string
	retention time.Duration
	now       func() time.Time
	// deployment caches DeploymentID.
	deployment *deploymentCache
}

// Option configures a Store.
type Option func(*Store)

// WithRetention sets how long finished and cancelled jobs (and their shard
// results) are kept before DynamoDB's TTL deletes them.
func WithRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// WithClock sets the clock used for lock expiry and TTLs (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a store over the table named table.
func New(db API, table string, opts ...Option) *Store {
	s := &Store{db: db, table: table, retention: DefaultRetention, now: time.Now, deployment: &deploymentCache{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Key values.
const (
	skLock     = "LOCK"
	skSnap     = "SNAP"
	skJob      = "JOB"
	pkDBs      = "DBS"
	pkRepos    = "REPOS"
	skRepoSeq  = "SEQ"
	shardPfx   = "SHARD#"
	kindBackup = "BACKUP"
)

var keyEscaper = strings.NewReplacer("%", "%25", "#", "%23")

// KeyPart escapes a name for use inside a key of the srbackup table, so
// that "a#b"+"c" and "a"+"b#c" never meet. Every package that writes items
// to the table builds its keys with it.
func KeyPart(name string) string { return keyEscaper.Replace(name) }

func lockPK(db string) string          { return "LOCK#" + KeyPart(db) }
func snapPK(repo, label string) string { return "SNAP#" + KeyPart(repo) + "#" + KeyPart(label) }
func jobPK(id string) string           { return "JOB#" + KeyPart(id) }
func dbGSI(db string) string           { return "DB#" + KeyPart(db) }
func dbSK(db string) string            { return "DB#" + KeyPart(db) }
func repoSK(name string) string        { return "REPO#" + KeyPart(name) }
func shardSK(n int) string             { return fmt.Sprintf("%s%08d", shardPfx, n) }

// pieceSK is the key of one piece of a shard its reader split; piece 0 is
// the shard's own key.
func pieceSK(n, piece int) string {
	if piece == 0 {
		return shardSK(n)
	}
	return fmt.Sprintf("%s.%04d", shardSK(n), piece)
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(n)}
}

// timeLayout is a fixed-width RFC 3339 form, so that stored times sort as
// strings (time.RFC3339Nano trims trailing zeros and does not).
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// ttlAfter is the TTL attribute value for an item to expire retention after t.
func (s *Store) ttlAfter(t time.Time) types.AttributeValue {
	return num(t.Add(s.retention).Unix())
}

// Reason codes of a cancelled transaction.
const (
	reasonNone        = "None"
	reasonCondition   = "ConditionalCheckFailed"
	reasonConflict    = "TransactionConflict"
	reasonThrottling  = "ThrottlingError"
	reasonProvisioned = "ProvisionedThroughputExceeded"
)

// maxTransactAttempts bounds retries of transactions cancelled because of
// contention (TransactionConflict, throttling), which the SDK does not retry.
const maxTransactAttempts = 6

// transact runs a TransactWriteItems. When the transaction is cancelled by a
// failed condition it returns failed[i] = true for each item whose
// condition failed and a nil error. Contention is retried with jittered
// backoff; other errors are returned.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) (failed []bool, err error) {
	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, fmt.Errorf("transact write: %w", err)
		}
		failed = make([]bool, len(items))
		contention, conditions := false, false
		for i, r := range tce.CancellationReasons {
			switch code := aws.ToString(r.Code); code {
			case reasonCondition:
				if i < len(failed) {
					failed[i], conditions = true, true
				}
			case reasonConflict, reasonThrottling, reasonProvisioned:
				contention = true
			case "", reasonNone:
			default:
				return nil, fmt.Errorf("transact write: item %d: %s: %s", i, code, aws.ToString(r.Message))
			}
		}
		// A failed condition is an answer; only pure contention is retried.
		if conditions {
			return failed, nil
		}
		if !contention || attempt >= maxTransactAttempts {
			return nil, fmt.Errorf("transact write: %w", err)
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// backoff is a full-jitter exponential delay: 10 ms, 20 ms, … capped at 500 ms.
func backoff(attempt int) time.Duration {
	d := min(10*time.Millisecond<<(attempt-1), 500*time.Millisecond)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// isConditionFailed reports whether err is a failed condition of a single-item write.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
