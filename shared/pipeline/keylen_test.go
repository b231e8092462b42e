package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/source"
)

// TestKeyLengthsCheckedAtPlanning: a plan whose data files would get keys
// over S3's 1,024 bytes is refused when it is made (issue 12 §2), not by
// an upload hours later.
func TestKeyLengthsCheckedAtPlanning(t *testing.T) {
	spec := job.Spec{JobID: "01a23115-d9b2-7eb5-85d2-74d6344b977d", Database: "shop", Label: "nightly"}
	plan := func(table string) *Plan {
		return &Plan{Shards: []PlanShard{{N: 0, Shard: source.Shard{Database: "shop", Table: table, Partition: table}}}}
	}
	for _, c := range []struct {
		prefix, table string
		ok            bool
	}{
		{"backups", "customers", true},
		{"backups", strings.Repeat("t", 64), true},
		// MariaDB names are short, but escaping and a long prefix add up.
		{strings.Repeat("p", 700), strings.Repeat("%", 64), false},
		{strings.Repeat("p", 900), "customers", false},
	} {
		repo, err := repository.New(nil, "repo", repository.Location{Bucket: "bucket", Prefix: c.prefix})
		if err != nil {
			t.Fatal(err)
		}
		err = checkKeyLengths(repo, spec, planFile(spec.JobID), plan(c.table))
		var ae *job.AnalysisError
		if c.ok != (err == nil) || (err != nil && (!errors.As(err, &ae) || !strings.Contains(err.Error(), "over S3's 1024"))) {
			t.Errorf("prefix %d bytes, table %d bytes: %v", len(c.prefix), len(c.table), err)
		}
	}
}
