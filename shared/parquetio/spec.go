package parquetio

import (
	"fmt"

	"github.com/parquet-go/parquet-go"

	"github.com/srbackup/srbackup/shared/source"
)

// MetadataKey is the Parquet key-value metadata entry holding the file's
// []ColumnSpec as JSON, so each file explains itself.
const MetadataKey = "srbackup.columns"

// Companion column suffixes; see ColumnSpec.RawColumn and SRIDColumn.
const (
	rawSuffix  = "__raw"
	sridSuffix = "__srid"
)

// maxParquetDecimal is the widest DECIMAL that common Parquet readers
// (DuckDB, Spark, Athena, StarRocks) read as a decimal: 38 digits, 16 bytes.
const maxParquetDecimal = 38

// ColumnSpec records how one source column is stored in Parquet and how
// its values are restored. The pipeline stores the list in the snapshot's
// __meta, and every file carries it too (MetadataKey).
type ColumnSpec struct {
	// Name is the source column's name, which is also the Parquet column's.
	Name       string      `json:"name"`
	SourceType string      `json:"source_type"`
	Kind       source.Kind `json:"kind"`
	Nullable   bool        `json:"nullable"`
	Generated  bool        `json:"generated,omitempty"`
	// Bits, Precision and Scale are the source.Column's.
	Bits      int `json:"bits,omitempty"`
	Precision int `json:"precision,omitempty"`
	Scale     int `json:"scale,omitempty"`
	// Physical and Logical are the Parquet types, e.g. "INT64" and
	// "INT(64,false)", "FIXED_LEN_BYTE_ARRAY(16)" and "DECIMAL(38,30)".
	Physical string `json:"physical"`
	Logical  string `json:"logical,omitempty"`
	// RawColumn (DATE, DATETIME, TIMESTAMP) names a string column holding
	// the source text of values that are no real date — zero dates such
	// as 0000-00-00 — for which the typed column is NULL.
	RawColumn string `json:"raw_column,omitempty"`
	// SRIDColumn (GEOMETRY) names the UINT32 column holding each value's
	// SRID; the column itself holds WKB.
	SRIDColumn string `json:"srid_column,omitempty"`
	// Restore says how a value becomes the source value again.
	Restore string `json:"restore"`
}

// leaf is one Parquet column of a ColumnSpec.
type leaf struct {
	name string
	node parquet.Node
}

// Specs maps source columns to their Parquet storage.
func Specs(cols []source.Column) ([]ColumnSpec, error) {
	specs, _, err := plan(cols)
	return specs, err
}

