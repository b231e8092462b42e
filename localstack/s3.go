package localstack

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
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
