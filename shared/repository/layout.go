package repository

import (
	"fmt"
	"strings"
)

// The repository layout (DESIGN.md §4):
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
// __ss_content/<db>/<table>/<partition>/<shard>.parquet, names escaped. An
// unpartitioned table's partition is named after the table.
func ContentPath(db, table, partition string, shard int) (string, error) {
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
	return strings.Join(segs, "/") + fmt.Sprintf("/%06d.parquet", shard), nil
}

// ParseContentPath reverses ContentPath.
func ParseContentPath(rel string) (db, table, partition string, shard int, err error) {
	segs := strings.Split(rel, "/")
	if len(segs) != 5 || segs[0] != ContentDir {
		return "", "", "", 0, fmt.Errorf("%q is not a data file path", rel)
	}
	names := make([]string, 3)
	for i, seg := range segs[1:4] {
		if names[i], err = Unescape(seg); err != nil {
			return "", "", "", 0, fmt.Errorf("data file path %q: %w", rel, err)
		}
	}
	if _, err := fmt.Sscanf(segs[4], "%06d.parquet", &shard); err != nil || fmt.Sprintf("%06d.parquet", shard) != segs[4] {
		return "", "", "", 0, fmt.Errorf("data file path %q: bad file name", rel)
	}
	return names[0], names[1], names[2], shard, nil
}
