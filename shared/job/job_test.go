package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCanTransition(t *testing.T) {
	forward := [][2]State{
		{Pending, Snapshoting}, {Snapshoting, UploadSnapshot}, {UploadSnapshot, Uploading},
		{Uploading, SaveMeta}, {SaveMeta, UploadInfo}, {UploadInfo, Finished},
	}
	allowed := map[[2]State]bool{}
	for _, p := range forward {
		allowed[p] = true
	}
	for _, s := range States() {
		if !s.IsFinal() {
			allowed[[2]State{s, Cancelled}] = true
		}
	}
	for _, from := range States() {
		for _, to := range States() {
			if got, want := CanTransition(from, to), allowed[[2]State{from, to}]; got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if CanTransition("BOGUS", Cancelled) || CanTransition(Pending, "BOGUS") {
		t.Error("unknown states must not transition")
	}
}

func TestStateNavigation(t *testing.T) {
	if n, ok := Pending.Next(); !ok || n != Snapshoting {
		t.Errorf("Pending.Next() = %s, %v", n, ok)
	}
	if _, ok := Finished.Next(); ok {
		t.Error("Finished has no next state")
	}
	if p, ok := Finished.Previous(); !ok || p != UploadInfo {
		t.Errorf("Finished.Previous() = %s, %v", p, ok)
	}
	if _, ok := Pending.Previous(); ok {
		t.Error("Pending has no previous state")
	}
	if _, ok := Cancelled.Previous(); ok {
		t.Error("Cancelled has no previous state")
	}
	if _, err := ParseState("UPLOADING"); err != nil {
		t.Error(err)
	}
	if _, err := ParseState("uploading"); err == nil {
		t.Error("states are upper case")
	}
}

func TestStatusString(t *testing.T) {
	for _, tc := range []struct {
		s    Status
		want string
	}{
		{Status{}, "[OK]"},
		{StatusOK(), "[OK]"},
		{StatusUserCancelled(), "[COMMON_ERROR, msg: user cancelled]"},
		{StatusTimeout(), "[TIMEOUT, msg: ]"},
		{NewStatus(CodeBadFile, "md5sum does not equal. local: a, remote: b"), "[BAD_FILE, msg: md5sum does not equal. local: a, remote: b]"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.s, got, tc.want)
		}
		back, err := ParseStatus(tc.want)
		if err != nil {
			t.Errorf("ParseStatus(%q): %v", tc.want, err)
		} else if back.String() != tc.want {
			t.Errorf("ParseStatus(%q) = %#v", tc.want, back)
		}
	}
	for _, bad := range []string{"", "OK", "[OK", "[NOPE, msg: x]", "[OK, msg: x]", "[TIMEOUT]"} {
		if _, err := ParseStatus(bad); err == nil {
			t.Errorf("ParseStatus(%q) succeeded", bad)
		}
	}
}

func sampleRecord() Record {
	created := time.Date(2025, 3, 4, 5, 6, 7, 800_000_000, time.FixedZone("CET", 3600))
	spec := Spec{
		JobID: "0195a3b0-0000-7000-8000-000000000001", Database: "shop", Label: "snap1", Repository: "repo",
		Objects: []Object{
			{Kind: KindTable, Name: "orders"},
			{Kind: KindTable, Name: "events", Partitions: []string{"p1", "p2"}},
			{Kind: KindView, Name: "v_orders"},
		},
		Options:   Options{Type: "FULL", TimeoutSeconds: 86400, Compression: "zstd", ShardSize: 256 << 20, Parallelism: 4},
		SQL:       "BACKUP DATABASE shop SNAPSHOT snap1 TO repo",
		CreatedAt: created,
		Deadline:  created.Add(24 * time.Hour),
	}
	return NewRecord(spec)
}

func deref(row []*string) []string {
	out := make([]string, len(row))
	for i, p := range row {
		if p == nil {
			out[i] = "NULL"
		} else {
			out[i] = *p
		}
	}
	return out
}

func TestShowBackupRow(t *testing.T) {
	r := sampleRecord()
	got := deref(r.ShowBackupRow())
	want := []string{
		"0195a3b0-0000-7000-8000-000000000001", "snap1", "shop", "PENDING",
		"[shop.orders], [shop.eventsPARTITIONS (p1, p2)], [shop.v_orders]",
		"2025-03-04 04:06:07", "NULL", "NULL", "NULL", "", "", "", "[OK]", "86400",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("row\n got %q\nwant %q", got, want)
	}
	if len(ShowBackupColumns) != len(got) {
		t.Fatalf("%d columns, %d values", len(ShowBackupColumns), len(got))
	}

	r.State = Uploading
	r.SnapshotFinishedTime = r.CreateTime.Add(2 * time.Second)
	r.ShardsTotal, r.ShardsDone, r.BytesTotal, r.BytesDone = 10, 3, 4096, 1024
	r.TaskErrors = map[int]string{7: "connection reset", 2: "deadlock"}
	got = deref(r.ShowBackupRow())
	if got[6] != "2025-03-04 04:06:09" || got[9] != "7" || got[10] != "[shards: 3/10], [bytes: 1024/4096], [rows: 0/0]" ||
		got[11] != "[2: deadlock], [7: connection reset]" {
		t.Errorf("uploading row: %q", got)
	}

	r.State, r.Status = Cancelled, StatusTimeout()
	got = deref(r.ShowBackupRow())
	if got[9] != "" || got[12] != "[TIMEOUT, msg: ]" {
		t.Errorf("cancelled row: %q", got)
	}
}

func TestRecordJSONRoundTrip(t *testing.T) {
	r := sampleRecord()
	r.TaskErrors = map[int]string{3: "x"}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "finished_time") {
		t.Errorf("unset times must be omitted: %s", b)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.CreateTime.Equal(r.CreateTime) || back.Spec.Objects[1].Partitions[1] != "p2" || back.TaskErrors[3] != "x" {
		t.Errorf("round trip: %+v", back)
	}
}

func TestSpecValidate(t *testing.T) {
	good := sampleRecord().Spec
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.Label = ""
	bad.Objects = []Object{{Kind: "MATERIALIZED_VIEW", Name: "mv"}, {Kind: KindView, Name: "v", Partitions: []string{"p"}}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid spec accepted")
	}
	for _, want := range []string{"label is empty", `unknown kind "MATERIALIZED_VIEW"`, "partitions on a VIEW"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !good.Expired(good.Deadline) || good.Expired(good.Deadline.Add(-time.Nanosecond)) {
		t.Error("Expired is wrong at the deadline")
	}
	if good.Timeout() != 24*time.Hour {
		t.Errorf("Timeout() = %v", good.Timeout())
	}
}

func TestNewID(t *testing.T) {
	a, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewID()
	if a == b || len(a) != 36 {
		t.Errorf("ids %q %q", a, b)
	}
}

func TestShardResultValidate(t *testing.T) {
	ok := ShardResult{Shard: 1, Object: "t", Partition: "p", Key: "__ss_content/db/t/p/000001.parquet",
		Rows: 3, Bytes: 100, SHA256: strings.Repeat("a", 64)}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
	bad := ok
	bad.SHA256 = "abc"
	if bad.Validate() == nil {
		t.Error("short sha256 accepted")
	}
}

// typeName is what the Go Lambda runtime reports as errorType.
func typeName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func TestErrorTypeNamesAndTexts(t *testing.T) {
	for _, tc := range []struct {
		err      Error
		typeName string
		status   int
		text     string
	}{
		{ErrDatabaseBusy(), "ConflictError", http.StatusConflict, "Can only run one backup or restore job of a database at same time"},
		{ErrSnapshotExists("L"), "ConflictError", http.StatusConflict, "Snapshot with name 'L' already exist in repository"},
		{ErrRepositoryNotFound("r"), "AnalysisError", http.StatusBadRequest, "Getting analyzing error. Detail message: Repository [r] does not exist."},
		{ErrRepositoryReadOnly("r"), "ConflictError", http.StatusConflict, "Repository r is read only"},
		{ErrNoRunningJob(), "NotFoundError", http.StatusNotFound, "No backup job is currently running"},
		{ErrCannotCancel("L", Finished), "ConflictError", http.StatusConflict, "Job with label L can not be cancelled. state: FINISHED"},
		{ErrRepositoryExists("r"), "ConflictError", http.StatusConflict, "Failed to create repository: repository with same name already exist: r"},
		{&TimeoutError{Message: "late"}, "TimeoutError", http.StatusConflict, "late"},
		{&CancelledError{Message: "stop"}, "CancelledError", http.StatusConflict, "stop"},
		{&TransientError{Message: "read", Err: errors.New("reset")}, "TransientError", http.StatusServiceUnavailable, "read: reset"},
	} {
		if got := typeName(tc.err); got != tc.typeName {
			t.Errorf("%v: type name %q, want %q", tc.err, got, tc.typeName)
		}
		if tc.err.HTTPStatus() != tc.status || tc.err.Error() != tc.text || tc.err.Code() == "" {
			t.Errorf("%s: status %d text %q", tc.typeName, tc.err.HTTPStatus(), tc.err.Error())
		}
	}
}

func TestForLambdaUnwrapsDomainErrors(t *testing.T) {
	wrapped := fmt.Errorf("lock: %w", fmt.Errorf("transact: %w", ErrDatabaseBusy()))
	got := ForLambda(wrapped)
	if typeName(got) != "ConflictError" || got.Error() != ErrDatabaseBusy().Error() {
		t.Errorf("ForLambda = %T %v", got, got)
	}
	joined := errors.Join(errors.New("other"), &TimeoutError{Message: "late"})
	if typeName(ForLambda(fmt.Errorf("x: %w", joined))) != "TimeoutError" {
		t.Error("joined domain error not found")
	}
	plain := errors.New("plain")
	if ForLambda(plain) != plain {
		t.Error("plain errors pass through")
	}
	// A TransientError wrapping another domain error is itself the outermost.
	tr := &TransientError{Err: ErrDatabaseBusy()}
	if ForLambda(tr) != Error(tr) {
		t.Error("outermost domain error wins")
	}
}

func TestStatusForFailures(t *testing.T) {
	if s := StatusFor("TimeoutError", "x"); s != StatusTimeout() {
		t.Errorf("timeout: %v", s)
	}
	if s := StatusFor("States.Timeout", ""); s != StatusTimeout() {
		t.Errorf("states timeout: %v", s)
	}
	if s := StatusFor("CancelledError", "x"); s != StatusUserCancelled() {
		t.Errorf("cancelled: %v", s)
	}
	if s := StatusFor("TransientError", "connection refused"); s.String() != "[COMMON_ERROR, msg: connection refused]" {
		t.Errorf("other: %v", s)
	}
	if s := StatusOf(fmt.Errorf("x: %w", &TimeoutError{Message: "late"})); s != StatusTimeout() {
		t.Errorf("StatusOf timeout: %v", s)
	}
	if s := StatusOf(&CancelledError{Message: "c", Status: NewStatus(CodeBadFile, "b")}); s.Code != CodeBadFile {
		t.Errorf("StatusOf cancelled keeps the job status: %v", s)
	}
	if s := StatusOf(errors.New("boom")); s.String() != "[COMMON_ERROR, msg: boom]" {
		t.Errorf("StatusOf other: %v", s)
	}
}

// apiError is an AWS SDK error as smithy.APIError shapes it.
type apiError struct{ code, msg string }

func (e apiError) Error() string     { return "api error " + e.code + ": " + e.msg }
func (e apiError) ErrorCode() string { return e.code }

// TestTransientRefusesAccessDenied: AWS refusing a permission is not
// retried (issue 12 §2): it becomes a PermissionError, which the state
// machine's Retry does not list, with a message that names the AWS code but
// not AWS's text (it carries the role ARN).
func TestTransientRefusesAccessDenied(t *testing.T) {
	arn := "arn:aws:sts::123456789012:assumed-role/upload/fn"
	for _, code := range []string{"AccessDenied", "AccessDeniedException"} {
		cause := fmt.Errorf("operation error S3: GetObject: %w", apiError{code, "User: " + arn + " is not authorized"})
		err := Transient("read shard plan", cause)
		var pe *PermissionError
		if !errors.As(err, &pe) || typeName(ForLambda(err)) != "PermissionError" {
			t.Fatalf("%s: got %T %v, want a PermissionError", code, err, err)
		}
		if want := "read shard plan: access denied by AWS (" + code + ")"; !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), arn) {
			t.Errorf("%s: message %q, want it to start %q and not name the role", code, err.Error(), want)
		}
		if !errors.Is(err, cause) {
			t.Errorf("%s: the cause is lost", code)
		}
	}
	slow := fmt.Errorf("op: %w", apiError{"SlowDown", "reduce your request rate"})
	if typeName(Transient("put", slow)) != "TransientError" {
		t.Error("SlowDown is transient")
	}
	if typeName(Transient("x", errors.New("reset"))) != "TransientError" {
		t.Error("a plain error is transient")
	}
	if Transient("x", ErrDatabaseBusy()).Error() != ErrDatabaseBusy().Error() {
		t.Error("a domain error passes through")
	}
}

func TestStateReached(t *testing.T) {
	for _, c := range []struct {
		s, t State
		want bool
	}{
		{Uploading, Snapshoting, true}, {Uploading, Uploading, true}, {Snapshoting, UploadSnapshot, false},
		{Download, Snapshoting, true}, {Snapshoting, Download, false}, {Pending, Snapshoting, false},
		{Cancelled, Snapshoting, false}, {Download, Uploading, false},
	} {
		if got := c.s.Reached(c.t); got != c.want {
			t.Errorf("%s.Reached(%s) = %v, want %v", c.s, c.t, got, c.want)
		}
	}
}
