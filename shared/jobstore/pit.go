package jobstore

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/source"
)

// The point-in-time rendezvous of a job (consistency "snapshot") is one item,
// JOB#<id> / PIT, on which the coordinator that holds commits and the upload
// workers meet with conditional writes:
//
//	WAITING  SnapshotShard created it; each worker registers "ready" (its
//	         connection is open) — no lock is held yet
//	HELD     the coordinator holds commits and published the position; each
//	         worker opens its snapshot and registers "joined", which is only
//	         accepted while the phase is HELD
//	CLOSED   every worker joined; set BEFORE the lock is released, so no
//	         worker can join after it. "verified" is set once the release
//	         succeeded on the connection that took the lock
//	FAILED   the window could not be completed (reason says why)
//
// A joined write that succeeded was therefore linearized after the HELD
// write (made under the lock) and before the CLOSED write (made before the
// release): the worker's snapshot, opened before it wrote, lies inside the
// window.
const skPIT = "PIT"

// PIT phases.
const (
	PITWaiting = "WAITING"
	PITHeld    = "HELD"
	PITClosed  = "CLOSED"
	PITFailed  = "FAILED"
)

// PIT is the rendezvous item as read.
type PIT struct {
	Phase    string
	Workers  int
	Ready    int
	Joined   int
	Method   string
	Position source.Position
	// WaitedMS is how long the lock took to get; WindowMS how long commits
	// were held (set once released); Verified that the release succeeded
	// on the holding connection.
	WaitedMS int64
	WindowMS int64
	Verified bool
	Reason   string
	// WorkerPositions are the positions the workers' snapshots reported.
	WorkerPositions map[int]source.Position
}

func pitKey(jobID string) map[string]types.AttributeValue { return key(jobPK(jobID), skPIT) }

// CreatePIT creates (or, while still WAITING, resets) the rendezvous of a
// job with the number of workers that must join it.
func (s *Store) CreatePIT(ctx context.Context, jobID string, workers int, deadline time.Time) error {
	item := pitKey(jobID)
	item["phase"] = str(PITWaiting)
	item["workers"] = num(int64(workers))
	item["ready"] = num(0)
	item["joined"] = num(0)
	item[AttrTTL] = s.ttlAfter(deadline)
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #phase = :waiting"),
		ExpressionAttributeNames:  map[string]string{"#phase": "phase"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":waiting": str(PITWaiting)},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("point-in-time rendezvous of job %s has already begun", jobID)
	}
	if err != nil {
		return fmt.Errorf("create point-in-time rendezvous of job %s: %w", jobID, err)
	}
	return nil
}

