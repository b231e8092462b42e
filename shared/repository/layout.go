package repository

import (
	"fmt"
	"path"
	"strings"
)

// The repository layout (README, "The S3 repository"):
//
//	<prefix>/__srbackup_repository_<repo>/
//	  __repo_info
//	  __ss_<label>/
//	    __meta
//	    __info_<yyyy-MM-dd-HH-mm-ss-SSS>
//	    __ss_content/<db>/<table>/<partition>/<shard>.parquet
//
// Every name is escaped with Escape.
const (
	rootPrefix   = "__srbackup_repository_"
	repoInfoName = "__repo_info"
	snapPrefix   = "__ss_"
	metaName     = "__meta"
	infoPrefix   = "__info_"
	// ContentDir holds a snapshot's data files.
	ContentDir = "__ss_content"
)

// maxKeyLen is S3's limit on key length, in bytes.
const maxKeyLen = 1024

// rootKey is the key prefix of a repository, ending with '/'.
func rootKey(loc Location, repo string) (string, error) {
	name, err := Escape(repo)
	if err != nil {
		return "", fmt.Errorf("repository name: %w", err)
	}
	root := rootPrefix + name + "/"
	if loc.Prefix != "" {
		root = loc.Prefix + "/" + root
	}
	return root, nil
}

// ContentPath is the key of a data file relative to its snapshot directory:
// __ss_content/<db>/<table>/<partition>/<shard>-<job id>.parquet, names
// escaped. An unpartitioned table's partition is named after the table.
//
// The job id in the file name scopes every file to the job that wrote it:
// srbackup frees a cancelled job's label, so a new job may write into the
// same snapshot directory while the old job's cleanup (or a late write of
// an upload that was still running) is under way; each only ever touches
// its own files.
func ContentPath(db, table, partition string, shard int, jobID string) (string, error) {
	if shard < 0 {
		return "", fmt.Errorf("negative shard number %d", shard)
	}
	segs := []string{ContentDir}
	for _, n := range []struct{ what, name string }{{"database", db}, {"table", table}, {"partition", partition}} {
		seg, err := Escape(n.name)
		if err != nil {
			return "", fmt.Errorf("%s name: %w", n.what, err)
		}
		segs = append(segs, seg)
	}
	job, err := Escape(jobID)
	if err != nil {
		return "", fmt.Errorf("job id: %w", err)
	}
	return strings.Join(segs, "/") + fmt.Sprintf("/%06d-%s.parquet", shard, job), nil
}

// PieceContentPath is ContentPath of piece k of a shard that its reader
// split: piece 0 is the shard's own file, piece k > 0 is
// <shard>.<piece>-<job id>.parquet beside it.
func PieceContentPath(db, table, partition string, shard, piece int, jobID string) (string, error) {
	rel, err := ContentPath(db, table, partition, shard, jobID)
	if err != nil || piece == 0 {
		return rel, err
	}
	if piece < 0 || piece > 9999 {
		return "", fmt.Errorf("piece number %d out of range", piece)
	}
	dir, file := path.Split(rel)
	return dir + file[:6] + fmt.Sprintf(".%04d", piece) + file[6:], nil
}

// IsJobFile reports whether rel (a ContentPath) is a data file of job jobID.
func IsJobFile(rel, jobID string) bool {
	_, _, _, _, id, err := ParseContentPath(rel)
	return err == nil && id == jobID
}

// ParseContentPath reverses ContentPath.
func ParseContentPath(rel string) (db, table, partition string, shard int, jobID string, err error) {
	segs := strings.Split(rel, "/")
	if len(segs) != 5 || segs[0] != ContentDir {
		return "", "", "", 0, "", fmt.Errorf("%q is not a data file path", rel)
	}
	names := make([]string, 3)
	for i, seg := range segs[1:4] {
		if names[i], err = Unescape(seg); err != nil {
			return "", "", "", 0, "", fmt.Errorf("data file path %q: %w", rel, err)
		}
	}
	file, ok := strings.CutSuffix(segs[4], ".parquet")
	num, job, ok2 := strings.Cut(file, "-")
	if n, piece, split := strings.Cut(num, "."); split {
		if len(piece) != 4 || strings.Trim(piece, "0123456789") != "" {
			return "", "", "", 0, "", fmt.Errorf("data file path %q: bad piece number", rel)
		}
		num = n
	}
	if !ok || !ok2 || len(num) != 6 {
		return "", "", "", 0, "", fmt.Errorf("data file path %q: bad file name", rel)
	}
	if _, err := fmt.Sscanf(num, "%06d", &shard); err != nil || fmt.Sprintf("%06d", shard) != num {
		return "", "", "", 0, "", fmt.Errorf("data file path %q: bad shard number", rel)
	}
	if jobID, err = Unescape(job); err != nil || jobID == "" {
		return "", "", "", 0, "", fmt.Errorf("data file path %q: bad job id", rel)
	}
	return names[0], names[1], names[2], shard, jobID, nil
}
