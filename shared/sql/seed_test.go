package sql_test

import (
	"reflect"
	"testing"

	"github.com/srbackup/srbackup/shared/sql"
)

// defaults is what Properties holds for a BACKUP that sets none.
func defaults() map[string]string { return map[string]string{"type": "FULL", "timeout": "86400"} }

func backup(db, label, repo string, objs ...sql.BackupObject) *sql.BackupStmt {
	return &sql.BackupStmt{Database: db, Snapshot: label, Repository: repo, Objects: objs, Properties: defaults()}
}

func table(name string, partitions ...string) sql.BackupObject {
	return sql.BackupObject{Type: sql.ObjectTable, Name: name, Partitions: partitions}
}

func object(t sql.ObjectType, name string) sql.BackupObject {
	return sql.BackupObject{Type: t, Name: name}
}

// withoutPos returns a copy of s with its Start position zeroed, so that
// statements parsed from different texts compare equal.
func withoutPos(s sql.Statement) sql.Statement {
	v := reflect.New(reflect.TypeOf(s).Elem())
	v.Elem().Set(reflect.ValueOf(s).Elem())
	v.Elem().FieldByName("Start").Set(reflect.ValueOf(sql.Pos{}))
	return v.Interface().(sql.Statement)
}

// TestSeedExamples parses every example of seed/BACKUP.zh.md, verbatim
// (comments included), and checks every field of the result. The privilege
// examples' placeholders (<table_name>, <database_name>) are filled in.
func TestSeedExamples(t *testing.T) {
	grant := func(priv string, obj *sql.PrivilegeObject, role string) *sql.GrantStmt {
		return &sql.GrantStmt{Grant: sql.Grant{Privileges: []string{priv}, Object: obj, Grantee: sql.Grantee{Type: "ROLE", Name: role}}}
	}
	system := &sql.PrivilegeObject{Type: sql.OnSystem}
	cases := []struct {
		in   string
		want []sql.Statement
	}{
		{"GRANT REPOSITORY ON SYSTEM TO ROLE backup_tbl;\nGRANT EXPORT ON TABLE sr_member TO ROLE backup_tbl;", []sql.Statement{
			grant("REPOSITORY", system, "backup_tbl"),
			grant("EXPORT", &sql.PrivilegeObject{Type: sql.OnTable, Table: "sr_member"}, "backup_tbl"),
		}},
		{"GRANT REPOSITORY ON SYSTEM TO ROLE backup_db;\nGRANT EXPORT ON ALL TABLES IN DATABASE sr_hub TO ROLE backup_db;", []sql.Statement{
			grant("REPOSITORY", system, "backup_db"),
			grant("EXPORT", &sql.PrivilegeObject{Type: sql.OnAllTablesInDatabase, Database: "sr_hub"}, "backup_db"),
		}},
		{"GRANT REPOSITORY ON SYSTEM TO ROLE backup;\nGRANT EXPORT ON ALL TABLES IN ALL DATABASES TO ROLE backup;", []sql.Statement{
			grant("REPOSITORY", system, "backup"),
			grant("EXPORT", &sql.PrivilegeObject{Type: sql.OnAllTablesInAllDatabases}, "backup"),
		}},
		{"BACKUP SNAPSHOT example_db.snapshot_label1\nTO example_repo\nPROPERTIES (\"type\" = \"full\");", []sql.Statement{
			backup("example_db", "snapshot_label1", "example_repo"),
		}},
		{"BACKUP SNAPSHOT example_db.snapshot_label2\nTO example_repo\nON (example_tbl);", []sql.Statement{
			backup("example_db", "snapshot_label2", "example_repo", table("example_tbl")),
		}},
		{"BACKUP SNAPSHOT example_db.snapshot_label3\nTO example_repo\nON(\n    example_tbl PARTITION (p1, p2),\n    example_tbl2\n);", []sql.Statement{
			backup("example_db", "snapshot_label3", "example_repo", table("example_tbl", "p1", "p2"), table("example_tbl2")),
		}},
		{"BACKUP DATABASE sr_hub SNAPSHOT sr_hub_backup TO test_repo;", []sql.Statement{
			backup("sr_hub", "sr_hub_backup", "test_repo"),
		}},
		{"-- 备份一张表。\nBACKUP DATABASE sr_hub SNAPSHOT sr_member_backup\nTO test_repo\nON (TABLE sr_member);\n\n" +
			"-- 备份多张表。\nBACKUP DATABASE sr_hub SNAPSHOT sr_core_backup\nTO test_repo\nON (TABLE sr_member, TABLE sr_pmc);\n\n" +
			"-- 备份所有表。\nBACKUP DATABASE sr_hub SNAPSHOT sr_all_backup\nTO test_repo\nON (ALL TABLES);", []sql.Statement{
			backup("sr_hub", "sr_member_backup", "test_repo", table("sr_member")),
			backup("sr_hub", "sr_core_backup", "test_repo", table("sr_member"), table("sr_pmc")),
			backup("sr_hub", "sr_all_backup", "test_repo", object(sql.ObjectAllTables, "")),
		}},
		{"-- 备份一个分区。\nBACKUP DATABASE sr_hub SNAPSHOT sr_par_backup\nTO test_repo\nON (TABLE sr_member PARTITION (p1));\n\n" +
			"-- 备份多个分区。\nBACKUP DATABASE sr_hub SNAPSHOT sr_par_backup\nTO test_repo\nON (TABLE sr_member PARTITION (p1,p2,p3));", []sql.Statement{
			backup("sr_hub", "sr_par_backup", "test_repo", table("sr_member", "p1")),
			backup("sr_hub", "sr_par_backup", "test_repo", table("sr_member", "p1", "p2", "p3")),
		}},
		{"-- 备份一张物化视图。\nBACKUP DATABASE sr_hub SNAPSHOT sr_mv1_backup\nTO test_repo\nON (MATERIALIZED VIEW sr_mv1);\n\n" +
			"-- 备份多张物化视图。\nBACKUP DATABASE sr_hub SNAPSHOT sr_mv2_backup\nTO test_repo\nON (MATERIALIZED VIEW sr_mv1, MATERIALIZED VIEW sr_mv2);\n\n" +
			"-- 备份所有物化视图。\nBACKUP DATABASE sr_hub SNAPSHOT sr_mv3_backup\nTO test_repo\nON (ALL MATERIALIZED VIEWS);", []sql.Statement{
			backup("sr_hub", "sr_mv1_backup", "test_repo", object(sql.ObjectMaterializedView, "sr_mv1")),
			backup("sr_hub", "sr_mv2_backup", "test_repo", object(sql.ObjectMaterializedView, "sr_mv1"), object(sql.ObjectMaterializedView, "sr_mv2")),
			backup("sr_hub", "sr_mv3_backup", "test_repo", object(sql.ObjectAllMaterializedViews, "")),
		}},
		{"-- 备份一张逻辑视图。\nBACKUP DATABASE sr_hub SNAPSHOT sr_view1_backup\nTO test_repo\nON (VIEW sr_view1);\n\n" +
			"-- 备份多张逻辑视图。\nBACKUP DATABASE sr_hub SNAPSHOT sr_view2_backup\nTO test_repo\nON (VIEW sr_view1, VIEW sr_view2);\n\n" +
			"-- 备份所有逻辑视图。\nBACKUP DATABASE sr_hub SNAPSHOT sr_view3_backup\nTO test_repo\nON (ALL VIEWS);", []sql.Statement{
			backup("sr_hub", "sr_view1_backup", "test_repo", object(sql.ObjectView, "sr_view1")),
			backup("sr_hub", "sr_view2_backup", "test_repo", object(sql.ObjectView, "sr_view1"), object(sql.ObjectView, "sr_view2")),
			backup("sr_hub", "sr_view3_backup", "test_repo", object(sql.ObjectAllViews, "")),
		}},
		{"-- 备份一个 UDF。\nBACKUP DATABASE sr_hub SNAPSHOT sr_udf1_backup\nTO test_repo\nON (FUNCTION sr_udf1);\n\n" +
			"-- 备份多个 UDF。\nBACKUP DATABASE sr_hub SNAPSHOT sr_udf2_backup\nTO test_repo\nON (FUNCTION sr_udf1, FUNCTION sr_udf2);\n\n" +
			"-- 备份所有 UDF。\nBACKUP DATABASE sr_hub SNAPSHOT sr_udf3_backup\nTO test_repo\nON (ALL FUNCTIONS);", []sql.Statement{
			backup("sr_hub", "sr_udf1_backup", "test_repo", object(sql.ObjectFunction, "sr_udf1")),
			backup("sr_hub", "sr_udf2_backup", "test_repo", object(sql.ObjectFunction, "sr_udf1"), object(sql.ObjectFunction, "sr_udf2")),
			backup("sr_hub", "sr_udf3_backup", "test_repo", object(sql.ObjectAllFunctions, "")),
		}},
	}
	for _, c := range cases {
		got, err := sql.Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("Parse(%q) gave %d statements, want %d", c.in, len(got), len(c.want))
			continue
		}
		for i := range got {
			if g := withoutPos(got[i]); !reflect.DeepEqual(g, c.want[i]) {
				t.Errorf("Parse(%q) statement %d\n got: %#v\nwant: %#v", c.in, i, g, c.want[i])
			}
		}
	}
}

func TestPositions(t *testing.T) {
	stmts, err := sql.Parse("-- 备份\nSHOW BACKUP;  /* x */ SHOW REPOSITORIES;\n\n  BACKUP SNAPSHOT db.l TO r")
	if err != nil {
		t.Fatal(err)
	}
	want := []sql.Pos{{Line: 2, Column: 1}, {Line: 2, Column: 23}, {Line: 4, Column: 3}}
	for i, s := range stmts {
		if s.Pos() != want[i] {
			t.Errorf("statement %d at %+v, want %+v", i, s.Pos(), want[i])
		}
	}
}
