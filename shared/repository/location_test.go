package repository

import "testing"

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		uri            string
		bucket, prefix string
		str            string
	}{
		{"s3://bucket", "bucket", "", "s3://bucket"},
		{"s3://bucket/", "bucket", "", "s3://bucket"},
		{"s3://my.bucket-1/backups/prod/", "my.bucket-1", "backups/prod", "s3://my.bucket-1/backups/prod"},
		{"s3a://bucket/sr", "bucket", "sr", "s3://bucket/sr"},
		{"s3://bucket/dir with space/訂單", "bucket", "dir with space/訂單", "s3://bucket/dir with space/訂單"},
	} {
		l, err := ParseLocation(tc.uri)
		if err != nil {
			t.Errorf("ParseLocation(%q): %v", tc.uri, err)
			continue
		}
		if l.Bucket != tc.bucket || l.Prefix != tc.prefix || l.String() != tc.str {
			t.Errorf("ParseLocation(%q) = %+v (%s)", tc.uri, l, l)
		}
	}
	for _, bad := range []string{
		"", "bucket/prefix", "http://bucket/x", "hdfs://nn/x", "s3://", "s3://ab", "s3://Bucket", "s3://bucket_1",
		"s3://-bucket", "s3://bucket-", "s3://a..b", "s3://bucket//x", "s3://bucket/a/../b", "s3://bucket/./a",
		"s3://bucket/a\\b", "s3://bucket/a?x=1", "s3://bucket/a#f", "s3://bucket/a\x00b", "s3://bucket/a//",
	} {
		if l, err := ParseLocation(bad); err == nil {
			t.Errorf("ParseLocation(%q) = %+v, want an error", bad, l)
		}
	}
}
