package sql_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/srbackup/srbackup/shared/sql"
)

// D is the PROPERTIES clause every BACKUP prints by default.
const D = " PROPERTIES ('type' = 'FULL', 'timeout' = '86400')"

// RT is the PROPERTIES clause of the RESTORE cases: timeout defaulted.
const RT = " PROPERTIES ('timeout' = '86400', 'backup_timestamp' = '2024-01-02-03-04-05-678')"

// rts is what the RESTORE cases write.
const rts = ` PROPERTIES ("backup_timestamp" = "2024-01-02-03-04-05-678")`

// validCase is a statement text and the canonical SQL of what it parses to,
// statements separated by ";\n".
type validCase struct {
	in   string
	want string
}

var validCases = []validCase{
	// BACKUP, pre-3.4 syntax.
	{"BACKUP SNAPSHOT db.l TO r", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r`" + D},
	{"backup snapshot db.l to r;", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r`" + D},
	{"BaCkUp SnApShOt Db.L tO R", "BACKUP DATABASE `Db` SNAPSHOT `L` TO `R`" + D},
	{"BACKUP SNAPSHOT db . l TO r", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r`" + D},
	{"BACKUP SNAPSHOT db.l TO r ON (t)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t`)" + D},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION (p1, p2), t2)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`p1`, `p2`), TABLE `t2`)" + D},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITIONS (p1))", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`p1`))" + D},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION p1)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`p1`))" + D},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION p1, p2)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`p1`, `p2`))" + D},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION p1, TABLE t2)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`p1`), TABLE `t2`)" + D},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION p1, VIEW v)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`p1`), VIEW `v`)" + D},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION p1, t2 PARTITION p2)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`p1`), TABLE `t2` PARTITION (`p2`))" + D},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION ('p 1', \"p2\"))", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`p 1`, `p2`))" + D},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION 'p1', 'p2')", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`p1`, `p2`))" + D},
	{`BACKUP SNAPSHOT db.l TO r ON (t PARTITION ('it''s', "say ""hi""", 'back\\slash', 'a\'b', "tab\t", '\%'))`,
		"BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`it's`, `say \"hi\"`, `back\\slash`, `a'b`, `tab\t`, `\\%`))" + D},

	// BACKUP, 3.4+ syntax.
	{"BACKUP DATABASE db SNAPSHOT l TO r", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r`" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (TABLE t)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (TABLES t)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (TABLES a, b)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `a`, TABLE `b`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (TABLE t PARTITION (p1,p2,p3))", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`p1`, `p2`, `p3`))" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (ALL TABLES, ALL VIEWS, ALL MATERIALIZED VIEWS, ALL FUNCTIONS)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (ALL TABLES, ALL VIEWS, ALL MATERIALIZED VIEWS, ALL FUNCTIONS)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (ALL TABLE, ALL VIEW, ALL MATERIALIZED VIEW, ALL FUNCTION)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (ALL TABLES, ALL VIEWS, ALL MATERIALIZED VIEWS, ALL FUNCTIONS)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (VIEW v1, VIEWS v2)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (VIEW `v1`, VIEW `v2`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (MATERIALIZED VIEW m1, MATERIALIZED VIEWS m2)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (MATERIALIZED VIEW `m1`, MATERIALIZED VIEW `m2`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (FUNCTION f1, FUNCTIONS f2)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (FUNCTION `f1`, FUNCTION `f2`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (ALL TABLES, TABLE t, VIEW v)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (ALL TABLES, TABLE `t`, VIEW `v`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (TABLE other.t)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (TABLE cat.other.t)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (FUNCTION other.f, VIEW other.v)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (FUNCTION `f`, VIEW `v`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (TABLE T, TABLE t)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `T`, TABLE `t`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (TABLE t, FUNCTION t)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t`, FUNCTION `t`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (t PARTITION (P1, p1))", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `t` PARTITION (`P1`, `p1`))" + D},

	// Non-reserved keywords as names; reserved ones backquoted.
	{"BACKUP DATABASE backup SNAPSHOT snapshot TO repository", "BACKUP DATABASE `backup` SNAPSHOT `snapshot` TO `repository`" + D},
	{"BACKUP DATABASE tables SNAPSHOT views TO functions ON (TABLE restore, TABLE timestamp, TABLE location, TABLE broker, TABLE catalog, TABLE snapshots, TABLE repositories)",
		"BACKUP DATABASE `tables` SNAPSHOT `views` TO `functions` ON (TABLE `restore`, TABLE `timestamp`, TABLE `location`, TABLE `broker`, TABLE `catalog`, TABLE `snapshots`, TABLE `repositories`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (views)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `views`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (tables, functions, materialized, view)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `tables`, TABLE `functions`, TABLE `materialized`, TABLE `view`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (view PARTITION (p))", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `view` PARTITION (`p`))" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (VIEW view, TABLE tables)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (VIEW `view`, TABLE `tables`)" + D},
	{"BACKUP DATABASE `database` SNAPSHOT `to` TO `on` ON (TABLE `table`, `from`)", "BACKUP DATABASE `database` SNAPSHOT `to` TO `on` ON (TABLE `table`, TABLE `from`)" + D},
	{"BACKUP DATABASE db SNAPSHOT l TO r ON (TABLE `a``b`, `c d`)", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` ON (TABLE `a``b`, TABLE `c d`)" + D},
	{"BACKUP DATABASE 数据库 SNAPSHOT l TO r ON (TABLE 表一)", "BACKUP DATABASE `数据库` SNAPSHOT `l` TO `r` ON (TABLE `表一`)" + D},
	{"BACKUP DATABASE db$1 SNAPSHOT _l TO r_2", "BACKUP DATABASE `db$1` SNAPSHOT `_l` TO `r_2`" + D},

	// Snapshot names.
	{"BACKUP SNAPSHOT db.2snap TO r", "BACKUP DATABASE `db` SNAPSHOT `2snap` TO `r`" + D},
	{"BACKUP SNAPSHOT db.`2024-01-01.full` TO r", "BACKUP DATABASE `db` SNAPSHOT `2024-01-01.full` TO `r`" + D},
	{"BACKUP DATABASE db SNAPSHOT `my-label.v1` TO r", "BACKUP DATABASE `db` SNAPSHOT `my-label.v1` TO `r`" + D},
	{"BACKUP DATABASE db SNAPSHOT " + strings.Repeat("a", 128) + " TO r", "BACKUP DATABASE `db` SNAPSHOT `" + strings.Repeat("a", 128) + "` TO `r`" + D},
	{"BACKUP DATABASE db SNAPSHOT " + strings.Repeat("a", 113) + " TO r PROPERTIES ('label_suffix' = 'time')",
		"BACKUP DATABASE `db` SNAPSHOT `" + strings.Repeat("a", 113) + "` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'label_suffix' = 'time')"},

	// Properties.
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("type" = "full")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r`" + D},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ('type'='Full', 'timeout'='0600')`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '600')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = "3600")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '3600')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = "31536000")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '31536000')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = "+700")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '700')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = "700", "timeout" = "800")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '800')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES (" timeout " = "900")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '900')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("compression" = "SNAPPY")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'compression' = 'snappy')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("compression" = "none")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'compression' = 'none')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("compression" = "zstd")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'compression' = 'zstd')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = "256MB")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'shard_size' = '268435456')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = "1 GiB")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'shard_size' = '1073741824')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = "1048576")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'shard_size' = '1048576')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = "1024k")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'shard_size' = '1048576')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = "16gb")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'shard_size' = '17179869184')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("consistency" = "SHARD")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'consistency' = 'shard')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("parallelism" = "1")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'parallelism' = '1')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("parallelism" = "1000")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'parallelism' = '1000')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("label_suffix" = "TIME")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'label_suffix' = 'time')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("label_suffix"="time", "parallelism"="8", "shard_size"="64MB", "compression"="snappy", "timeout"="7200", "type"="FULL")`,
		"BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '7200', 'compression' = 'snappy', 'shard_size' = '67108864', 'parallelism' = '8', 'label_suffix' = 'time')"},

	// BACKUP of external catalogs.
	{"BACKUP ALL EXTERNAL CATALOGS SNAPSHOT l TO r", "BACKUP ALL EXTERNAL CATALOGS SNAPSHOT `l` TO `r`" + D},
	{"BACKUP EXTERNAL CATALOG (c1) SNAPSHOT l TO r", "BACKUP EXTERNAL CATALOGS (`c1`) SNAPSHOT `l` TO `r`" + D},
	{"BACKUP EXTERNAL CATALOGS (c1, `c 2`) SNAPSHOT l TO r PROPERTIES ('timeout' = '1200')", "BACKUP EXTERNAL CATALOGS (`c1`, `c 2`) SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '1200')"},

	// Comments, whitespace and statement separators.
	{"/* leading */ BACKUP -- line comment\n SNAPSHOT /* mid ; */ db.l\tTO\r\nr -- trailing", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r`" + D},
	{"/*+ hint */BACKUP SNAPSHOT db.l TO r/**/;", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r`" + D},
	{"BACKUP SNAPSHOT db.l TO r;;;", "BACKUP DATABASE `db` SNAPSHOT `l` TO `r`" + D},
	{";SHOW BACKUP", "SHOW BACKUP"},
	{"SHOW BACKUP--no space needed", "SHOW BACKUP"},
	{"SHOW BACKUP -- ; not a separator\n FROM db", "SHOW BACKUP FROM `db`"},
	{"SHOW BACKUP; SHOW REPOSITORIES;", "SHOW BACKUP;\nSHOW REPOSITORIES"},
	{"SHOW BACKUP FROM `a;b`; SHOW SNAPSHOT ON r WHERE SNAPSHOT = 'x;y'", "SHOW BACKUP FROM `a;b`;\nSHOW SNAPSHOT ON `r` WHERE SNAPSHOT = 'x;y'"},
	{"\uFEFFSHOW\u00a0BACKUP\u3000", "SHOW BACKUP"},
	{"BACKUP SNAPSHOT a.l1 TO r;\nBACKUP SNAPSHOT b.l2 TO r ON (ALL VIEWS)",
		"BACKUP DATABASE `a` SNAPSHOT `l1` TO `r`" + D + ";\nBACKUP DATABASE `b` SNAPSHOT `l2` TO `r` ON (ALL VIEWS)" + D},

	// SHOW BACKUP, CANCEL BACKUP.
	{"SHOW BACKUP", "SHOW BACKUP"},
	{"show backup from db", "SHOW BACKUP FROM `db`"},
	{"SHOW BACKUP IN db", "SHOW BACKUP FROM `db`"},
	{"CANCEL BACKUP FROM db", "CANCEL BACKUP FROM `db`"},
	{"CANCEL BACKUP IN `my db`", "CANCEL BACKUP FROM `my db`"},
	{"cancel backup for external catalog", "CANCEL BACKUP FOR EXTERNAL CATALOG"},

	// SHOW SNAPSHOT.
	{"SHOW SNAPSHOT ON r", "SHOW SNAPSHOT ON `r`"},
	{"SHOW SNAPSHOT ON r WHERE SNAPSHOT = 's'", "SHOW SNAPSHOT ON `r` WHERE SNAPSHOT = 's'"},
	{`show snapshot on r where snapshot = "s" and timestamp = '2018-04-18-19-19-10'`, "SHOW SNAPSHOT ON `r` WHERE SNAPSHOT = 's' AND TIMESTAMP = '2018-04-18-19-19-10'"},
	{"SHOW SNAPSHOT ON r WHERE TIMESTAMP = 't' AND SNAPSHOT = 's'", "SHOW SNAPSHOT ON `r` WHERE SNAPSHOT = 's' AND TIMESTAMP = 't'"},
	{"SHOW SNAPSHOT ON r WHERE SNAPSHOT IN ('a', 'b', 'a')", "SHOW SNAPSHOT ON `r` WHERE SNAPSHOT IN ('a', 'b', 'a')"},
	{"SHOW SNAPSHOT ON r WHERE `snapshot` = 'it''s'", "SHOW SNAPSHOT ON `r` WHERE SNAPSHOT = 'it\\'s'"},

	// Repositories.
	{"CREATE REPOSITORY r WITH BROKER ON LOCATION 's3://bucket/prefix'", "CREATE REPOSITORY `r` WITH BROKER ON LOCATION 's3://bucket/prefix'"},
	{`CREATE READ ONLY REPOSITORY r2 WITH BROKER ON LOCATION "s3a://my.bucket-1/" PROPERTIES ("aws.s3.region" = "us-east-1", "aws.s3.iam_role_arn" = "arn:aws:iam::123456789012:role/x")`,
		"CREATE READ ONLY REPOSITORY `r2` WITH BROKER ON LOCATION 's3a://my.bucket-1/' PROPERTIES ('aws.s3.iam_role_arn' = 'arn:aws:iam::123456789012:role/x', 'aws.s3.region' = 'us-east-1')"},
	{"CREATE REPOSITORY repository WITH BROKER ON LOCATION 's3://b-1/a/b/c'", "CREATE REPOSITORY `repository` WITH BROKER ON LOCATION 's3://b-1/a/b/c'"},
	{"DROP REPOSITORY r", "DROP REPOSITORY `r`"},
	{"drop repository `r`", "DROP REPOSITORY `r`"},
	{"DROP SNAPSHOT s1 ON r", "DROP SNAPSHOT `s1` ON `r`"},
	{"ADMIN VERIFY SNAPSHOT s1 ON r", "ADMIN VERIFY SNAPSHOT `s1` ON `r` PROPERTIES ('deep' = 'false')"},
	{`admin verify snapshot 's1' on r properties ("deep" = "TRUE", "backup_timestamp" = "2026-11-24-03-00-00-000")`, "ADMIN VERIFY SNAPSHOT `s1` ON `r` PROPERTIES ('backup_timestamp' = '2026-11-24-03-00-00-000', 'deep' = 'true')"},
	{"drop snapshot 'nightly_20261124030000' on `r` force", "DROP SNAPSHOT `nightly_20261124030000` ON `r` FORCE"},
	{"DROP SNAPSHOT `2024-01-01.full` ON repository", "DROP SNAPSHOT `2024-01-01.full` ON `repository`"},
	{"DROP SNAPSHOT snapshot ON r; DROP SNAPSHOT s ON r FORCE", "DROP SNAPSHOT `snapshot` ON `r`;\nDROP SNAPSHOT `s` ON `r` FORCE"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = "7 DAY")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'ttl' = '7 DAY')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = "12hours")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'ttl' = '12 HOUR')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = " 1 year ", "timeout" = "600")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '600', 'ttl' = '1 YEAR')"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = "2 Weeks")`, "BACKUP DATABASE `db` SNAPSHOT `l` TO `r` PROPERTIES ('type' = 'FULL', 'timeout' = '86400', 'ttl' = '2 WEEK')"},
	{`CREATE REPOSITORY r WITH BROKER ON LOCATION 's3://bucket' PROPERTIES ("snapshot_ttl" = "30 days")`, "CREATE REPOSITORY `r` WITH BROKER ON LOCATION 's3://bucket' PROPERTIES ('snapshot_ttl' = '30 DAY')"},
	{"SHOW REPOSITORIES", "SHOW REPOSITORIES"},

	// RESTORE.
	{"RESTORE SNAPSHOT db.l FROM r" + rts, "RESTORE SNAPSHOT `db`.`l` FROM `r`" + RT},
	{"RESTORE SNAPSHOT l FROM r" + rts, "RESTORE SNAPSHOT `l` FROM `r`" + RT},
	{"RESTORE SNAPSHOT db.l FROM r ON (t)" + rts, "RESTORE SNAPSHOT `db`.`l` FROM `r` ON (TABLE `t`)" + RT},
	{"RESTORE SNAPSHOT l FROM r DATABASE db AS db2 ON (TABLE t AS t2, t3 PARTITION (p1), VIEW v AS v2, MATERIALIZED VIEW m, FUNCTION f, ALL FUNCTIONS)" + rts,
		"RESTORE SNAPSHOT `l` FROM `r` DATABASE `db` AS `db2` ON (TABLE `t` AS `t2`, TABLE `t3` PARTITION (`p1`), VIEW `v` AS `v2`, MATERIALIZED VIEW `m`, FUNCTION `f`, ALL FUNCTIONS)" + RT},
	{"RESTORE SNAPSHOT l FROM r DATABASE db ON (t PARTITION p1, p2 AS t2)" + rts, "RESTORE SNAPSHOT `l` FROM `r` DATABASE `db` ON (TABLE `t` PARTITION (`p1`, `p2`) AS `t2`)" + RT},
	{"RESTORE SNAPSHOT l FROM r ALL EXTERNAL CATALOGS" + rts, "RESTORE SNAPSHOT `l` FROM `r` ALL EXTERNAL CATALOGS" + RT},
	{"RESTORE SNAPSHOT l FROM r EXTERNAL CATALOG (c AS c2, d)" + rts, "RESTORE SNAPSHOT `l` FROM `r` EXTERNAL CATALOGS (`c` AS `c2`, `d`)" + RT},
	{`RESTORE SNAPSHOT db.l FROM r PROPERTIES ("backup_timestamp" = "t", "timeout" = "600", "replication_num" = "3", "allow_load" = "TRUE", "meta_version" = "1")`,
		"RESTORE SNAPSHOT `db`.`l` FROM `r` PROPERTIES ('timeout' = '600', 'backup_timestamp' = 't', 'replication_num' = '3', 'allow_load' = 'true', 'meta_version' = '1')"},

	// StarRocks' GRANT forms: TABLE omitted, a grantee without USER, lists,
	// ALL [PRIVILEGES] as the privileges srbackup uses that the object takes.
	{"GRANT EXPORT ON shop.orders TO 'arn:aws:iam::123456789012:role/b'", "GRANT EXPORT ON TABLE `shop`.`orders` TO USER 'arn:aws:iam::123456789012:role/b'"},
	{"GRANT EXPORT ON orders TO alice", "GRANT EXPORT ON TABLE `orders` TO USER 'alice'"},
	{"GRANT EXPORT ON `catalog`.t TO USER u; GRANT EXPORT ON catalog TO u", "GRANT EXPORT ON TABLE `catalog`.`t` TO USER 'u';\nGRANT EXPORT ON TABLE `catalog` TO USER 'u'"},
	{"GRANT INSERT, EXPORT ON TABLE shop.orders TO ROLE r", "GRANT INSERT, EXPORT ON TABLE `shop`.`orders` TO ROLE `r`"},
	{"GRANT ALL ON TABLE shop.orders TO ROLE r", "GRANT EXPORT, INSERT ON TABLE `shop`.`orders` TO ROLE `r`"},
	{"GRANT insert, ALL PRIVILEGES ON ALL TABLES IN DATABASE shop TO ROLE r", "GRANT INSERT, EXPORT ON ALL TABLES IN DATABASE `shop` TO ROLE `r`"},
	{"GRANT ALL ON SYSTEM TO ROLE r; REVOKE ALL PRIVILEGES ON CATALOG default_catalog FROM r; GRANT ALL ON ALL DATABASES TO role",
		"GRANT REPOSITORY ON SYSTEM TO ROLE `r`;\nREVOKE CREATE DATABASE ON CATALOG `default_catalog` FROM USER 'r';\nGRANT CREATE TABLE ON ALL DATABASES TO USER 'role'"},
	{"GRANT REPOSITORY ON SYSTEM TO user", "GRANT REPOSITORY ON SYSTEM TO USER 'user'"},

	// USE: the current database of the statements after it.
	{"USE db", "USE `db`"},
	{"use default_catalog.`my db`", "USE `my db`"},
	{"USE d; BACKUP SNAPSHOT l TO r", "USE `d`;\nBACKUP DATABASE `d` SNAPSHOT `l` TO `r`" + D},
	{"USE d; BACKUP SNAPSHOT l TO r ON (TABLE other.t)", "USE `d`;\nBACKUP DATABASE `d` SNAPSHOT `l` TO `r` ON (TABLE `t`)" + D},
	// A database named in the statement wins over USE; a later USE wins.
	{"USE d; BACKUP SNAPSHOT x.l TO r; BACKUP DATABASE y SNAPSHOT l TO r; USE e; BACKUP SNAPSHOT l TO r",
		"USE `d`;\nBACKUP DATABASE `x` SNAPSHOT `l` TO `r`" + D + ";\nBACKUP DATABASE `y` SNAPSHOT `l` TO `r`" + D + ";\nUSE `e`;\nBACKUP DATABASE `e` SNAPSHOT `l` TO `r`" + D},
	{"USE d; GRANT EXPORT ON TABLE t TO ROLE r; GRANT EXPORT ON TABLE x.t TO ROLE r",
		"USE `d`;\nGRANT EXPORT ON TABLE `d`.`t` TO ROLE `r`;\nGRANT EXPORT ON TABLE `x`.`t` TO ROLE `r`"},
	// Everything else keeps StarRocks' meaning: every database, and RESTORE
	// into the snapshot's database.
	{"USE d; SHOW BACKUP; SHOW RESTORE", "USE `d`;\nSHOW BACKUP;\nSHOW RESTORE"},
	{"USE d; RESTORE SNAPSHOT l FROM r" + rts, "USE `d`;\nRESTORE SNAPSHOT `l` FROM `r`" + RT},
	{"USE d; BACKUP ALL EXTERNAL CATALOGS SNAPSHOT l TO r", "USE `d`;\nBACKUP ALL EXTERNAL CATALOGS SNAPSHOT `l` TO `r`" + D},

	// GRANT, REVOKE, roles.
	{"GRANT REPOSITORY ON SYSTEM TO ROLE r", "GRANT REPOSITORY ON SYSTEM TO ROLE `r`"},
	{"grant repository on system to user u", "GRANT REPOSITORY ON SYSTEM TO USER 'u'"},
	{"GRANT EXPORT ON TABLE t TO USER 'arn:aws:iam::123456789012:role/backup'", "GRANT EXPORT ON TABLE `t` TO USER 'arn:aws:iam::123456789012:role/backup'"},
	{"GRANT EXPORT ON TABLE db.t TO ROLE 'r'", "GRANT EXPORT ON TABLE `db`.`t` TO ROLE `r`"},
	{"GRANT CREATE DATABASE ON CATALOG default_catalog TO ROLE r", "GRANT CREATE DATABASE ON CATALOG `default_catalog` TO ROLE `r`"},
	{"grant create table on database d to role r", "GRANT CREATE TABLE ON DATABASE `d` TO ROLE `r`"},
	{"GRANT CREATE TABLE ON ALL DATABASES TO ROLE r", "GRANT CREATE TABLE ON ALL DATABASES TO ROLE `r`"},
	{"REVOKE INSERT, EXPORT ON ALL TABLES IN DATABASE d FROM ROLE r", "REVOKE INSERT, EXPORT ON ALL TABLES IN DATABASE `d` FROM ROLE `r`"},
	{"GRANT EXPORT ON ALL TABLES IN DATABASE d TO ROLE r", "GRANT EXPORT ON ALL TABLES IN DATABASE `d` TO ROLE `r`"},
	{"GRANT EXPORT ON ALL TABLES IN ALL DATABASES TO ROLE r", "GRANT EXPORT ON ALL TABLES IN ALL DATABASES TO ROLE `r`"},
	{"GRANT ROLE r TO USER 'u'", "GRANT ROLE `r` TO USER 'u'"},
	{"GRANT ROLE r1, 'r2' TO ROLE r3", "GRANT ROLE `r1`, `r2` TO ROLE `r3`"},
	{"REVOKE REPOSITORY ON SYSTEM FROM ROLE r", "REVOKE REPOSITORY ON SYSTEM FROM ROLE `r`"},
	{"REVOKE EXPORT ON ALL TABLES IN DATABASE d FROM USER 'u'", "REVOKE EXPORT ON ALL TABLES IN DATABASE `d` FROM USER 'u'"},
	{"REVOKE ROLE r FROM USER 'u'", "REVOKE ROLE `r` FROM USER 'u'"},
	{"CREATE ROLE r", "CREATE ROLE `r`"},
	{"CREATE ROLE IF NOT EXISTS backup_tbl", "CREATE ROLE IF NOT EXISTS `backup_tbl`"},
	{"DROP ROLE r", "DROP ROLE `r`"},
	{"DROP ROLE IF EXISTS 'r'", "DROP ROLE IF EXISTS `r`"},
}