// GetPIT reads the rendezvous; ok is false when the job has none.
func (s *Store) GetPIT(ctx context.Context, jobID string) (PIT, bool, error) {
	av, err := s.getItem(ctx, pitKey(jobID))
	if err != nil || av == nil {
		return PIT{}, false, err
	}
	p := PIT{WorkerPositions: map[int]source.Position{}}
	getS := func(k string) string {
		if v, ok := av[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	getN := func(k string) int64 {
		if v, ok := av[k].(*types.AttributeValueMemberN); ok {
			n, _ := strconv.ParseInt(v.Value, 10, 64)
			return n
		}
		return 0
	}
	p.Phase, p.Method, p.Reason = getS("phase"), getS("method"), getS("reason")
	p.Workers, p.Ready, p.Joined = int(getN("workers")), int(getN("ready")), int(getN("joined"))
	p.WaitedMS, p.WindowMS = getN("waitedMs"), getN("windowMs")
	p.Verified = getS("verified") == "true"
	if pos := getS("position"); pos != "" {
		if err := json.Unmarshal([]byte(pos), &p.Position); err != nil {
			return PIT{}, false, fmt.Errorf("decode point-in-time position of job %s: %w", jobID, err)
		}
	}
	for i := range p.Workers {
		if js := getS(joinedAttr(i)); js != "" {
			var wp source.Position
			if err := json.Unmarshal([]byte(js), &wp); err != nil {
				return PIT{}, false, fmt.Errorf("decode position of worker %d of job %s: %w", i, jobID, err)
			}
			p.WorkerPositions[i] = wp
		}
	}
	return p, true, nil
}

// Top-level attributes per worker (see attrTaskErrPfx for why not a map).
func readyAttr(worker int) string  { return "ready_" + strconv.Itoa(worker) }
func joinedAttr(worker int) string { return "joined_" + strconv.Itoa(worker) }

// pitNames are the rendezvous' attribute names; expressions always refer
// to them through #names, since some are DynamoDB reserved words.
var pitNames = map[string]string{
	"#phase": "phase", "#method": "method", "#position": "position", "#ready": "ready", "#joined": "joined",
	"#waited": "waitedMs", "#window": "windowMs", "#verified": "verified", "#reason": "reason",
}

var nameRef = regexp.MustCompile(`#[A-Za-z0-9_]+`)

// pitUpdate runs a conditional update of the rendezvous; ok is false when
// the condition failed.
func (s *Store) pitUpdate(ctx context.Context, jobID, update, cond string, names map[string]string, values map[string]types.AttributeValue) (bool, error) {
	used := map[string]string{}
	for _, n := range nameRef.FindAllString(update+" "+cond, -1) {
		if a, ok := names[n]; ok {
			used[n] = a
		} else if a, ok := pitNames[n]; ok {
			used[n] = a
		} else {
			return false, fmt.Errorf("point-in-time rendezvous: no attribute for %s", n)
		}
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       pitKey(jobID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  used,
		ExpressionAttributeValues: values,
	}
	_, err := s.db.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("update point-in-time rendezvous of job %s: %w", jobID, err)
	}
	return true, nil
}

// PITReady registers worker as ready (connected, not yet in a
// transaction). ok is false when the rendezvous is past WAITING or the
// worker registered before (a retried invocation): it cannot join.
func (s *Store) PITReady(ctx context.Context, jobID string, worker int) (bool, error) {
	return s.pitUpdate(ctx, jobID, "ADD #ready :one SET #worker = :now",
		"#phase = :waiting AND attribute_not_exists(#worker)",
		map[string]string{"#worker": readyAttr(worker)},
		map[string]types.AttributeValue{":one": num(1), ":now": str(formatTime(s.now())), ":waiting": str(PITWaiting)})
}

// PITHeld publishes that commits are held, how and where. ok is false when
// the rendezvous is no longer WAITING (it failed meanwhile).
func (s *Store) PITHeld(ctx context.Context, jobID, method string, pos source.Position, waited time.Duration) (bool, error) {
	b, err := json.Marshal(pos)
	if err != nil {
		return false, err
	}
	return s.pitUpdate(ctx, jobID, "SET #phase = :held, #method = :method, #position = :pos, #waited = :waited",
		"#phase = :waiting", nil,
		map[string]types.AttributeValue{":held": str(PITHeld), ":method": str(method), ":pos": str(string(b)),
			":waited": num(waited.Milliseconds()), ":waiting": str(PITWaiting)})
}

// PITJoin registers that worker opened its snapshot, with the position the
// snapshot reported. ok is false unless the phase is HELD and the worker had
// not joined before: the snapshot is then outside the window.
func (s *Store) PITJoin(ctx context.Context, jobID string, worker int, pos source.Position) (bool, error) {
	b, err := json.Marshal(pos)
	if err != nil {
		return false, err
	}
	return s.pitUpdate(ctx, jobID, "ADD #joined :one SET #worker = :pos",
		"#phase = :held AND attribute_not_exists(#worker)",
		map[string]string{"#worker": joinedAttr(worker)},
		map[string]types.AttributeValue{":one": num(1), ":pos": str(string(b)), ":held": str(PITHeld)})
}

// PITClose closes the window (before the lock is released): no worker can
// join after it. ok is false when the phase was not HELD.
func (s *Store) PITClose(ctx context.Context, jobID string) (bool, error) {
	return s.pitUpdate(ctx, jobID, "SET #phase = :closed", "#phase = :held",
		nil, map[string]types.AttributeValue{":closed": str(PITClosed), ":held": str(PITHeld)})
}

// PITReleased records how long commits were held, and that the lock was
// released on its own connection (so it was held throughout).
func (s *Store) PITReleased(ctx context.Context, jobID string, window time.Duration) error {
	ok, err := s.pitUpdate(ctx, jobID, "SET #window = :w, #verified = :t", "#phase = :closed",
		nil, map[string]types.AttributeValue{":w": num(window.Milliseconds()), ":t": str("true"), ":closed": str(PITClosed)})
	if err == nil && !ok {
		err = fmt.Errorf("point-in-time rendezvous of job %s is not closed", jobID)
	}
	return err
}

// PITFail ends the rendezvous as FAILED with a reason, from any phase but
// FAILED (a CLOSED window whose release failed is failed too). It is a
// no-op for a rendezvous that already failed or does not exist.
func (s *Store) PITFail(ctx context.Context, jobID, reason string) error {
	_, err := s.pitUpdate(ctx, jobID, "SET #phase = :failed, #reason = :reason",
		"attribute_exists(pk) AND #phase <> :failed",
		nil, map[string]types.AttributeValue{":failed": str(PITFailed), ":reason": str(reason)})
	return err
}
