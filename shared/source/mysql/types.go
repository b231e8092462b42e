package mysql

import (
	"fmt"
	"strings"

	"github.com/srbackup/srbackup/shared/source"
)

// columnInfo is one row of information_schema.COLUMNS, plus whether the
// column carries MariaDB's JSON check.
type columnInfo struct {
	name          string
	dataType      string // DATA_TYPE, e.g. "bigint"
	columnType    string // COLUMN_TYPE, e.g. "bigint(20) unsigned"
	nullable      bool
	charset       string
	collation     string
	precision     int64 // NUMERIC_PRECISION
	scale         int64 // NUMERIC_SCALE
	datetimeScale int64 // DATETIME_PRECISION
	extra         string
	json          bool
}

// intBits are the widths of the integer types.
var intBits = map[string]int{
	"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64,
}

// column maps a COLUMNS row to a source.Column.
func (ci columnInfo) column() (source.Column, error) {
	c := source.Column{
		Name:       ci.name,
		SourceType: ci.columnType,
		Nullable:   ci.nullable,
		Generated:  strings.Contains(ci.extra, "VIRTUAL GENERATED") || strings.Contains(ci.extra, "STORED GENERATED"),
	}
	dt := strings.ToLower(ci.dataType)
	unsigned := strings.Contains(strings.ToLower(ci.columnType), "unsigned")
	switch {
	case intBits[dt] != 0:
		c.Kind, c.Bits = source.KindInt, intBits[dt]
		if unsigned {
			c.Kind = source.KindUint
		}
	case dt == "decimal" || dt == "numeric":
		c.Kind, c.Precision, c.Scale = source.KindDecimal, int(ci.precision), int(ci.scale)
		if c.Precision < 1 || c.Precision > 65 || c.Scale < 0 || c.Scale > c.Precision {
			return c, fmt.Errorf("column %s: bad DECIMAL precision/scale %d,%d", quoteIdent(ci.name), c.Precision, c.Scale)
		}
	case dt == "float":
		c.Kind = source.KindFloat
	case dt == "double" || dt == "real" || dt == "double precision":
		c.Kind = source.KindDouble
	case dt == "bit":
		c.Kind, c.Bits = source.KindBit, int(ci.precision)
		if c.Bits < 1 || c.Bits > 64 {
			return c, fmt.Errorf("column %s: bad BIT width %d", quoteIdent(ci.name), c.Bits)
		}
	case dt == "date":
		c.Kind = source.KindDate
	case dt == "datetime":
		c.Kind, c.Scale = source.KindDateTime, int(ci.datetimeScale)
	case dt == "timestamp":
		c.Kind, c.Scale = source.KindTimestamp, int(ci.datetimeScale)
	case dt == "time":
		c.Kind, c.Scale = source.KindTime, int(ci.datetimeScale)
	case dt == "year":
		c.Kind, c.Precision = source.KindYear, 4
		if strings.HasPrefix(strings.ToLower(ci.columnType), "year(2)") {
			c.Precision = 2
		}
	case dt == "json":
		c.Kind = source.KindJSON
	case dt == "char" || dt == "varchar" || dt == "tinytext" || dt == "text" || dt == "mediumtext" ||
		dt == "longtext" || dt == "enum" || dt == "set" || dt == "uuid" || dt == "inet4" || dt == "inet6":
		c.Kind = source.KindString
		if ci.json {
			c.Kind = source.KindJSON
		}
	case dt == "binary" || dt == "varbinary" || dt == "tinyblob" || dt == "blob" || dt == "mediumblob" || dt == "longblob":
		c.Kind = source.KindBytes
	case dt == "geometry" || dt == "point" || dt == "linestring" || dt == "polygon" || dt == "multipoint" ||
		dt == "multilinestring" || dt == "multipolygon" || dt == "geometrycollection" || dt == "geomcollection":
		c.Kind = source.KindGeometry
	default:
		return c, fmt.Errorf("column %s: unsupported type %s", quoteIdent(ci.name), ci.columnType)
	}
	if c.Kind == source.KindString || c.Kind == source.KindJSON {
		c.Charset, c.Collation = ci.charset, ci.collation
	}
	if (c.Kind == source.KindDateTime || c.Kind == source.KindTimestamp || c.Kind == source.KindTime) && (c.Scale < 0 || c.Scale > 6) {
		return c, fmt.Errorf("column %s: bad fractional seconds precision %d", quoteIdent(ci.name), c.Scale)
	}
	return c, nil
}

// selectExpr is the expression that reads column c in its canonical text
// form. FLOAT is widened to DOUBLE because the text protocol prints FLOAT
// with six significant digits, which loses bits; the widening is exact.
func selectExpr(c source.Column) string {
	if c.Kind == source.KindFloat {
		return "CAST(" + quoteIdent(c.Name) + " AS DOUBLE)"
	}
	return quoteIdent(c.Name)
}

// boundExpr is the expression that reads a key column's value in its
// bound encoding (see source.Kind).
func boundExpr(c source.Column) string {
	if c.Kind == source.KindString && c.Charset == "" {
		// UUID, INET6, INET4: the hex of the text form (HEX alone would
		// give the binary form, which the literal could not be read back
		// from).
		return "HEX(CAST(" + quoteIdent(c.Name) + " AS CHAR CHARACTER SET utf8mb4))"
	}
	if c.Kind == source.KindString || c.Kind == source.KindBytes {
		return "HEX(" + quoteIdent(c.Name) + ")"
	}
	return quoteIdent(c.Name)
}