// notUsed is the error for a StarRocks privilege srbackup does not check.
func notUsed(priv string) string {
	return "Privilege " + priv + " is not used by srbackup, which checks only REPOSITORY, EXPORT and, for RESTORE, CREATE DATABASE, CREATE TABLE and INSERT: grant those"
}

// invalidCase is a text that must fail. in marks the position the error
// must point at with ‸ (removed before parsing). want is the detail message
// prefixed with the kind: "S: " syntax error, "R: " parser rejection,
// "A: " analysing error.
type invalidCase struct {
	in   string
	want string
}

const where = "A: Where clause should looks like: SNAPSHOT = 'your_snapshot_name' [AND TIMESTAMP = '2018-04-18-19-19-10']"

var invalidCases = []invalidCase{
	// USE.
	{"USE‸", "S: unexpected end of input, expecting identifier"},
	{"USE ‸hive.d", "A: Unknown catalog 'hive'"},
	{"USE ‸a.b.c", "A: Invalid database name format 'a.b.c'"},
	{"USE ‸``", "A: Incorrect database name ''"},
	{"USE default_catalog.‸``", "A: Incorrect database name ''"},
	{"‸BACKUP SNAPSHOT l TO r; USE d", "A: No database selected"},
	{"USE d; ‸CANCEL BACKUP", "A: No selected database for cancel BACKUP/RESTORE"},
	{"USE d; ‸CANCEL RESTORE", "R: No selected database for cancel BACKUP/RESTORE"},

	// Syntax errors.
	{"‸", "S: unexpected end of input, expecting 'BACKUP', 'RESTORE', 'SHOW', 'CANCEL', 'CREATE', 'DROP', 'GRANT', 'REVOKE', 'ADMIN' or 'USE'"},
	{"  -- only a comment\n ;‸", "S: unexpected end of input, expecting 'BACKUP', 'RESTORE', 'SHOW', 'CANCEL', 'CREATE', 'DROP', 'GRANT', 'REVOKE', 'ADMIN' or 'USE'"},
	{"‸SELECT 1", "S: unexpected 'SELECT', expecting 'BACKUP', 'RESTORE', 'SHOW', 'CANCEL', 'CREATE', 'DROP', 'GRANT', 'REVOKE', 'ADMIN' or 'USE'"},
	{"BACKUP SNAPSHOT db.l TO repo ON (t ‸PARTITON (p1))", "S: unexpected 'PARTITON', expecting '.', 'TEMPORARY', 'PARTITION', 'PARTITIONS', 'AS', ',' or ')'"},
	{"BACKUP SNAPSHOT db.l‸", "S: unexpected end of input, expecting '.' or 'TO'"},
	{"BACKUP SNAPSHOT db.l TO‸", "S: unexpected end of input, expecting identifier"},
	{"BACKUP SNAPSHOT db.l TO ‸table", "S: unexpected 'table', expecting identifier"},
	{"BACKUP DATABASE ‸database SNAPSHOT l TO r", "S: unexpected 'database', expecting identifier"},
	{"BACKUP ‸TABLE t SNAPSHOT l TO r", "S: unexpected 'TABLE', expecting 'ALL', 'EXTERNAL', 'DATABASE' or 'SNAPSHOT'"},
	{"BACKUP SNAPSHOT db.l TO r ON (‸)", "S: unexpected ')', expecting 'ALL', 'TABLE', 'MATERIALIZED', 'VIEW', 'FUNCTION' or identifier"},
	{"BACKUP SNAPSHOT db.l TO r ON (t,‸)", "S: unexpected ')', expecting 'ALL', 'TABLE', 'MATERIALIZED', 'VIEW', 'FUNCTION' or identifier"},
	{"BACKUP SNAPSHOT db.l TO r ON ‸t", "S: unexpected 't', expecting '('"},
	{"BACKUP SNAPSHOT db.l TO r ON (ALL‸)", "S: unexpected ')', expecting 'TABLE', 'TABLES', 'VIEW', 'VIEWS', 'MATERIALIZED', 'FUNCTION' or 'FUNCTIONS'"},
	{"BACKUP SNAPSHOT db.l TO r ON (ALL MATERIALIZED‸)", "S: unexpected ')', expecting 'VIEW' or 'VIEWS'"},
	{"BACKUP SNAPSHOT db.l TO r ON (MATERIALIZED VIEW‸)", "S: unexpected ')', expecting identifier"},
	{"BACKUP SNAPSHOT db.l TO r ON (ALL TABLES ‸AS x)", "S: unexpected 'AS', expecting ',' or ')'"},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION (‸))", "S: unexpected ')', expecting identifier or string"},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION (p1)‸", "S: unexpected end of input, expecting 'AS', ',' or ')'"},
	{"BACKUP SNAPSHOT db.l TO r ON (t ‸TEMPORARY)", "S: unexpected 'TEMPORARY', expecting '.', 'PARTITION', 'PARTITIONS', 'AS', ',' or ')'"},
	{"BACKUP SNAPSHOT db.l TO r PROPERTIES (‸)", "S: unexpected ')', expecting string"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout"‸)`, "S: unexpected ')', expecting '='"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES (‸timeout = "600")`, "S: unexpected 'timeout', expecting string"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = ‸600)`, "S: unexpected '600', expecting string"},
	{"BACKUP SNAPSHOT ‸'db.l' TO r", "S: unexpected 'db.l', expecting identifier"},
	{"BACKUP SNAPSHOT db.‸123 TO r", "S: unexpected '123', expecting identifier"},
	{"BACKUP SNAPSHOT db.snap‸-1 TO r", "S: unexpected '-', expecting '.' or 'TO'"},
	{"BACKUP SNAPSHOT db.l TO r ‸extra", "S: unexpected 'extra', expecting 'ON', 'PROPERTIES', ';' or end of input"},
	{"BACKUP SNAPSHOT db.l TO r ON (t) ‸ON (t2)", "S: unexpected 'ON', expecting 'PROPERTIES', ';' or end of input"},
	{"BACKUP EXTERNAL CATALOGS (‸) SNAPSHOT l TO r", "S: unexpected ')', expecting identifier"},
	{"BACKUP ALL EXTERNAL ‸CATALOG SNAPSHOT l TO r", "S: unexpected 'CATALOG', expecting 'CATALOGS'"},
	{"SHOW BACKUP ‸SHOW BACKUP", "S: unexpected 'SHOW', expecting 'FROM', 'IN', ';' or end of input"},
	{"SHOW‸", "S: unexpected end of input, expecting 'BACKUP', 'RESTORE', 'SNAPSHOT' or 'REPOSITORIES'"},
	{"SHOW ‸BACKUPS", "S: unexpected 'BACKUPS', expecting 'BACKUP', 'RESTORE', 'SNAPSHOT' or 'REPOSITORIES'"},
	{"SHOW SNAPSHOT ‸r", "S: unexpected 'r', expecting 'ON'"},
	{"CANCEL BACKUP FOR EXTERNAL‸", "S: unexpected end of input, expecting 'CATALOG'"},
	{"CREATE ‸TABLE t", "S: unexpected 'TABLE', expecting 'READ', 'REPOSITORY' or 'ROLE'"},
	{"CREATE READ ‸REPOSITORY r WITH BROKER ON LOCATION 's3://bucket'", "S: unexpected 'REPOSITORY', expecting 'ONLY'"},
	{"CREATE REPOSITORY r ‸ON LOCATION 's3://bucket'", "S: unexpected 'ON', expecting 'WITH'"},
	{"CREATE REPOSITORY r WITH BROKER ON LOCATION ‸s3", "S: unexpected 's3', expecting string"},
	{"DROP ‸TABLE t", "S: unexpected 'TABLE', expecting 'REPOSITORY', 'SNAPSHOT' or 'ROLE'"},
	{"DROP SNAPSHOT s ‸FROM r", "S: unexpected 'FROM', expecting 'ON'"},
	{"DROP SNAPSHOT s ON r ‸FORCED", "S: unexpected 'FORCED', expecting 'FORCE', ';' or end of input"},
	{"DROP SNAPSHOT ‸ON r", "S: unexpected 'ON', expecting identifier or string"},
	{"DROP SNAPSHOT s ON ‸'r'", "S: unexpected 'r', expecting identifier"},
	{"GRANT ‸SELECT ON TABLE t TO ROLE r", "A: " + notUsed("SELECT")},
	{"GRANT EXPORT, ‸SELECT ON TABLE t TO ROLE r", "A: " + notUsed("SELECT")},
	{"GRANT ‸CREATE MATERIALIZED VIEW ON DATABASE d TO ROLE r", "A: " + notUsed("CREATE MATERIALIZED VIEW")},
	{"REVOKE ‸usage ON CATALOG default_catalog FROM r", "A: " + notUsed("USAGE")},
	{"GRANT ‸FOO ON TABLE t TO ROLE r", "S: unexpected 'FOO', expecting 'ROLE', 'ALL', 'ALTER', 'APPLY', 'BLACKLIST', 'CREATE', 'DELETE', 'DROP', 'EXPORT', 'FILE', 'IMPERSONATE', 'INSERT', 'GRANT', 'NODE', 'OPERATE', 'PLUGIN', 'REPOSITORY', 'REFRESH', 'SELECT', 'SECURITY', 'UPDATE' or 'USAGE'"},
	{"GRANT CREATE ‸ROLE ON SYSTEM TO ROLE r", "S: unexpected 'ROLE', expecting 'DATABASE', 'TABLE', 'VIEW', 'FUNCTION', 'GLOBAL', 'MATERIALIZED', 'RESOURCE', 'EXTERNAL', 'STORAGE', 'WAREHOUSE' or 'PIPE'"},
	{"GRANT EXPORT ON ALL ‸TO ROLE r", "S: unexpected 'TO', expecting 'DATABASES' or 'TABLES'"},
	{"GRANT ‸EXPORT ON DATABASE d TO ROLE r", "A: Invalid privilege EXPORT for DATABASE"},
	{"GRANT EXPORT ON ‸VIEW d TO ROLE r", "S: unexpected 'VIEW', expecting 'SYSTEM', 'TABLE', 'CATALOG', 'DATABASE' or 'ALL'"},
	{"GRANT ‸CREATE TABLE ON CATALOG default_catalog TO ROLE r", "A: Invalid privilege CREATE TABLE for CATALOG"},
	{"GRANT CREATE DATABASE ON CATALOG ‸hive TO ROLE r", "A: Unknown catalog 'hive'"},
	{"GRANT ‸INSERT ON SYSTEM TO ROLE r", "A: Invalid privilege INSERT for SYSTEM"},
	{"GRANT EXPORT ON ALL TABLES IN ‸DATABASES TO ROLE r", "S: unexpected 'DATABASES', expecting 'ALL' or 'DATABASE'"},
	{"GRANT REPOSITORY ON SYSTEM TO ‸;", "S: unexpected ';', expecting identifier or string"},
	{"REVOKE REPOSITORY ON SYSTEM ‸TO ROLE r", "S: unexpected 'TO', expecting 'FROM'"},
	{"GRANT ROLE r TO USER 'u'‸@'%'", "S: unexpected '@', expecting ';' or end of input"},
	{"CREATE ROLE IF ‸EXISTS r", "S: unexpected 'EXISTS', expecting 'NOT'"},

	// Lexical errors.
	{"SHOW BACKUP FROM ‸'db", "S: unterminated string"},
	{"SHOW BACKUP FROM ‸`db", "S: unterminated quoted identifier"},
	{"SHOW BACKUP ‸/* never closed", "S: unterminated comment"},
	{"SHOW BACKUP FROM ‸'db\\", "S: unterminated string"},
	{"SHOW BACKUP FROM ‸@db", "S: unexpected '@', expecting identifier"},
	{"SHOW BACKUP FROM ‸\xff", "S: invalid UTF-8 byte 0xFF"},
	{"SHOW BACKUP FROM 'a‸\xc3'", "S: invalid UTF-8 byte 0xC3"},
	{"SHOW BACKUP -- ‸\xfe\n", "S: invalid UTF-8 byte 0xFE"},
	{"SHOW BACKUP FROM ‸😀", "S: unexpected '😀', expecting identifier"},
	{"SHOW‸\x00BACKUP", `S: unexpected character '\x00', expecting 'BACKUP', 'RESTORE', 'SNAPSHOT' or 'REPOSITORIES'`},

	// Positions: lines and columns in code points.
	{"SHOW BACKUP;\nBACKUP SNAPSHOT db.l\n  TO r ON (t ‸PARTITON (p))", "S: unexpected 'PARTITON', expecting '.', 'TEMPORARY', 'PARTITION', 'PARTITIONS', 'AS', ',' or ')'"},
	{"BACKUP DATABASE 数据库 SNAPSHOT l TO r ON (表 ‸PARTITON (p))", "S: unexpected 'PARTITON', expecting '.', 'TEMPORARY', 'PARTITION', 'PARTITIONS', 'AS', ',' or ')'"},
	{"/* a\nb */ SHOW\r\n\t‸x", "S: unexpected 'x', expecting 'BACKUP', 'RESTORE', 'SNAPSHOT' or 'REPOSITORIES'"},

	// A syntax error anywhere wins over a semantic error earlier.
	{"BACKUP SNAPSHOT l TO r; SHOW ‸BACKUPS", "S: unexpected 'BACKUPS', expecting 'BACKUP', 'RESTORE', 'SNAPSHOT' or 'REPOSITORIES'"},
	{"SHOW SNAPSHOT ON r WHERE x = 1; SHOW ‸BACKUPS", "S: unexpected 'BACKUPS', expecting 'BACKUP', 'RESTORE', 'SNAPSHOT' or 'REPOSITORIES'"},
	{"SHOW SNAPSHOT ON r WHERE x = ‸'a", "S: unterminated string"},

	// Rejections StarRocks makes while building the AST.
	{"BACKUP DATABASE db SNAPSHOT ‸db.l TO r", "R: Specifying dbName before snapshot name is forbidden if the DbName is specified explicitly in BACKUP/RESTORE"},
	{"BACKUP SNAPSHOT db.l TO r ON (t ‸AS t2)", "R: Specifying alias for backup object is forbidden in BACKUP stmt"},
	{"BACKUP SNAPSHOT db.l TO r ON (TABLE t PARTITION (p1) ‸AS t2)", "R: Specifying alias for backup object is forbidden in BACKUP stmt"},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION p1, p2 ‸AS x)", "R: Specifying alias for backup object is forbidden in BACKUP stmt"},
	{"BACKUP ALL EXTERNAL CATALOGS ‸DATABASE db SNAPSHOT l TO r", "R: Can not specify database name for external catalog Backup/Restore"},
	{"BACKUP EXTERNAL CATALOG (c) SNAPSHOT ‸db.l TO r", "R: Can not specify database name for external catalog Backup/Restore"},
	{"BACKUP ALL EXTERNAL CATALOGS SNAPSHOT l TO r ‸ON (t)", "R: Can not specify `ON` clause for external catalog Backup/Restore"},
	{"BACKUP SNAPSHOT ‸a.b.c TO r", "R: Invalid table name format 'a.b.c'"},
	{"BACKUP DATABASE d SNAPSHOT ‸a.b.c TO r", "R: Invalid table name format 'a.b.c'"},
	{"BACKUP SNAPSHOT db.l TO r ON (TABLE ‸a.b.c.d)", "R: Invalid table name format 'a.b.c.d'"},
	{"RESTORE SNAPSHOT ‸db.l FROM r DATABASE db" + rts, "R: Specifying dbName before snapshot name is forbidden if the DbName is specified explicitly in BACKUP/RESTORE"},
	{"RESTORE SNAPSHOT l FROM r ALL EXTERNAL CATALOGS ‸DATABASE d" + rts, "R: Can not specify database name for external catalog Backup/Restore"},
	{"RESTORE SNAPSHOT l FROM r EXTERNAL CATALOG (c) ‸ON (t)" + rts, "R: Can not specify `ON` clause for external catalog Backup/Restore"},
	{"RESTORE SNAPSHOT l FROM r ‸ON (t)" + rts, "R: `ON` clause is forbidden if no Database explicitly specified in Restore stmt"},
	{"RESTORE SNAPSHOT ‸a.b.c FROM r" + rts, "R: Invalid table name format 'a.b.c'"},
	{"GRANT EXPORT ON TABLE ‸a.b.c TO ROLE r", "R: Invalid table name format 'a.b.c'"},

	// BACKUP analysing errors.
	{"‸BACKUP SNAPSHOT l TO r", "A: No database selected"},
	{"BACKUP DATABASE ‸`` SNAPSHOT l TO r", "A: Incorrect database name ''"},
	{"BACKUP SNAPSHOT ‸``.l TO r", "A: Incorrect database name ''"},
	{"BACKUP SNAPSHOT db.‸`` TO r", "A: Incorrect label name ''"},
	{"BACKUP SNAPSHOT db.‸`a/b` TO r", "A: Incorrect label name 'a/b': a snapshot name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
	{"BACKUP SNAPSHOT db.‸`.hidden` TO r", "A: Incorrect label name '.hidden': a snapshot name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
	{"BACKUP SNAPSHOT db.‸`-x` TO r", "A: Incorrect label name '-x': a snapshot name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
	{"BACKUP SNAPSHOT db.‸`a b` TO r", "A: Incorrect label name 'a b': a snapshot name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
	{"BACKUP SNAPSHOT db.‸café TO r", "A: Incorrect label name 'café': a snapshot name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
	{"BACKUP SNAPSHOT db.‸l$ TO r", "A: Incorrect label name 'l$': a snapshot name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
	{"BACKUP SNAPSHOT db.‸" + strings.Repeat("a", 129) + " TO r", "A: Incorrect label name '" + strings.Repeat("a", 64) + "…': a snapshot name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
	{"BACKUP SNAPSHOT db.‸" + strings.Repeat("a", 114) + " TO r PROPERTIES ('label_suffix' = 'time')", "A: Incorrect label name '" + strings.Repeat("a", 64) + "…': with label_suffix 'time' a snapshot name can have at most 113 characters"},
	{"BACKUP SNAPSHOT db.l TO ‸``", "A: Repository is empty"},
	{"BACKUP SNAPSHOT db.l TO r ON (TABLE ‸``)", "A: Incorrect table name ''"},
	{"BACKUP SNAPSHOT db.l TO r ON (FUNCTION ‸``)", "A: Incorrect function name ''"},
	{"BACKUP SNAPSHOT db.l TO r ON (t, ‸t)", "A: Duplicated table: t"},
	{"BACKUP SNAPSHOT db.l TO r ON (TABLE t, VIEW ‸t)", "A: Duplicated table: t"},
	{"BACKUP SNAPSHOT db.l TO r ON (TABLE t, MATERIALIZED VIEW ‸t)", "A: Duplicated table: t"},
	{"BACKUP SNAPSHOT db.l TO r ON (TABLE t PARTITION (p1), TABLE ‸t PARTITION (p2))", "A: Duplicated table: t"},
	{"BACKUP SNAPSHOT db.l TO r ON (TABLE db1.t, TABLE db2.‸t)", "A: Duplicated table: t"},
	{"BACKUP SNAPSHOT db.l TO r ON (FUNCTION f, FUNCTIONS ‸f)", "A: Duplicated function: f"},
	{"BACKUP SNAPSHOT db.l TO r ON (ALL TABLES, ‸ALL TABLE)", "A: Duplicated backup object: ALL TABLES"},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION (p1, ‸p1))", "A: Duplicated partition: p1"},
	{"BACKUP SNAPSHOT db.l TO r ON (t PARTITION (‸''))", "A: Incorrect partition name ''"},
	{"BACKUP SNAPSHOT db.l TO r ON (t ‸TEMPORARY PARTITION (p1))", "A: Do not support backing up temp partitions"},

	// BACKUP properties.
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = ‸"abc")`, "A: Invalid timeout format: abc"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = ‸"599")`, "A: timeout must be at least 10 min"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = ‸"-1")`, "A: timeout must be at least 10 min"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = ‸"1.5")`, "A: Invalid timeout format: 1.5"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = ‸" 600")`, "A: Invalid timeout format:  600"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = ‸"")`, "A: Invalid timeout format: "},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = ‸"99999999999999999999")`, "A: Invalid timeout format: 99999999999999999999"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("timeout" = ‸"31536001")`, "A: timeout must be at most 365 days"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("type" = ‸"incremental")`, "A: Invalid backup job type: incremental"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("type" = ‸" full")`, "A: Invalid backup job type:  full"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES (‸"TIMEOUT" = "600")`, "A: Unknown backup job properties: [TIMEOUT]"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES (‸"k1" = "v", "type" = "full", "k2" = "v", "k1" = "w")`, "A: Unknown backup job properties: [k1, k2]"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("k1" = "v", "type" = ‸"x", "timeout" = "600")`, "A: Invalid backup job type: x"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("type" = "x", "timeout" = ‸"1")`, "A: timeout must be at least 10 min"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("compression" = ‸"gzip")`, "A: Invalid compression: gzip, supported: zstd, snappy, none"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = ‸"10XB")`, "A: Invalid shard_size: 10XB"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = ‸"MB")`, "A: Invalid shard_size: MB"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = ‸"-1")`, "A: Invalid shard_size: -1"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = ‸"1KB")`, "A: shard_size must be between 1MB and 16GB"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = ‸"17GB")`, "A: shard_size must be between 1MB and 16GB"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("shard_size" = ‸"99999999999999999999999")`, "A: shard_size must be between 1MB and 16GB"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("consistency" = ‸"serializable")`, "A: Invalid consistency: serializable, supported: snapshot, shard"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("parallelism" = ‸"0")`, "A: Invalid parallelism: 0, it must be an integer from 1 to 1000"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("parallelism" = ‸"1001")`, "A: Invalid parallelism: 1001, it must be an integer from 1 to 1000"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("parallelism" = ‸"four")`, "A: Invalid parallelism: four, it must be an integer from 1 to 1000"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("label_suffix" = ‸"date")`, "A: Invalid label_suffix: date, supported: time"},

	// BACKUP of external catalogs.
	{"BACKUP EXTERNAL CATALOG (‸default_catalog) SNAPSHOT l TO r", "A: Do not support Backup/Restore the entire default catalog"},
	{"BACKUP EXTERNAL CATALOGS (c, ‸c) SNAPSHOT l TO r", "A: Duplicated catalog: c"},
	{"BACKUP EXTERNAL CATALOGS (‸``) SNAPSHOT l TO r", "A: Incorrect catalog name ''"},
	{`BACKUP EXTERNAL CATALOG (default_catalog) SNAPSHOT l TO r PROPERTIES (‸"x" = "y")`, "A: Unknown backup job properties: [x]"},
	{"BACKUP EXTERNAL CATALOG (c) SNAPSHOT ‸`` TO r", "A: Incorrect label name ''"},

	// Other statements' analysing errors.
	{"SHOW BACKUP FROM ‸``", "A: Incorrect database name ''"},
	{"‸CANCEL BACKUP", "A: No selected database for cancel BACKUP/RESTORE"},
	{"CANCEL BACKUP FROM ‸``", "A: Incorrect database name ''"},
	{"SHOW SNAPSHOT ON ‸``", "A: Repository is empty"},
	{"SHOW SNAPSHOT ON r WHERE SNAPSHOT ‸LIKE 's'", where},
	{"SHOW SNAPSHOT ON r WHERE SNAPSHOT = 's' ‸OR TIMESTAMP = 't'", where},
	{"SHOW SNAPSHOT ON r WHERE TIMESTAMP = 't'‸", where},
	{"SHOW SNAPSHOT ON r WHERE SNAPSHOT = ‸''", where},
	{"SHOW SNAPSHOT ON r WHERE SNAPSHOT = ‸s", where},
	{"SHOW SNAPSHOT ON r WHERE SNAPSHOT = 's' AND ‸SNAPSHOT = 't'", where},
	{"SHOW SNAPSHOT ON r WHERE ‸(SNAPSHOT = 's')", where},
	{"SHOW SNAPSHOT ON r WHERE SNAPSHOT IN (‸)", where},
	{"SHOW SNAPSHOT ON r WHERE SNAPSHOT IN ('a') ‸AND TIMESTAMP = 't'", where},
	{"SHOW SNAPSHOT ON r WHERE ‸NAME = 's'", where},
	{"SHOW SNAPSHOT ON r WHERE SNAPSHOT = 's' AND TIMESTAMP = 't' ‸AND x = 1", where},
	{"SHOW SNAPSHOT ON r WHERE‸", where},
	{"SHOW SNAPSHOT ON r WHERE ‸x = 1; SHOW BACKUP", where},
	{"CREATE REPOSITORY ‸`1repo` WITH BROKER ON LOCATION 's3://bucket'", "A: Incorrect repository name '1repo'"},
	{"CREATE REPOSITORY ‸`a-b` WITH BROKER ON LOCATION 's3://bucket'", "A: Incorrect repository name 'a-b'"},
	{"CREATE REPOSITORY r WITH BROKER ‸hdfs_broker ON LOCATION 's3://bucket'", "A: Brokers are not supported: srbackup reads and writes S3 directly, write WITH BROKER ON LOCATION 's3://bucket/prefix'"},
	{"CREATE REPOSITORY r WITH BROKER ON LOCATION ‸'hdfs://nn/x'", "A: Invalid repository location 'hdfs://nn/x': srbackup supports s3://bucket[/prefix]"},
	{"CREATE REPOSITORY r WITH BROKER ON LOCATION ‸'s3://'", "A: Invalid repository location 's3://': srbackup supports s3://bucket[/prefix]"},
	{"CREATE REPOSITORY r WITH BROKER ON LOCATION ‸'s3://Bucket'", "A: Invalid repository location 's3://Bucket': srbackup supports s3://bucket[/prefix]"},
	{"CREATE REPOSITORY r WITH BROKER ON LOCATION ‸'s3://bucket/a/../b'", "A: Invalid repository location 's3://bucket/a/../b': srbackup supports s3://bucket[/prefix]"},
	{"CREATE REPOSITORY r WITH BROKER ON LOCATION ‸'s3://bucket//b'", "A: Invalid repository location 's3://bucket//b': srbackup supports s3://bucket[/prefix]"},
	{`CREATE REPOSITORY r WITH BROKER ON LOCATION 's3://bucket' PROPERTIES ("aws.s3.region" = "x", ‸"aws.s3.secret_key" = "sekrit")`, "A: Repository property 'aws.s3.secret_key' holds a credential: srbackup refuses plaintext credentials and uses its IAM role (optionally aws.s3.iam_role_arn)"},
	{`CREATE REPOSITORY r WITH BROKER ON LOCATION 's3://bucket' PROPERTIES (‸"aws.s3.access_key" = "AKIAEXAMPLE")`, "A: Repository property 'aws.s3.access_key' holds a credential: srbackup refuses plaintext credentials and uses its IAM role (optionally aws.s3.iam_role_arn)"},
	{"DROP REPOSITORY ‸``", "A: Repository is empty"},
	{"DROP SNAPSHOT ‸`` ON r", "A: Incorrect label name ''"},
	{"DROP SNAPSHOT ‸'a/b' ON r", "A: Incorrect label name 'a/b': a snapshot name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
	{"DROP SNAPSHOT s ON ‸``", "A: Repository is empty"},
	{"ADMIN ‸CHECK SNAPSHOT s ON r", "S: unexpected 'CHECK', expecting 'VERIFY'"},
	{"ADMIN VERIFY SNAPSHOT ‸`` ON r", "A: Incorrect label name ''"},
	{`ADMIN VERIFY SNAPSHOT s ON r PROPERTIES ("deep" = ‸"yes")`, "A: Invalid deep: 'yes', want true or false"},
	{`ADMIN VERIFY SNAPSHOT s ON r PROPERTIES (‸"fast" = "true")`, "A: Unknown verify job properties: [fast]"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = ‸"7")`, "A: Invalid ttl: '7': " + ttlHelp},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = ‸"0 DAY")`, "A: Invalid ttl: '0 DAY': " + ttlHelp},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = ‸"-1 DAY")`, "A: Invalid ttl: '-1 DAY': " + ttlHelp},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = ‸"7 FORTNIGHT")`, "A: Invalid ttl: '7 FORTNIGHT': " + ttlHelp},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = ‸"1.5 DAY")`, "A: Invalid ttl: '1.5 DAY': " + ttlHelp},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = ‸"101 YEAR")`, "A: Invalid ttl: '101 YEAR': at most 100 years"},
	{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("ttl" = ‸"99999999999999999999 SECOND")`, "A: Invalid ttl: '99999999999999999999 SECOND': at most 100 years"},
	{`CREATE REPOSITORY r WITH BROKER ON LOCATION 's3://bucket' PROPERTIES ("snapshot_ttl" = ‸"forever")`, "A: Invalid snapshot_ttl: 'forever': " + ttlHelp},
	{"‸RESTORE SNAPSHOT db.l FROM r", "A: Missing backup_timestamp property"},
	{`‸RESTORE SNAPSHOT db.l FROM r PROPERTIES ("backup_timestamp" = "")`, "A: Missing backup_timestamp property"},
	{`RESTORE SNAPSHOT db.l FROM r PROPERTIES (‸"type" = "full", "backup_timestamp" = "t")`, "A: Unknown restore job properties: [type]"},
	{`RESTORE SNAPSHOT db.l FROM r PROPERTIES ("backup_timestamp" = "t", "allow_load" = ‸"yes")`, "A: Invalid allow load value: yes"},
	{`RESTORE SNAPSHOT db.l FROM r PROPERTIES ("backup_timestamp" = "t", "replication_num" = ‸"x")`, "A: Invalid meta version format: x"},
	{`RESTORE SNAPSHOT s FROM r DATABASE d ON (t1 AS ‸t1) PROPERTIES ("backup_timestamp" = "t")`, "A: Duplicated alias name: t1"},
	{`RESTORE SNAPSHOT s FROM r DATABASE d ON (t1 AS a, t2 AS ‸a) PROPERTIES ("backup_timestamp" = "t")`, "A: Duplicated alias name: a"},
	{`RESTORE SNAPSHOT s FROM r DATABASE d PROPERTIES ("backup_timestamp" = "t", "parallelism" = ‸"0")`, "A: Invalid parallelism: 0, it must be an integer from 1 to 1000"},
	{"‸CANCEL RESTORE", "R: No selected database for cancel BACKUP/RESTORE"},
	{"SHOW RESTORE LIMIT ‸x", "S: unexpected 'x', expecting a number"},
	{`RESTORE SNAPSHOT db.l FROM r PROPERTIES ("backup_timestamp" = "t", "meta_version" = ‸"x")`, "A: Invalid meta version format: x"},
	{`RESTORE SNAPSHOT db.l FROM r PROPERTIES ("backup_timestamp" = "t", "timeout" = ‸"1")`, "A: timeout must be at least 10 min"},
	{"RESTORE SNAPSHOT db.‸`a/b` FROM r" + rts, "A: Incorrect label name 'a/b': a snapshot name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
	{"RESTORE SNAPSHOT l FROM r DATABASE ‸``" + rts, "A: Incorrect database name ''"},
	{"RESTORE SNAPSHOT l FROM r DATABASE d AS ‸``" + rts, "A: Incorrect database name ''"},
	{"RESTORE SNAPSHOT l FROM r DATABASE d ON (t ‸TEMPORARY PARTITION (p))" + rts, "A: Do not support restoring temp partitions"},
	{"RESTORE SNAPSHOT l FROM r DATABASE d ON (t AS ‸``)" + rts, "A: Incorrect table name ''"},
	{"RESTORE SNAPSHOT l FROM r DATABASE d ON (t, ‸t AS t2)" + rts, "A: Duplicated table: t"},
	{"RESTORE SNAPSHOT l FROM r EXTERNAL CATALOG (‸default_catalog)" + rts, "A: Do not support Backup/Restore the entire default catalog"},
	{"RESTORE SNAPSHOT l FROM r EXTERNAL CATALOG (c AS ‸``)" + rts, "A: Incorrect catalog name ''"},
	{"GRANT ‸REPOSITORY ON TABLE t TO ROLE r", "A: Invalid privilege REPOSITORY for TABLE"},
	{"GRANT ‸EXPORT ON SYSTEM TO ROLE r", "A: Invalid privilege EXPORT for SYSTEM"},
	{"GRANT EXPORT, ‸EXPORT ON TABLE t TO ROLE r", "A: Duplicated privilege: EXPORT"},
	{"GRANT ROLE r, ‸r TO USER 'u'", "A: Duplicated role: r"},
	{"GRANT ROLE ‸`` TO USER 'u'", "A: Incorrect role name ''"},
	{"GRANT ROLE r TO USER ‸''", "A: Incorrect user name ''"},
	{"REVOKE REPOSITORY ON SYSTEM FROM ROLE ‸``", "A: Incorrect role name ''"},
	{"GRANT EXPORT ON TABLE ‸`` TO ROLE r", "A: Incorrect table name ''"},
	{"GRANT EXPORT ON TABLE ‸``.t TO ROLE r", "A: Incorrect database name ''"},
	{"GRANT EXPORT ON ALL TABLES IN DATABASE ‸`` TO ROLE r", "A: Incorrect database name ''"},
	{"CREATE ROLE ‸``", "A: Incorrect role name ''"},
	{"DROP ROLE IF EXISTS ‸''", "A: Incorrect role name ''"},
}

const marker = "‸"

// ttlHelp ends every TTL error.
const ttlHelp = "a TTL is a positive whole number and a unit (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH or YEAR), e.g. '7 DAY'"

// markedPos removes the marker from s and returns where it was.
func markedPos(t *testing.T, s string) (string, sql.Pos) {
	t.Helper()
	i := strings.Index(s, marker)
	if i < 0 {
		t.Fatalf("case %q has no %s marker", s, marker)
	}
	before := s[:i]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return before + s[i+len(marker):], sql.Pos{Line: line, Column: col}
}

func canonical(stmts []sql.Statement) string {
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = s.SQL()
	}
	return strings.Join(out, ";\n")
}

func TestValidStatements(t *testing.T) {
	for _, c := range validCases {
		stmts, err := sql.Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := canonical(stmts); got != c.want {
			t.Errorf("Parse(%q)\n got: %s\nwant: %s", c.in, got, c.want)
		}
	}
}

func TestInvalidStatements(t *testing.T) {
	kinds := map[string]sql.ErrorKind{"S: ": sql.SyntaxError, "R: ": sql.ParseRejection, "A: ": sql.AnalysisError}
	for _, c := range invalidCases {
		in, pos := markedPos(t, c.in)
		stmts, err := sql.Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want error %q", in, canonical(stmts), c.want)
			continue
		}
		e, ok := err.(*sql.Error)
		if !ok {
			t.Errorf("Parse(%q) error is %T, want *sql.Error", in, err)
			continue
		}
		kind, detail := kinds[c.want[:3]], c.want[3:]
		if e.Kind != kind || e.Detail != detail {
			t.Errorf("Parse(%q)\n got: %d %s\nwant: %d %s", in, e.Kind, e.Detail, kind, detail)
		}
		if e.Line != pos.Line || e.Column != pos.Column {
			t.Errorf("Parse(%q) error at %d:%d, want %d:%d (%s)", in, e.Line, e.Column, pos.Line, pos.Column, e.Detail)
		}
		if e.Error() != e.Message || !strings.Contains(e.Message, detail) {
			t.Errorf("Parse(%q): Error() = %q, Message = %q", in, e.Error(), e.Message)
		}
	}
}

func TestSuiteSize(t *testing.T) {
	if n := len(validCases) + len(invalidCases); n < 150 {
		t.Errorf("suite has %d statements, the issue asks for at least 150", n)
	}
}

func TestErrorMessageFormats(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"BACKUP SNAPSHOT example_db.label1 TO repo ON (example_tbl PARTITON (p1))",
			"Getting syntax error at line 1, column 59. Detail message: unexpected 'PARTITON', expecting '.', 'TEMPORARY', 'PARTITION', 'PARTITIONS', 'AS', ',' or ')'."},
		{"BACKUP SNAPSHOT db.l TO r ON (t AS t2)",
			"Getting syntax error. Detail message: Specifying alias for backup object is forbidden in BACKUP stmt."},
		{"BACKUP SNAPSHOT db.l TO r ON (t, t)",
			"Getting analyzing error. Detail message: Duplicated table: t."},
		{`BACKUP SNAPSHOT db.l TO r PROPERTIES ("k" = "v")`,
			"Getting analyzing error. Detail message: Unknown backup job properties: [k]."},
	} {
		_, err := sql.Parse(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse(%q) error\n got: %v\nwant: %s", c.in, err, c.want)
		}
	}
}

func TestCredentialsNeverInErrors(t *testing.T) {
	_, err := sql.Parse(`CREATE REPOSITORY r WITH BROKER ON LOCATION 's3://bucket' PROPERTIES ("aws.s3.secret_key" = "TOPSECRETVALUE")`)
	if err == nil || strings.Contains(err.Error(), "TOPSECRETVALUE") {
		t.Fatalf("error %v must refuse the credential without showing it", err)
	}
}
