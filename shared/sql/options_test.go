package sql_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/sql"
)

func parseBackup(t *testing.T, text string, opts sql.Options) *sql.BackupStmt {
	t.Helper()
	stmts, err := sql.ParseWithOptions(text, opts)
	if err != nil {
		t.Fatalf("ParseWithOptions(%q): %v", text, err)
	}
	return stmts[0].(*sql.BackupStmt)
}

func TestBackupOptionsDefaults(t *testing.T) {
	s := parseBackup(t, "BACKUP SNAPSHOT db.l TO r", sql.Options{})
	got, err := s.Options()
	if err != nil {
		t.Fatal(err)
	}
	want := sql.BackupOptions{Type: "FULL", Timeout: 86400 * time.Second, Compression: "zstd", ShardSize: 268435456, Parallelism: 4, Consistency: "snapshot"}
	if got != want {
		t.Errorf("Options() = %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(s.Properties, map[string]string{"type": "FULL", "timeout": "86400"}) {
		t.Errorf("Properties = %v", s.Properties)
	}
}

func TestBackupOptionsTyped(t *testing.T) {
	s := parseBackup(t, `BACKUP SNAPSHOT db.l TO r PROPERTIES ("type"="full", "timeout"="3600", "compression"="Snappy",
		"shard_size"="64 MiB", "parallelism"="16", "label_suffix"="time", "consistency"="Shard", "ttl"="3 days")`, sql.Options{})
	got, err := s.Options()
	if err != nil {
		t.Fatal(err)
	}
	want := sql.BackupOptions{Type: "FULL", Timeout: time.Hour, Compression: "snappy", ShardSize: 64 << 20, Parallelism: 16, LabelSuffix: "time", Consistency: "shard", TTL: sql.TTL{N: 3, Unit: "DAY"}}
	if got != want {
		t.Errorf("Options() = %+v, want %+v", got, want)
	}
	at := time.Date(2024, 3, 9, 17, 4, 5, 0, time.FixedZone("CET", 3600))
	if l := got.SnapshotLabel(s.Snapshot, at); l != "l_20240309160405" {
		t.Errorf("SnapshotLabel = %q", l)
	}
	if l := (sql.BackupOptions{}).SnapshotLabel("l", at); l != "l" {
		t.Errorf("SnapshotLabel without suffix = %q", l)
	}
}

func TestBackupOptionsRejectsHandBuiltValues(t *testing.T) {
	for _, props := range []map[string]string{
		{"timeout": "soon"},
		{"type": "INCREMENTAL"},
		{"compression": "lz4"},
		{"shard_size": "0"},
		{"parallelism": "0"},
		{"label_suffix": "date"},
		{"consistency": "global"},
		{"other": "x"},
	} {
		s := &sql.BackupStmt{Database: "db", Snapshot: "l", Repository: "r", Properties: props}
		if _, err := s.Options(); err == nil {
			t.Errorf("Options() with %v: no error", props)
		}
	}
}

func TestMinTimeoutOption(t *testing.T) {
	opts := sql.Options{MinTimeout: time.Minute}
	s := parseBackup(t, `BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = "60")`, opts)
	if o, _ := s.Options(); o.Timeout != time.Minute {
		t.Errorf("timeout %v, want 1m", o.Timeout)
	}
	_, err := sql.ParseWithOptions(`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = "59")`, opts)
	if err == nil || err.(*sql.Error).Detail != "timeout must be at least 1 min" {
		t.Errorf("got %v", err)
	}
	_, err = sql.ParseWithOptions(`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = "4")`, sql.Options{MinTimeout: 5 * time.Second})
	if err == nil || err.(*sql.Error).Detail != "timeout must be at least 5 s" {
		t.Errorf("got %v", err)
	}
	// The same minimum applies to RESTORE.
	if _, err := sql.ParseWithOptions(`RESTORE SNAPSHOT db.l FROM r PROPERTIES ("backup_timestamp"="t", "timeout" = "60")`, opts); err != nil {
		t.Errorf("RESTORE: %v", err)
	}
}

func TestMinShardSizeOption(t *testing.T) {
	s := parseBackup(t, `BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = "4KB")`, sql.Options{MinShardSize: 1024})
	if o, _ := s.Options(); o.ShardSize != 4096 {
		t.Errorf("shard size %d, want 4096", o.ShardSize)
	}
	_, err := sql.ParseWithOptions(`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = "1000")`, sql.Options{MinShardSize: 1024})
	if err == nil || err.(*sql.Error).Detail != "shard_size must be between 1KB and 16GB" {
		t.Errorf("got %v", err)
	}
}

func TestDefaultDatabaseOption(t *testing.T) {
	opts := sql.Options{DefaultDatabase: "sess"}
	if s := parseBackup(t, "BACKUP SNAPSHOT l TO r", opts); s.Database != "sess" {
		t.Errorf("BACKUP database %q, want sess", s.Database)
	}
	if s := parseBackup(t, "BACKUP SNAPSHOT db.l TO r", opts); s.Database != "db" {
		t.Errorf("BACKUP database %q, want db", s.Database)
	}
	if s := parseBackup(t, "BACKUP ALL EXTERNAL CATALOGS SNAPSHOT l TO r", opts); s.Database != "" {
		t.Errorf("external BACKUP database %q, want none", s.Database)
	}
	// USE wins over the default; the default never reaches CANCEL BACKUP,
	// SHOW BACKUP or RESTORE.
	stmts, err := sql.ParseWithOptions("USE u; BACKUP SNAPSHOT l TO r; SHOW BACKUP; RESTORE SNAPSHOT l FROM r PROPERTIES ('backup_timestamp' = 't')", opts)
	if err != nil {
		t.Fatal(err)
	}
	if b := stmts[1].(*sql.BackupStmt); b.Database != "u" {
		t.Errorf("BACKUP after USE: database %q, want u", b.Database)
	}
	if s := stmts[2].(*sql.ShowBackupStmt); s.Database != "" {
		t.Errorf("SHOW BACKUP database %q, want every database", s.Database)
	}
	if r := stmts[3].(*sql.RestoreStmt); r.Database != "" {
		t.Errorf("RESTORE database %q, want the snapshot's", r.Database)
	}
	if _, err := sql.ParseWithOptions("CANCEL BACKUP", opts); err == nil || err.(*sql.Error).Detail != "No selected database for cancel BACKUP/RESTORE" {
		t.Errorf("bare CANCEL BACKUP with a default database: %v", err)
	}
}

func TestTTLAfter(t *testing.T) {
	from := time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"90 SECONDS", from.Add(90 * time.Second)},
		{"5 minute", from.Add(5 * time.Minute)},
		{"36 HOUR", from.Add(36 * time.Hour)},
		{"7 DAY", from.AddDate(0, 0, 7)},
		{"2 WEEK", from.AddDate(0, 0, 14)},
		{"1 MONTH", time.Date(2024, 3, 2, 12, 0, 0, 0, time.UTC)}, // AddDate normalises Feb 31
		{"1 YEAR", from.AddDate(1, 0, 0)},
	} {
		ttl, err := sql.ParseTTL("ttl", c.in)
		if err != nil {
			t.Fatalf("ParseTTL(%q): %v", c.in, err)
		}
		if got := ttl.After(from); !got.Equal(c.want) {
			t.Errorf("%s after %v = %v, want %v", c.in, from, got, c.want)
		}
	}
	if _, err := sql.ParseTTL("ttl", ""); err == nil {
		t.Error("an empty TTL parsed")
	}
}
