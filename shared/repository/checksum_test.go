package repository_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/repository"
)

// headerLog records the checksum headers of every S3 request.
type headerLog struct {
	mu   sync.Mutex
	reqs []string // "<method> <query keys> <checksum headers>"
}

func (l *headerLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var parts []string
		for _, k := range []string{"X-Amz-Checksum-Sha256", "X-Amz-Checksum-Algorithm", "X-Amz-Sdk-Checksum-Algorithm", "If-None-Match"} {
			if v := r.Header.Get(k); v != "" {
				parts = append(parts, k)
			}
		}
		q := r.URL.Query()
		op := r.Method
		switch {
		case q.Has("uploads"):
			op = "CreateMultipartUpload"
		case q.Has("partNumber"):
			op = "UploadPart"
		case q.Has("uploadId") && r.Method == http.MethodPost:
			op = "CompleteMultipartUpload"
		case r.Method == http.MethodPut:
			op = "PutObject"
		}
		l.mu.Lock()
		l.reqs = append(l.reqs, op+" "+strings.Join(parts, ","))
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *headerLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.reqs
	l.reqs = nil
	return out
}

func TestUploadsCarrySHA256Checksums(t *testing.T) {
	log := &headerLog{}
	st := localtest.StartForTest(t, localstack.Options{S3Middleware: log.wrap})
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repository.New(s3.NewFromConfig(cfg), "repo", repository.Location{Bucket: st.Bucket}, repository.WithPartSize(5<<20))
	if err != nil {
		t.Fatal(err)
	}
	log.take()

	key, _ := r.SnapshotKey("s", "__ss_content/d/t/p/000000.parquet")
	if _, _, err := r.PutStream(ctx, key, io.MultiReader(bytes.NewReader(make([]byte, 11<<20)))); err != nil {
		t.Fatal(err)
	}
	reqs := log.take()
	parts := 0
	for _, q := range reqs {
		switch {
		case strings.HasPrefix(q, "CreateMultipartUpload"):
			if !strings.Contains(q, "X-Amz-Checksum-Algorithm") {
				t.Errorf("%s: no checksum algorithm", q)
			}
		case strings.HasPrefix(q, "UploadPart"):
			parts++
			if !strings.Contains(q, "X-Amz-Checksum-Sha256") {
				t.Errorf("%s: no SHA-256", q)
			}
		}
	}
	if parts != 3 {
		t.Errorf("%d parts, want 3: %v", parts, reqs)
	}

	if _, err := r.WriteRepoInfo(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	reqs = log.take()
	if len(reqs) != 1 || !strings.Contains(reqs[0], "X-Amz-Checksum-Sha256") || !strings.Contains(reqs[0], "If-None-Match") {
		t.Errorf("__repo_info PUT: %v", reqs)
	}
}

func BenchmarkPutStream64MiB(b *testing.B) {
	st := localtest.StartForTest(b, localstack.Options{})
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		b.Fatal(err)
	}
	r, err := repository.New(s3.NewFromConfig(cfg), "repo", repository.Location{Bucket: st.Bucket})
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 64<<20)
	key, _ := r.SnapshotKey("bench", "__ss_content/d/t/p/000000.parquet")
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if _, _, err := r.PutStream(ctx, key, io.MultiReader(bytes.NewReader(data))); err != nil {
			b.Fatal(err)
		}
	}
}
