package repository

import (
	"fmt"
	"strings"
)

// Location is where a repository lives: an S3 bucket and a key prefix.
type Location struct {
	Bucket string
	// Prefix has no leading or trailing slash; empty means the bucket root.
	Prefix string
}

// ParseLocation parses a repository location, "s3://bucket[/prefix]".
// StarRocks' "s3a://" spelling is accepted too. The prefix must not contain
// empty, "." or ".." segments, backslashes or control characters.
func ParseLocation(uri string) (Location, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		rest, ok = strings.CutPrefix(uri, "s3a://")
	}
	if !ok {
		return Location{}, fmt.Errorf("invalid repository location %q: want s3://bucket/prefix", uri)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if err := checkBucket(bucket); err != nil {
		return Location{}, fmt.Errorf("invalid repository location %q: %w", uri, err)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		if strings.ContainsAny(prefix, "\\?#") {
			return Location{}, fmt.Errorf("invalid repository location %q: prefix contains '\\', '?' or '#'", uri)
		}
		for _, seg := range strings.Split(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return Location{}, fmt.Errorf("invalid repository location %q: empty, '.' or '..' path segment", uri)
			}
		}
		for _, r := range prefix {
			if r < 0x20 || r == 0x7f {
				return Location{}, fmt.Errorf("invalid repository location %q: control character in prefix", uri)
			}
		}
	}
	return Location{Bucket: bucket, Prefix: prefix}, nil
}

// checkBucket applies S3's bucket naming rules.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket name %q: only lower-case letters, digits, '.' and '-' are allowed", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) || strings.Contains(b, "..") {
		return fmt.Errorf("bucket name %q must begin and end with a letter or digit and have no '..'", b)
	}
	return nil
}

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// String returns the location as "s3://bucket/prefix".
func (l Location) String() string {
	if l.Prefix == "" {
		return "s3://" + l.Bucket
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}
