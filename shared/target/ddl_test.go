package target

import (
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/source"
)

func TestCreateTableAs(t *testing.T) {
	for _, c := range []struct{ ddl, want string }{
		{"CREATE TABLE `t` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB", "CREATE TABLE `db`.`__srr_1` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB"},
		// A name with a backquote, a name that looks like a keyword.
		{"CREATE TABLE `we``ird TABLE` (`a` int)", "CREATE TABLE `db`.`__srr_1` (`a` int)"},
		{"CREATE SEQUENCE `s` start with 1 minvalue 1", "CREATE SEQUENCE `db`.`__srr_1` start with 1 minvalue 1"},
	} {
		got, err := CreateTableAs(c.ddl, "db", "__srr_1")
		if err != nil || got != c.want {
			t.Errorf("CreateTableAs(%q) = %q, %v; want %q", c.ddl, got, err, c.want)
		}
	}
	if got, err := CreateTableAs("CREATE TABLE IF NOT EXISTS db0.t (a int)", "db", "x"); err != nil || got != "CREATE TABLE `db`.`x` (a int)" {
		t.Errorf("unquoted, qualified: %q, %v", got, err)
	}
	if _, err := CreateTableAs("CREATE TABLE (a int)", "db", "x"); err == nil {
		t.Error("a statement without a name was accepted")
	}
}

func TestStripForeignKeys(t *testing.T) {
	ddl := "CREATE TABLE `child` (\n  `id` int(11) NOT NULL,\n  `p` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n" +
		"  CONSTRAINT `fk_a` FOREIGN KEY (`p`) REFERENCES `parent` (`id`) ON DELETE CASCADE,\n" +
		"  CONSTRAINT `fk_b` FOREIGN KEY (`p`) REFERENCES `other` (`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=utf8mb4"
	got, fks := StripForeignKeys(ddl)
	want := "CREATE TABLE `child` (\n  `id` int(11) NOT NULL,\n  `p` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=utf8mb4"
	if got != want {
		t.Errorf("stripped:\n%s\nwant\n%s", got, want)
	}
	if len(fks) != 2 || fks[0] != "CONSTRAINT `fk_a` FOREIGN KEY (`p`) REFERENCES `parent` (`id`) ON DELETE CASCADE" ||
		fks[1] != "CONSTRAINT `fk_b` FOREIGN KEY (`p`) REFERENCES `other` (`id`)" {
		t.Errorf("foreign keys %q", fks)
	}
	if n := AutoIncrement(ddl); n != 42 {
		t.Errorf("AutoIncrement = %d, want 42", n)
	}
	if n := AutoIncrement("CREATE TABLE `t` (\n `AUTO_INCREMENT=5` int\n) ENGINE=InnoDB"); n != 0 {
		t.Errorf("AutoIncrement read a column name: %d", n)
	}
}

