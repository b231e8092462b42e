package jobstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
)

// Attribute names of job items, used in expressions.
const (
	attrJobID      = "jobId"
	attrState      = "state"
	attrStatusCode = "statusCode"
	attrStatusMsg  = "statusMsg"
	// attrTaskErrPfx prefixes one attribute per shard task error
	// ("taskErr_7"): top-level attributes, because setting an entry of a
	// nested map needs the map to exist, and minidyn mishandles empty maps.
	attrTaskErrPfx   = "taskErr_"
	attrShardsDone   = "shardsDone"
	attrShardsTotal  = "shardsTotal"
	attrBytesDone    = "bytesDone"
	attrBytesTotal   = "bytesTotal"
	attrRowsDone     = "rowsDone"
	attrRowsTotal    = "rowsTotal"
	attrWarnings     = "warnings"
	attrExecARN      = "executionArn"
	attrExpiresAt    = "expiresAt"
	attrMetaPrepared = "metaPreparedTime"
	attrDownloadDone = "downloadFinishedTime"
	attrSnapFinished = "snapshotFinishedTime"
	attrUploadDone   = "uploadFinishedTime"
	attrFinished     = "finishedTime"
)

// jobItem is a job record as stored. The spec is kept as JSON: it is
// immutable, and JSON keeps it byte-for-byte what the pipeline passes around.
type jobItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	GSI1PK string `dynamodbav:"gsi1pk"`
	GSI1SK string `dynamodbav:"gsi1sk"`

	Kind       string `dynamodbav:"kind"`
	JobID      string `dynamodbav:"jobId"`
	Database   string `dynamodbav:"database"`
	Label      string `dynamodbav:"label"`
	Repository string `dynamodbav:"repository"`
	Spec       string `dynamodbav:"spec"`

	State                string `dynamodbav:"state"`
	CreateTime           string `dynamodbav:"createTime"`
	MetaPreparedTime     string `dynamodbav:"metaPreparedTime,omitempty"`
	DownloadFinishedTime string `dynamodbav:"downloadFinishedTime,omitempty"`
	SnapshotFinishedTime string `dynamodbav:"snapshotFinishedTime,omitempty"`
	UploadFinishedTime   string `dynamodbav:"uploadFinishedTime,omitempty"`
	FinishedTime         string `dynamodbav:"finishedTime,omitempty"`

	StatusCode string `dynamodbav:"statusCode"`
	StatusMsg  string `dynamodbav:"statusMsg"`

	ShardsDone  int64 `dynamodbav:"shardsDone"`
	ShardsTotal int64 `dynamodbav:"shardsTotal"`
	BytesDone   int64 `dynamodbav:"bytesDone"`
	BytesTotal  int64 `dynamodbav:"bytesTotal"`
	RowsDone    int64 `dynamodbav:"rowsDone,omitempty"`
	RowsTotal   int64 `dynamodbav:"rowsTotal,omitempty"`

	Warnings []string `dynamodbav:"warnings,omitempty"`

	ExecutionARN string `dynamodbav:"executionArn,omitempty"`
	PlanSHA256   string `dynamodbav:"planSha256,omitempty"`
	TTL          int64  `dynamodbav:"ttl,omitempty"`
}

