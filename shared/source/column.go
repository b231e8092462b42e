package source

// Kind classifies a column by how its values travel. Each kind fixes the
// canonical text form of a value in Rows.Values, which for MariaDB and
// MySQL is the text protocol's form except where noted, and the bound
// encoding used in Shard.Lo and Shard.Hi for key columns.
type Kind string

// Column kinds.
const (
	// KindInt and KindUint: TINYINT … BIGINT, signed or UNSIGNED. Value:
	// decimal digits with an optional '-' (leading zeros of ZEROFILL
	// allowed). Bound: the same digits.
	KindInt  Kind = "int"
	KindUint Kind = "uint"
	// KindDecimal: DECIMAL(p,s). Value: [-]digits[.digits], exactly s
	// fraction digits. Bound: the same text.
	KindDecimal Kind = "decimal"
	// KindFloat: FLOAT, single precision. Value: the shortest text that
	// reads back as the exact DOUBLE widening of the stored float (MariaDB
	// prints FLOAT with 6 digits, which loses bits, so it is read as
	// CAST(col AS DOUBLE)). Not a bound.
	KindFloat Kind = "float"
	// KindDouble: DOUBLE. Value: shortest round-trip text. Not a bound.
	KindDouble Kind = "double"
	// KindBit: BIT(n). Value: ceil(n/8) bytes, big-endian. Not a bound.
	KindBit Kind = "bit"
	// KindDate: DATE. Value: YYYY-MM-DD, possibly invalid such as
	// 0000-00-00 or 2024-02-00 (zero dates). Bound: the same text.
	KindDate Kind = "date"
	// KindDateTime: DATETIME(fsp). Value: YYYY-MM-DD HH:MM:SS[.f…] with
	// exactly fsp fraction digits, possibly a zero date. Bound: the text.
	KindDateTime Kind = "datetime"
	// KindTimestamp: TIMESTAMP(fsp). Value: like KindDateTime, in UTC.
	// Bound: the text, in UTC.
	KindTimestamp Kind = "timestamp"
	// KindTime: TIME(fsp), a signed duration up to ±838:59:59.999999.
	// Value: [-]HH:MM:SS[.f…] (HH may have three digits). Bound: the text.
	KindTime Kind = "time"
	// KindYear: YEAR. Value: four digits (two for a legacy YEAR(2)).
	// Bound: the digits.
	KindYear Kind = "year"
	// KindString: CHAR, VARCHAR, TEXT, ENUM, SET and text-like types such
	// as UUID and INET6. Value: UTF-8 text (the connection character set
	// is utf8mb4, so other character sets are converted). Bound: the hex
	// of the value's bytes in the column's own character set.
	KindString Kind = "string"
	// KindJSON: JSON (in MariaDB an alias of LONGTEXT with a json_valid
	// check). Value: the document's UTF-8 text as stored. Not a bound.
	KindJSON Kind = "json"
	// KindBytes: BINARY, VARBINARY, BLOB. Value: the bytes. Bound: their
	// hex.
	KindBytes Kind = "bytes"
	// KindGeometry: GEOMETRY and its subtypes. Value: the server's
	// internal form, a 4-byte little-endian SRID followed by WKB. Not a
	// bound.
	KindGeometry Kind = "geometry"
)

// Column describes one column of a table.
type Column struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// SourceType is the column's full type in the source's dialect,
	// e.g. "decimal(65,30) unsigned", "enum('a','b')", "datetime(6)".
	SourceType string `json:"source_type"`
	Nullable   bool   `json:"nullable"`
	// Charset and Collation are set for text columns.
	Charset   string `json:"charset,omitempty"`
	Collation string `json:"collation,omitempty"`
	// Bits is the width of KindInt/KindUint (8, 16, 24, 32, 64) and the
	// n of BIT(n).
	Bits int `json:"bits,omitempty"`
	// Precision and Scale are DECIMAL's p and s; for DATETIME, TIMESTAMP
	// and TIME, Scale is the number of fraction digits. For YEAR,
	// Precision is the display width (4, or 2 for a legacy YEAR(2)).
	Precision int `json:"precision,omitempty"`
	Scale     int `json:"scale,omitempty"`
	// Generated marks a generated (computed) column: its values are backed
	// up but a restore lets the server compute them.
	Generated bool `json:"generated,omitempty"`
}

// Splittable reports whether shards can be bounded by this column's
// values.
func (k Kind) Splittable() bool {
	switch k {
	case KindInt, KindUint, KindDecimal, KindDate, KindDateTime, KindTimestamp,
		KindTime, KindYear, KindString, KindBytes:
		return true
	}
	return false
}