func TestRequalifyDatabase(t *testing.T) {
	in := "select `shop`.`t`.`a` AS `a`,'`shop`.x' AS `s` from `shop`.`t` join `shopx`.`u` where `shop` = 1"
	want := "select `shop_r`.`t`.`a` AS `a`,'`shop`.x' AS `s` from `shop_r`.`t` join `shopx`.`u` where `shop` = 1"
	if got := RequalifyDatabase(in, "shop", "shop_r"); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCreateViewAndRoutineAs(t *testing.T) {
	v := "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select `shop`.`t`.`a` AS `a` from `shop`.`t`"
	got, err := CreateViewAs(v, "shop", "shop_r", "v2")
	want := "CREATE OR REPLACE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `shop_r`.`v2` AS select `shop_r`.`t`.`a` AS `a` from `shop_r`.`t`"
	if err != nil || got != want {
		t.Errorf("CreateViewAs = %q, %v\nwant %q", got, err, want)
	}
	f := "CREATE DEFINER=`root`@`%` FUNCTION `f`(x INT) RETURNS int(11)\n    DETERMINISTIC\nRETURN (SELECT COUNT(*) FROM `shop`.`t`) + x"
	got, err = CreateRoutineAs(f, "FUNCTION", "shop", "shop_r", "f")
	want = "CREATE OR REPLACE FUNCTION `shop_r`.`f`(x INT) RETURNS int(11)\n    DETERMINISTIC\nRETURN (SELECT COUNT(*) FROM `shop_r`.`t`) + x"
	if err != nil || got != want {
		t.Errorf("CreateRoutineAs = %q, %v\nwant %q", got, err, want)
	}
}

func TestWriteLiteral(t *testing.T) {
	for _, c := range []struct {
		kind source.Kind
		v    []byte
		want string
	}{
		{source.KindInt, []byte("-42"), "-42"},
		{source.KindDouble, []byte("1.5e-300"), "1.5e-300"},
		{source.KindString, []byte("it's"), "_utf8mb4 X'69742773'"},
		{source.KindString, []byte{}, "_utf8mb4 X''"},
		{source.KindBytes, []byte{0, 0xff}, "X'00ff'"},
		{source.KindDate, nil, "NULL"},
	} {
		var b strings.Builder
		if err := writeLiteral(&b, c.kind, c.v); err != nil || b.String() != c.want {
			t.Errorf("writeLiteral(%s, %q) = %q, %v; want %q", c.kind, c.v, b.String(), err, c.want)
		}
	}
	// A number field holding anything else never reaches the statement.
	for _, bad := range []string{"1; DROP TABLE t", "0x10", "", "'1'"} {
		var b strings.Builder
		if err := writeLiteral(&b, source.KindDecimal, []byte(bad)); err == nil {
			t.Errorf("writeLiteral accepted %q as a number: %s", bad, b.String())
		}
	}
}

func TestSchemaDifference(t *testing.T) {
	base := func() *Table {
		return &Table{Engine: "InnoDB", Indexes: []string{"PRIMARY"}, PrimaryKey: []string{"id"},
			Columns: []Column{{Name: "id", Type: "int(11)", Nullable: "NO"}, {Name: "name", Type: "varchar(20)", Nullable: "YES", Comment: "c"}}}
	}
	if d := SchemaDifference(base(), base(), "t"); d != "" {
		t.Errorf("equal tables differ: %s", d)
	}
	for _, c := range []struct {
		change func(*Table)
		want   string
	}{
		{func(x *Table) { x.PartitionMethod = "RANGE" }, "Table's partition type is different"},
		{func(x *Table) { x.Engine = "Aria" }, "Table t already exist but with different schema, errMsg: storage type is inconsistent"},
		{func(x *Table) { x.Indexes = append(x.Indexes, "k") }, "errMsg: indexName is inconsistent"},
		{func(x *Table) { x.Columns = x.Columns[:1] }, "Table t already exist but with different schema, errMsg: "},
		{func(x *Table) { x.PrimaryKey = []string{"name"} }, "Table t already exist but with different key type"},
		{func(x *Table) { x.Columns[1].Comment = "other" }, "column: name in existed table is different from the column in backup snapshot, column: name"},
	} {
		x := base()
		c.change(x)
		if d := SchemaDifference(x, base(), "t"); !strings.HasSuffix(d, c.want) && d != c.want {
			t.Errorf("got %q, want %q", d, c.want)
		}
	}
}

func TestCreateTriggerAsWritten(t *testing.T) {
	// A trigger's saved statement is as its author wrote it.
	tr := "CREATE DEFINER=`root`@`127.0.0.1` TRIGGER shop.customers_bi BEFORE INSERT ON shop.customers FOR EACH ROW SET NEW.first_name = TRIM(NEW.first_name) + shop.f(1)"
	got, err := CreateTriggerAs(tr, "shop", "shop_r", "customers_bi", "customers")
	want := "CREATE OR REPLACE TRIGGER `shop_r`.`customers_bi` BEFORE INSERT ON `shop_r`.`customers` FOR EACH ROW SET NEW.first_name = TRIM(NEW.first_name) + `shop_r`.f(1)"
	if err != nil || got != want {
		t.Errorf("CreateTriggerAs = %q, %v\nwant %q", got, err, want)
	}
}

func TestCreateTriggerAndEventAs(t *testing.T) {
	tr := "CREATE DEFINER=`root`@`localhost` TRIGGER `trg` BEFORE INSERT ON `orders` FOR EACH ROW SET NEW.note = (SELECT COUNT(*) FROM `shop`.`customers`)"
	got, err := CreateTriggerAs(tr, "shop", "shop_r", "trg", "orders2")
	want := "CREATE OR REPLACE TRIGGER `shop_r`.`trg` BEFORE INSERT ON `shop_r`.`orders2` FOR EACH ROW SET NEW.note = (SELECT COUNT(*) FROM `shop_r`.`customers`)"
	if err != nil || got != want {
		t.Errorf("CreateTriggerAs = %q, %v\nwant %q", got, err, want)
	}
	ev := "CREATE DEFINER=`root`@`localhost` EVENT `nightly` ON SCHEDULE EVERY 1 DAY STARTS '2026-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO DELETE FROM `shop`.`audit_log` WHERE 0"
	got, err = CreateEventAs(ev, "shop", "shop_r", "nightly")
	want = "CREATE OR REPLACE EVENT `shop_r`.`nightly` ON SCHEDULE EVERY 1 DAY STARTS '2026-01-01 00:00:00' ON COMPLETION NOT PRESERVE DISABLE DO DELETE FROM `shop_r`.`audit_log` WHERE 0"
	if err != nil || got != want {
		t.Errorf("CreateEventAs = %q, %v\nwant %q", got, err, want)
	}
}