func newJobItem(rec job.Record) (map[string]types.AttributeValue, error) {
	spec, err := json.Marshal(rec.Spec)
	if err != nil {
		return nil, fmt.Errorf("encode job spec: %w", err)
	}
	status := rec.Status
	if status.Code == "" {
		status = job.StatusOK()
	}
	it := jobItem{
		PK: jobPK(rec.Spec.JobID), SK: skJob,
		GSI1PK: dbGSI(rec.Spec.Database), GSI1SK: formatTime(rec.CreateTime) + "#" + rec.Spec.JobID,
		Kind: rec.Spec.Kind(), JobID: rec.Spec.JobID, Database: rec.Spec.Database, Label: rec.Spec.Label,
		Repository: rec.Spec.Repository, Spec: string(spec),
		State:                string(rec.State),
		CreateTime:           formatTime(rec.CreateTime),
		MetaPreparedTime:     formatTime(rec.MetaPreparedTime),
		DownloadFinishedTime: formatTime(rec.DownloadFinishedTime),
		SnapshotFinishedTime: formatTime(rec.SnapshotFinishedTime),
		UploadFinishedTime:   formatTime(rec.UploadFinishedTime),
		FinishedTime:         formatTime(rec.FinishedTime),
		StatusCode:           string(status.Code), StatusMsg: status.Message,
		ShardsDone: rec.ShardsDone, ShardsTotal: rec.ShardsTotal,
		BytesDone: rec.BytesDone, BytesTotal: rec.BytesTotal,
		RowsDone: rec.RowsDone, RowsTotal: rec.RowsTotal, Warnings: rec.Warnings,
		ExecutionARN: rec.ExecutionARN,
		PlanSHA256:   rec.PlanSHA256,
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("encode job %s: %w", rec.Spec.JobID, err)
	}
	for n, msg := range rec.TaskErrors {
		av[taskErrAttr(n)] = str(msg)
	}
	if err := checkItemSize("job "+rec.Spec.JobID, av); err != nil {
		return nil, err
	}
	return av, nil
}

func decodeJob(av map[string]types.AttributeValue) (job.Record, error) {
	var it jobItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return job.Record{}, fmt.Errorf("decode job item: %w", err)
	}
	var rec job.Record
	if err := json.Unmarshal([]byte(it.Spec), &rec.Spec); err != nil {
		return job.Record{}, fmt.Errorf("decode spec of job %s: %w", it.JobID, err)
	}
	state, err := job.ParseState(it.State)
	if err != nil {
		return job.Record{}, fmt.Errorf("job %s: %w", it.JobID, err)
	}
	rec.State = state
	for _, t := range []struct {
		name string
		src  string
		dst  *time.Time
	}{
		{"create time", it.CreateTime, &rec.CreateTime},
		{"meta prepared time", it.MetaPreparedTime, &rec.MetaPreparedTime},
		{"download finished time", it.DownloadFinishedTime, &rec.DownloadFinishedTime},
		{"snapshot finished time", it.SnapshotFinishedTime, &rec.SnapshotFinishedTime},
		{"upload finished time", it.UploadFinishedTime, &rec.UploadFinishedTime},
		{"finished time", it.FinishedTime, &rec.FinishedTime},
	} {
		if *t.dst, err = parseTime(t.src); err != nil {
			return job.Record{}, fmt.Errorf("job %s %s: %w", it.JobID, t.name, err)
		}
	}
	rec.Status = job.NewStatus(job.StatusCode(it.StatusCode), it.StatusMsg)
	for name, v := range av {
		k, ok := strings.CutPrefix(name, attrTaskErrPfx)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(k)
		msg, isStr := v.(*types.AttributeValueMemberS)
		if err != nil || !isStr {
			return job.Record{}, fmt.Errorf("job %s: bad task error attribute %q", it.JobID, name)
		}
		if rec.TaskErrors == nil {
			rec.TaskErrors = map[int]string{}
		}
		rec.TaskErrors[n] = msg.Value
	}
	rec.ShardsDone, rec.ShardsTotal = it.ShardsDone, it.ShardsTotal
	rec.BytesDone, rec.BytesTotal = it.BytesDone, it.BytesTotal
	rec.RowsDone, rec.RowsTotal, rec.Warnings = it.RowsDone, it.RowsTotal, it.Warnings
	rec.ExecutionARN, rec.PlanSHA256 = it.ExecutionARN, it.PlanSHA256
	if err := addReading(&rec, av); err != nil {
		return job.Record{}, err
	}
	return rec, nil
}

func taskErrAttr(shard int) string { return attrTaskErrPfx + strconv.Itoa(shard) }