// plan maps source columns to specs and to the Parquet leaves, in order:
// each column's own leaf, followed by its companion if it has one.
func plan(cols []source.Column) ([]ColumnSpec, []leaf, error) {
	if len(cols) == 0 {
		return nil, nil, fmt.Errorf("no columns")
	}
	taken := make(map[string]bool, len(cols))
	for _, c := range cols {
		if c.Name == "" {
			return nil, nil, fmt.Errorf("a column has no name")
		}
		if taken[c.Name] {
			return nil, nil, fmt.Errorf("column %q appears twice", c.Name)
		}
		taken[c.Name] = true
	}
	companion := func(name, suffix string) string {
		n := name + suffix
		for taken[n] {
			n += "_"
		}
		taken[n] = true
		return n
	}
	specs := make([]ColumnSpec, 0, len(cols))
	var leaves []leaf
	for _, c := range cols {
		s := ColumnSpec{
			Name: c.Name, SourceType: c.SourceType, Kind: c.Kind, Nullable: c.Nullable, Generated: c.Generated,
			Bits: c.Bits, Precision: c.Precision, Scale: c.Scale,
		}
		node, restore, err := storage(c)
		if err != nil {
			return nil, nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		s.Restore = restore
		s.Physical, s.Logical = describe(node)
		leaves = append(leaves, leaf{c.Name, parquet.Optional(node)})
		switch c.Kind {
		case source.KindDate, source.KindDateTime, source.KindTimestamp:
			s.RawColumn = companion(c.Name, rawSuffix)
			leaves = append(leaves, leaf{s.RawColumn, parquet.Optional(parquet.String())})
			s.Restore += "; where " + s.RawColumn + " is not NULL (a zero or invalid date, NULL here), its text instead"
		case source.KindGeometry:
			s.SRIDColumn = companion(c.Name, sridSuffix)
			leaves = append(leaves, leaf{s.SRIDColumn, parquet.Optional(parquet.Uint(32))})
			s.Restore += " with the SRID in " + s.SRIDColumn
		}
		specs = append(specs, s)
	}
	return specs, leaves, nil
}

// storage chooses the Parquet type of a column and states the restore rule.
func storage(c source.Column) (parquet.Node, string, error) {
	switch c.Kind {
	case source.KindInt, source.KindUint:
		bits, err := intWidth(c.Bits)
		if err != nil {
			return nil, "", err
		}
		if c.Kind == source.KindUint {
			return parquet.Uint(bits), "the unsigned integer", nil
		}
		return parquet.Int(bits), "the integer", nil
	case source.KindDecimal:
		p, s := c.Precision, c.Scale
		if p < 1 || p > 65 || s < 0 || s > p {
			return nil, "", fmt.Errorf("bad DECIMAL(%d,%d)", p, s)
		}
		rule := fmt.Sprintf("the unscaled integer with %d fraction digits", s)
		switch {
		case p <= 9:
			return parquet.Decimal(s, p, parquet.Int32Type), rule, nil
		case p <= 18:
			return parquet.Decimal(s, p, parquet.Int64Type), rule, nil
		case p <= maxParquetDecimal:
			return parquet.Decimal(s, p, parquet.FixedLenByteArrayType(decimalBytes(p))), rule, nil
		}
		return parquet.String(), fmt.Sprintf("the exact decimal text (precision %d is beyond Parquet readers' 38 digits)", p), nil
	case source.KindFloat:
		return parquet.Leaf(parquet.FloatType), "the IEEE single value, bit for bit; as SQL text, its exact double widening", nil
	case source.KindDouble:
		return parquet.Leaf(parquet.DoubleType), "the IEEE double value, bit for bit", nil
	case source.KindBit:
		if c.Bits < 1 || c.Bits > 64 {
			return nil, "", fmt.Errorf("bad BIT(%d)", c.Bits)
		}
		return parquet.Uint(64), fmt.Sprintf("the integer as BIT(%d), i.e. its %d low bits", c.Bits, c.Bits), nil
	case source.KindDate:
		return parquet.Date(), "the date (days since 1970-01-01, proleptic Gregorian)", nil
	case source.KindDateTime:
		if err := checkFSP(c.Scale); err != nil {
			return nil, "", err
		}
		return parquet.TimestampAdjusted(parquet.Microsecond, false),
			fmt.Sprintf("the wall-clock date and time (microseconds, not UTC-adjusted) with %d fraction digits", c.Scale), nil
	case source.KindTimestamp:
		if err := checkFSP(c.Scale); err != nil {
			return nil, "", err
		}
		return parquet.Timestamp(parquet.Microsecond),
			fmt.Sprintf("the UTC instant (microseconds) with %d fraction digits, written with time_zone '+00:00'", c.Scale), nil
	case source.KindTime:
		if err := checkFSP(c.Scale); err != nil {
			return nil, "", err
		}
		return parquet.Int(64), fmt.Sprintf("signed microseconds as [-]HH:MM:SS with %d fraction digits (TIME spans ±838 h, beyond Parquet TIME)", c.Scale), nil
	case source.KindYear:
		return parquet.Int(16), "the year (0 is YEAR 0000)", nil
	case source.KindString:
		return parquet.String(), "the UTF-8 text, written with SET NAMES utf8mb4", nil
	case source.KindJSON:
		return parquet.JSON(), "the JSON text as stored", nil
	case source.KindBytes:
		return parquet.Leaf(parquet.ByteArrayType), "the bytes", nil
	case source.KindGeometry:
		return parquet.Leaf(parquet.ByteArrayType), "ST_GeomFromWKB(wkb, srid)", nil
	}
	return nil, "", fmt.Errorf("unsupported kind %q", c.Kind)
}

func intWidth(bits int) (int, error) {
	switch {
	case bits == 8 || bits == 16 || bits == 32 || bits == 64:
		return bits, nil
	case bits == 24:
		return 32, nil
	}
	return 0, fmt.Errorf("bad integer width %d", bits)
}

func checkFSP(scale int) error {
	if scale < 0 || scale > 6 {
		return fmt.Errorf("bad fractional seconds precision %d", scale)
	}
	return nil
}

// describe names a leaf's physical and logical types.
func describe(n parquet.Node) (physical, logical string) {
	t := n.Type()
	physical = t.Kind().String()
	if t.Kind() == parquet.FixedLenByteArray {
		physical = fmt.Sprintf("%s(%d)", physical, t.Length())
	}
	if lt := t.LogicalType(); lt != nil {
		logical = lt.String()
	}
	return physical, logical
}
