package repository_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/repository"
)

// These tests run against the local S3 (gofakes3) through the real SDK.

type env struct {
	s3     *s3.Client
	bucket string
}

func setup(t *testing.T) *env {
	t.Helper()
	st := localtest.StartForTest(t, localstack.Options{})
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &env{s3: s3.NewFromConfig(cfg), bucket: st.Bucket}
}

func (e *env) repo(t *testing.T, name, prefix string, opts ...repository.Option) *repository.Repo {
	t.Helper()
	r, err := repository.New(e.s3, name, repository.Location{Bucket: e.bucket, Prefix: prefix}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	return out
}

func (e *env) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// putRaw writes an object the way a foreign tool or a bit flip would:
// with a SHA-256 header that does not match the bytes (gofakes3, unlike S3,
// stores it).
func (e *env) putRaw(t *testing.T, key string, body []byte, sha256b64 string) {
	t.Helper()
	_, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(e.bucket), Key: aws.String(key), Body: bytes.NewReader(body), ChecksumSHA256: aws.String(sha256b64),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRepoInfoAndKeys(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.repo(t, "my/repo", "backups/prod")
	if r.Root() != "backups/prod/__srbackup_repository_my%2Frepo/" {
		t.Fatalf("root %q", r.Root())
	}
	created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ok, err := r.WriteRepoInfo(ctx, created)
	if err != nil || !ok {
		t.Fatalf("first WriteRepoInfo = %v %v", ok, err)
	}
	ok, err = r.WriteRepoInfo(ctx, created.Add(time.Hour))
	if err != nil || ok {
		t.Fatalf("second WriteRepoInfo = %v %v", ok, err)
	}
	ri, err := r.ReadRepoInfo(ctx)
	if err != nil || ri.Name != "my/repo" || !ri.CreateTime.Equal(created) || ri.Format != 1 {
		t.Fatalf("ReadRepoInfo = %+v %v", ri, err)
	}
	if err := r.CheckReadable(ctx); err != nil {
		t.Fatal(err)
	}

	// Hostile names stay inside their segments.
	rel, err := repository.ContentPath("../db", "t/../../x", "..", 7, "job-1")
	if err != nil {
		t.Fatal(err)
	}
	if rel != "__ss_content/..%2Fdb/t%2F..%2F..%2Fx/%2E%2E/000007-job-1.parquet" {
		t.Fatalf("ContentPath = %q", rel)
	}
	db, tbl, part, shard, jobID, err := repository.ParseContentPath(rel)
	if err != nil || db != "../db" || tbl != "t/../../x" || part != ".." || shard != 7 || jobID != "job-1" {
		t.Fatalf("ParseContentPath = %q %q %q %d %v", db, tbl, part, shard, err)
	}
	key, err := r.SnapshotKey("../../l", rel)
	if err != nil || !strings.HasPrefix(key, r.Root()+"__ss_..%2F..%2Fl/__ss_content/") {
		t.Fatalf("SnapshotKey = %q %v", key, err)
	}
	for _, bad := range []string{"", "/abs", "../x", "a/../../b", "a//b", "."} {
		if _, err := r.SnapshotKey("l", bad); err == nil {
			t.Errorf("SnapshotKey(l, %q) accepted", bad)
		}
	}
	if _, err := r.SnapshotKey("l", strings.Repeat("x", 1100)); err == nil {
		t.Error("over-long key accepted")
	}
	for _, bad := range []string{"elsewhere/file", r.Root(), "backups/prod/__srbackup_repository_my%2Frepo"} {
		if _, _, err := r.PutStream(ctx, bad, strings.NewReader("x")); err == nil {
			t.Errorf("PutStream(%q) outside the repository accepted", bad)
		}
		if err := r.DeleteKeys(ctx, []string{bad}); err == nil {
			t.Errorf("DeleteKeys(%q) outside the repository accepted", bad)
		}
	}
	if _, err := r.PutJSON(ctx, "l", "../../x", 1); err == nil {
		t.Error("PutJSON outside the snapshot accepted")
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutStream(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.repo(t, "repo", "", repository.WithPartSize(5<<20), repository.WithConcurrency(2))
	for _, size := range []int{0, 1, 5 << 20, 12<<20 + 3} {
		data := randomBytes(t, size)
		key, err := r.SnapshotKey("s", "__ss_content/db/t/p/000001.parquet")
		if err != nil {
			t.Fatal(err)
		}
		// A plain io.Reader: not seekable, size unknown, as Parquet output is.
		n, sum, err := r.PutStream(ctx, key, io.MultiReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		want := sha256.Sum256(data)
		if n != int64(size) || sum != hex.EncodeToString(want[:]) {
			t.Fatalf("%d bytes: PutStream = %d %s", size, n, sum)
		}
		if got := e.get(t, key); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: stored %d bytes, different", size, len(got))
		}
	}

	// A failing reader aborts the multipart upload: nothing is left behind.
	key, _ := r.SnapshotKey("s", "__ss_content/db/t/p/000002.parquet")
	_, _, err := r.PutStream(ctx, key, io.MultiReader(bytes.NewReader(randomBytes(t, 11<<20)), errReader{}))
	if err == nil {
		t.Fatal("failing reader: no error")
	}
	ups, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(e.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left open", len(ups.Uploads))
	}
	for _, k := range e.keys(t, "") {
		if k == key {
			t.Fatal("failed upload left an object")
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("source connection lost") }

// writeSnapshot writes a complete snapshot with one data file per partition.
func writeSnapshot(t *testing.T, r *repository.Repo, label string, backupTime time.Time) repository.Info {
	t.Helper()
	return writeSnapshotWith(t, r, label, backupTime, nil)
}

// writeSnapshotWith is writeSnapshot with a change to the info manifest
// before it is written.
func writeSnapshotWith(t *testing.T, r *repository.Repo, label string, backupTime time.Time, change func(*repository.Info)) repository.Info {
	t.Helper()
	ctx := context.Background()
	info := repository.Info{
		Name: label, Database: "shop", JobID: "job-" + label, BackupTime: backupTime.UnixMilli(),
		SnapshotTime: backupTime.Add(time.Second).UTC(), BackupResult: "OK",
		Source: repository.Source{Kind: "mysql", Version: "10.11.6-MariaDB"}, Compression: "zstd",
	}
	obj := repository.ObjectData{Kind: repository.KindTable, Name: "orders"}
	for i, p := range []string{"p2024", "p2025"} {
		rel, err := repository.ContentPath("shop", "orders", p, i, "job-1")
		if err != nil {
			t.Fatal(err)
		}
		key, _ := r.SnapshotKey(label, rel)
		n, sum, err := r.PutStream(ctx, key, bytes.NewReader(randomBytes(t, 1000+i)))
		if err != nil {
			t.Fatal(err)
		}
		f := repository.DataFile{FileRef: repository.FileRef{Key: rel, Bytes: n, SHA256: sum}, Shard: i, Rows: 10}
		obj.Partitions = append(obj.Partitions, repository.PartitionData{Name: p, Rows: 10, Bytes: n, Files: []repository.DataFile{f}})
	}
	info.Objects = []repository.ObjectData{obj, {Kind: repository.KindView, Name: "v_orders"}}
	meta := repository.Meta{Name: label, Database: "shop", JobID: info.JobID, Source: info.Source,
		Objects: []repository.ObjectMeta{{Kind: repository.KindTable, Name: "orders", DDL: "CREATE TABLE `orders` (…)",
			Columns:    []repository.Column{{Name: "id", SourceType: "bigint unsigned", Parquet: "INT64 UINT(64)", Nullable: false}},
			Partitions: []repository.PartitionMeta{{Name: "p2024", Method: "RANGE", Description: "VALUES LESS THAN (2025)"}}}},
		Functions: []repository.FunctionMeta{{Name: "f", DDL: "CREATE FUNCTION f() RETURNS INT RETURN 1"}},
	}
	ref, err := r.WriteMeta(ctx, label, meta)
	if err != nil {
		t.Fatal(err)
	}
	info.Meta = ref
	if change != nil {
		change(&info)
	}
	ts, err := r.WriteInfo(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	if ts != repository.FormatTimestamp(backupTime) {
		t.Fatalf("timestamp %s", ts)
	}
	info.FormatVersion = repository.FormatVersion
	return info
}

func TestSnapshotWriteVerifyAndList(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.repo(t, "repo", "sr")
	bt := time.Date(2025, 6, 1, 2, 3, 4, 567_000_000, time.UTC)
	info := writeSnapshot(t, r, "daily", bt)
	ts := "2025-06-01-02-03-04-567"

	got, err := r.VerifySnapshot(ctx, "daily", ts)
	if err != nil {
		t.Fatal(err)
	}
	if got.JobID != info.JobID || len(got.Files()) != 2 || got.Objects[0].Partitions[1].Files[0].SHA256 != info.Objects[0].Partitions[1].Files[0].SHA256 {
		t.Fatalf("VerifySnapshot = %+v", got)
	}
	// The info file carries an S3 SHA-256 checksum.
	head, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(r.Root() + "__ss_daily/__info_" + ts), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if aws.ToString(head.ChecksumSHA256) == "" {
		t.Error("info file has no S3 SHA-256 checksum")
	}

	// A retried finalize writing the same info is a no-op; different content is refused.
	if _, err := r.WriteInfo(ctx, info); err != nil {
		t.Fatalf("same info again: %v", err)
	}
	changed := info
	changed.JobID = "another"
	if _, err := r.WriteInfo(ctx, changed); err == nil {
		t.Fatal("different info under the same timestamp accepted")
	}

	exists, err := r.SnapshotExists(ctx, "daily")
	if err != nil || !exists {
		t.Fatalf("SnapshotExists(daily) = %v %v", exists, err)
	}
	if exists, _ := r.SnapshotExists(ctx, "dail"); exists {
		t.Fatal("SnapshotExists matches a prefix of the label")
	}

	// A second run of the same label, a partial snapshot, and a foreign folder.
	writeSnapshot(t, r, "daily", bt.Add(24*time.Hour))
	writeSnapshot(t, r, "a/b c", bt)
	partial, _ := r.SnapshotKey("partial", "__ss_content/shop/t/t/000000.parquet")
	if _, _, err := r.PutStream(ctx, partial, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	e.putRaw(t, r.Root()+"__ss_not%2fcanonical/x", []byte("x"), "")

	rows, err := r.ListSnapshots(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Snapshot != "a/b c" || rows[1].Snapshot != "daily" ||
		strings.Join(rows[1].Timestamps, ",") != ts+",2025-06-02-02-03-04-567" || rows[1].Status != "OK" {
		t.Fatalf("all snapshots: %+v", rows)
	}
	if cells := rows[1].Row(); *cells[1] != ts+"\n2025-06-02-02-03-04-567" {
		t.Errorf("Timestamp cell %q", *cells[1])
	}
	rows, err = r.ListSnapshots(ctx, []string{"partial", "daily", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Status != "ERROR: no snapshot" || rows[1].Status != "OK" || rows[2].Status != "ERROR: no snapshot" || rows[2].Row()[1] != nil {
		t.Fatalf("IN rows: %+v", rows)
	}

	d, err := r.Snapshot(ctx, "daily", ts)
	if err != nil || d.Status != "OK" || *d.Database != "shop" {
		t.Fatalf("Snapshot(daily, %s) = %+v %v", ts, d, err)
	}
	var det repository.Details
	if err := json.Unmarshal([]byte(*d.Details), &det); err != nil {
		t.Fatal(err)
	}
	if det.BackupTime != bt.UnixMilli() || strings.Join(det.BackupObjects["orders"], ",") != "p2024,p2025" || det.BackupResult != "OK" {
		t.Fatalf("details %s", *d.Details)
	}
	if d, _ := r.Snapshot(ctx, "daily", "2020-01-01-00-00-00-000"); d.Status != "ERROR: no snapshot" || d.Database != nil {
		t.Fatalf("missing run: %+v", d)
	}
	if d, _ := r.Snapshot(ctx, "daily", "yesterday"); !strings.HasPrefix(d.Status, "ERROR: Failed to get info: ") {
		t.Fatalf("bad timestamp: %+v", d)
	}

	// A corrupted info file: its bytes no longer match the stored checksum.
	infoKey := r.Root() + "__ss_daily/__info_" + ts
	body := e.get(t, infoKey)
	sum := sha256.Sum256(body)
	e.putRaw(t, infoKey, bytes.Replace(body, []byte(`"shop"`), []byte(`"shoq"`), 1), base64.StdEncoding.EncodeToString(sum[:]))
	if d, _ := r.Snapshot(ctx, "daily", ts); !strings.HasPrefix(d.Status, "ERROR: Failed to get info: ") || !strings.Contains(d.Status, "checksum") {
		t.Fatalf("corrupt info: %+v", d)
	}
	if _, err := r.VerifySnapshot(ctx, "daily", ts); !errors.Is(err, repository.ErrChecksum) {
		t.Fatalf("VerifySnapshot of corrupt info: %v", err)
	}

	// A corrupted data file fails verification of the other run.
	ts2 := "2025-06-02-02-03-04-567"
	info2, err := r.ReadInfo(ctx, "daily", ts2)
	if err != nil {
		t.Fatal(err)
	}
	dataKey, _ := r.SnapshotKey("daily", info2.Files()[0].Key)
	e.putRaw(t, dataKey, []byte("not parquet"), "")
	if _, err := r.VerifySnapshot(ctx, "daily", ts2); !errors.Is(err, repository.ErrChecksum) {
		t.Fatalf("VerifySnapshot of corrupt data: %v", err)
	}
}

func TestDeletePartialSnapshot(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.repo(t, "repo", "x")
	// A partial snapshot: files, and a multipart upload left open by a crashed worker.
	for i := range 1203 { // more than one DeleteObjects batch
		rel, _ := repository.ContentPath("db", "t", "p", i, "job-1")
		key, _ := r.SnapshotKey("failed", rel)
		e.putRaw(t, key, []byte{byte(i)}, "")
	}
	openKey, _ := r.SnapshotKey("failed", "__ss_content/db/t/p/999999.parquet")
	if _, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String(openKey)}); err != nil {
		t.Fatal(err)
	}
	committed := writeSnapshot(t, r, "failedbutnot", time.Now())
	_ = committed

	n, err := r.DeletePartialSnapshot(ctx, "failed")
	if err != nil || n != 1203 {
		t.Fatalf("DeletePartialSnapshot = %d %v", n, err)
	}
	prefix, _ := r.SnapshotPrefix("failed")
	if left := e.keys(t, prefix); len(left) != 0 {
		t.Fatalf("%d objects left", len(left))
	}
	ups, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(e.bucket), Prefix: aws.String(prefix)})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("open uploads %v %v", ups.Uploads, err)
	}
	// The other snapshot, whose name starts with the same letters, is untouched.
	if exists, _ := r.SnapshotExists(ctx, "failedbutnot"); !exists {
		t.Fatal("a sibling snapshot was deleted")
	}
	// A committed snapshot is refused.
	if _, err := r.DeletePartialSnapshot(ctx, "failedbutnot"); !errors.Is(err, repository.ErrCommitted) {
		t.Fatalf("deleting a committed snapshot: %v", err)
	}
	// Prefixes outside the repository are refused.
	if _, err := r.DeletePrefix(ctx, "x/"); err == nil {
		t.Fatal("DeletePrefix outside the repository accepted")
	}
}

func TestListDeleteAbort(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.repo(t, "repo", "pre")
	dir, err := r.SnapshotPrefix("a")
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"__plan-j1.json", "__ss_content/d/t/p/000000-j1.parquet", "__ss_content/d/t/p/000001-j2.parquet"} {
		if _, err := r.PutJSON(ctx, "a", rel, map[string]string{"k": rel}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.PutJSON(ctx, "ab", "x", 1); err != nil { // a sibling whose name extends "a"
		t.Fatal(err)
	}
	got, err := r.List(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[dir+"__ss_content/d/t/p/000000-j1.parquet"] == 0 {
		t.Fatalf("List = %v", got)
	}
	var plan map[string]string
	if _, err := r.GetJSON(ctx, "a", "__plan-j1.json", &plan); err != nil || plan["k"] != "__plan-j1.json" {
		t.Fatalf("GetJSON = %v %v", plan, err)
	}
	// Open uploads of two jobs; abort only j1's.
	for _, rel := range []string{"__ss_content/d/t/p/000002-j1.parquet", "__ss_content/d/t/p/000003-j2.parquet"} {
		if _, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String(dir + rel)}); err != nil {
			t.Fatal(err)
		}
	}
	mine := func(key string) bool { return repository.IsJobFile(strings.TrimPrefix(key, dir), "j1") }
	n, err := r.AbortMultipartUploads(ctx, dir, mine)
	if err != nil || n != 1 {
		t.Fatalf("AbortMultipartUploads = %d %v", n, err)
	}
	ups, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(e.bucket)})
	if err != nil || len(ups.Uploads) != 1 || !strings.HasSuffix(aws.ToString(ups.Uploads[0].Key), "-j2.parquet") {
		t.Fatalf("uploads left: %v %v", ups.Uploads, err)
	}
	// DeleteKeys: missing keys are fine.
	if err := r.DeleteKeys(ctx, []string{dir + "__plan-j1.json", dir + "__ss_content/d/t/p/000000-j1.parquet", dir + "nope"}); err != nil {
		t.Fatal(err)
	}
	all, err := r.List(ctx, r.Root())
	if err != nil || len(all) != 2 {
		t.Fatalf("after DeleteKeys: %v %v", all, err)
	}
	if _, err := r.GetJSON(ctx, "a", "__plan-j1.json", &plan); err == nil {
		t.Fatal("deleted object still readable")
	}
	if _, err := r.List(ctx, "elsewhere/"); err == nil {
		t.Fatal("List outside the repository accepted")
	}
}
