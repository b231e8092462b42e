package repository

import (
	"strings"
	"testing"
	"time"
)

func TestTimestamps(t *testing.T) {
	tm := time.Date(2025, 12, 31, 23, 59, 58, 7_900_000, time.FixedZone("X", 8*3600))
	ts := FormatTimestamp(tm)
	if ts != "2025-12-31-15-59-58-007" {
		t.Fatalf("FormatTimestamp = %q", ts)
	}
	back, err := ParseTimestamp(ts)
	if err != nil || !back.Equal(tm.Truncate(time.Millisecond)) {
		t.Fatalf("ParseTimestamp(%q) = %v %v", ts, back, err)
	}
	for _, bad := range []string{"", "2025-12-31-15-59-58", "2025-12-31-15-59-58-7", "2025-12-31-15-59-58-+07", "2025-13-31-15-59-58-007", "x"} {
		if _, err := ParseTimestamp(bad); err == nil {
			t.Errorf("ParseTimestamp(%q) succeeded", bad)
		}
	}
	i := Info{BackupTime: tm.UnixMilli()}
	if i.Timestamp() != ts {
		t.Errorf("Info.Timestamp() = %q", i.Timestamp())
	}
}

func TestInfoValidate(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	good := Info{
		FormatVersion: FormatVersion, Name: "s", Database: "d", JobID: "j", BackupTime: 1,
		Meta: FileRef{Key: "__meta", Bytes: 10, SHA256: sum},
		Objects: []ObjectData{{Kind: KindTable, Name: "t", Partitions: []PartitionData{{Name: "p", Files: []DataFile{
			{FileRef: FileRef{Key: "__ss_content/d/t/p/000000.parquet", Bytes: 1, SHA256: sum}},
		}}}}},
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Info){
		"version":     func(i *Info) { i.FormatVersion = 2 },
		"no job":      func(i *Info) { i.JobID = "" },
		"meta sha":    func(i *Info) { i.Meta.SHA256 = strings.ToUpper(sum) },
		"escape":      func(i *Info) { i.Objects[0].Partitions[0].Files[0].Key = "__ss_content/../../x" },
		"outside":     func(i *Info) { i.Objects[0].Partitions[0].Files[0].Key = "elsewhere/x.parquet" },
		"absolute":    func(i *Info) { i.Meta.Key = "/__meta" },
		"negative":    func(i *Info) { i.Objects[0].Partitions[0].Files[0].Bytes = -1 },
		"short sha":   func(i *Info) { i.Objects[0].Partitions[0].Files[0].SHA256 = "ab" },
		"dot segment": func(i *Info) { i.Objects[0].Partitions[0].Files[0].Key = "__ss_content/./x" },
	} {
		bad := good
		bad.Objects = []ObjectData{{Kind: KindTable, Name: "t", Partitions: []PartitionData{{Name: "p",
			Files: append([]DataFile(nil), good.Objects[0].Partitions[0].Files...)}}}}
		mutate(&bad)
		if err := bad.Validate(); err == nil {
			t.Errorf("%s: invalid info accepted", name)
		}
	}
}

func TestContentPath(t *testing.T) {
	if _, err := ContentPath("", "t", "p", 0, "j1"); err == nil {
		t.Error("empty database accepted")
	}
	if _, err := ContentPath("d", "t", "p", -1, "j1"); err == nil {
		t.Error("negative shard accepted")
	}
	if _, err := ContentPath("d", "t", "p", 0, ""); err == nil {
		t.Error("empty job id accepted")
	}
	rel, err := ContentPath("d", "t", "p", 3, "0193-ab")
	if err != nil || rel != "__ss_content/d/t/p/000003-0193-ab.parquet" || !IsJobFile(rel, "0193-ab") || IsJobFile(rel, "0193") {
		t.Errorf("ContentPath = %q, %v", rel, err)
	}
	for _, bad := range []string{"x", "__ss_content/d/t/p", "__ss_content/d/t/p/1.parquet", "__ss_content/d/t/p/000001.csv",
		"other/d/t/p/000001-j.parquet", "__ss_content/d%2f/t/p/000001-j.parquet", "__ss_content/d/t/p/000001.parquet",
		"__ss_content/d/t/p/000001-.parquet", "__ss_content/d/t/p/1-j.parquet"} {
		if _, _, _, _, _, err := ParseContentPath(bad); err == nil {
			t.Errorf("ParseContentPath(%q) succeeded", bad)
		}
	}
}
