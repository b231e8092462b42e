package sql

import (
	"regexp"
	"strings"
	"unicode"
)

// RepositoryNamePattern is StarRocks' rule for repository names (its common
// name format). The name is also part of S3 keys.
var RepositoryNamePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,63}$`)

// bucketPattern is the S3 bucket naming rule (general purpose buckets).
var bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// credentialKey matches the repository property keys that would carry a
// credential; srbackup refuses them (it uses its functions' IAM role). The
// one rule: the API relies on it.
var credentialKey = regexp.MustCompile(`(?i)secret|access[._-]?key|password|passwd|session[._-]?token|credential|private[._-]?key`)

// parseCreateRepository parses CREATE [READ ONLY] REPOSITORY name WITH
// BROKER [broker] ON LOCATION 'uri' [PROPERTIES (…)]; CREATE is consumed.
func (p *parser) parseCreateRepository(start Pos) (Statement, check) {
	s := &CreateRepositoryStmt{Start: start}
	if p.acceptKw("READ") {
		p.expectKw("ONLY")
		s.ReadOnly = true
	}
	p.expectKw("REPOSITORY")
	repo := p.ident()
	p.expectKw("WITH")
	p.expectKw("BROKER")
	var broker *name
	if !p.atKw("ON") {
		b := p.identOrString()
		broker = &b
	}
	p.expectKw("ON")
	p.expectKw("LOCATION")
	loc := p.expectString()
	var props []property
	if p.acceptKw("PROPERTIES") {
		props = p.parsePropertyList()
	}
	s.Name, s.Location = repo.val, loc.val
	return s, func() *Error {
		if !RepositoryNamePattern.MatchString(repo.val) {
			return analysisErrorf(repo.pos, "Incorrect repository name '%s'", clip(repo.val))
		}
		if broker != nil {
			return analysisErrorf(broker.pos, "Brokers are not supported: srbackup reads and writes S3 directly, write WITH BROKER ON LOCATION 's3://bucket/prefix'")
		}
		if !validLocation(loc.val) {
			return analysisErrorf(loc.pos, "Invalid repository location '%s': srbackup supports s3://bucket[/prefix]", clip(loc.val))
		}
		for _, pr := range propertyMap(props) {
			if credentialKey.MatchString(pr.key) {
				return analysisErrorf(pr.keyPos, "Repository property '%s' holds a credential: srbackup refuses plaintext credentials and uses its IAM role (optionally %s)", clip(pr.key), "aws.s3.iam_role_arn")
			}
			if pr.key == PropSnapshotTTL {
				t, detail := parseTTL(PropSnapshotTTL, pr.val)
				if detail != "" {
					return analysisErrorf(pr.valPos, "%s", detail)
				}
				pr.val = t.String()
			}
			if s.Properties == nil {
				s.Properties = make(map[string]string)
			}
			s.Properties[pr.key] = pr.val
		}
		return nil
	}
}

// validLocation accepts s3://bucket[/prefix] (or s3a://, as StarRocks users
// write it): a valid bucket name and a prefix free of control characters
// and of empty or relative ("." and "..") path segments.
func validLocation(loc string) bool {
	var rest string
	switch {
	case strings.HasPrefix(loc, "s3://"):
		rest = loc[len("s3://"):]
	case strings.HasPrefix(loc, "s3a://"):
		rest = loc[len("s3a://"):]
	default:
		return false
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !bucketPattern.MatchString(bucket) {
		return false
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true
	}
	if strings.IndexFunc(prefix, unicode.IsControl) >= 0 {
		return false
	}
	for _, seg := range strings.Split(prefix, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// parseDropRepository parses DROP REPOSITORY name; DROP is consumed.
func (p *parser) parseDropRepository(start Pos) (Statement, check) {
	p.expectKw("REPOSITORY")
	repo := p.ident()
	return &DropRepositoryStmt{Start: start, Name: repo.val}, func() *Error {
		if repo.val == "" {
			return analysisErrorf(repo.pos, "Repository is empty")
		}
		return nil
	}
}
