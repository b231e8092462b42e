package localstack

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"
)

// s3Patch fixes where gofakes3 differs from S3 in a way srbackup meets:
// ListMultipartUploads on a bucket that never had a multipart upload answers
// 404 NoSuchUpload, where S3 answers an empty list (which cleanup relies on
// when it aborts a failed job's uploads).
type s3Patch struct{ inner http.Handler }

func (p s3Patch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket := strings.Trim(r.URL.Path, "/")
	if r.Method != http.MethodGet || !r.URL.Query().Has("uploads") || bucket == "" || strings.Contains(bucket, "/") {
		p.inner.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	p.inner.ServeHTTP(rec, r)
	if rec.Code == http.StatusNotFound && bytes.Contains(rec.Body.Bytes(), []byte("<Code>NoSuchUpload</Code>")) {
		q := r.URL.Query()
		body, _ := xml.Marshal(struct {
			XMLName    xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
			Bucket     string   `xml:"Bucket"`
			Prefix     string   `xml:"Prefix"`
			Delimiter  string   `xml:"Delimiter,omitempty"`
			MaxUploads int      `xml:"MaxUploads"`
			Truncated  bool     `xml:"IsTruncated"`
		}{Bucket: bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), MaxUploads: 1000})
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(append([]byte(xml.Header), body...))
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// s3Files is gofakes3's filesystem backend rooted at dir: each bucket a
// directory of plain files under dir/buckets, their metadata (checksums
// included) under dir/metadata.
func s3Files(dir string) (gofakes3.Backend, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("S3 directory: %w", err)
	}
	b, err := s3afero.MultiBucket(afero.NewBasePathFs(afero.NewOsFs(), dir))
	if err != nil {
		return nil, fmt.Errorf("S3 directory %s: %w", dir, err)
	}
	return s3FilesList{b}, nil
}

// s3FilesList lists as S3 does where the filesystem backend does not: with
// a delimiter it names a common prefix after a partial name wrongly
// ("p/__ss_" gives "p/__ss_/__ss_a/") and answers NoSuchBucket for a
// prefix with no objects. It lists the whole bucket, then applies the
// prefix and delimiter itself: enough for a local repository.
type s3FilesList struct{ *s3afero.MultiBucketBackend }

func (b s3FilesList) ListBucket(bucket string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	all, err := b.MultiBucketBackend.ListBucket(bucket, &gofakes3.Prefix{}, page)
	if err != nil || prefix == nil {
		return all, err
	}
	out := gofakes3.NewObjectList()
	for _, c := range all.Contents {
		var m gofakes3.PrefixMatch
		switch {
		case !prefix.Match(c.Key, &m):
		case m.CommonPrefix:
			out.AddPrefix(m.MatchedPart)
		default:
			out.Add(c)
		}
	}
	slices.SortFunc(out.Contents, func(x, y *gofakes3.Content) int { return strings.Compare(x.Key, y.Key) })
	slices.SortFunc(out.CommonPrefixes, func(x, y gofakes3.CommonPrefix) int { return strings.Compare(x.Prefix, y.Prefix) })
	return out, nil
}
