package parquetio

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/srbackup/srbackup/shared/source"
)

// codec converts one column between the canonical text of its source.Kind
// and its Parquet leaves.
type codec struct {
	spec   ColumnSpec
	leaves int // 1, or 2 with a companion column
	mode   decimalMode
	flba   int // byte width of a FIXED_LEN_BYTE_ARRAY decimal
}

type decimalMode int

const (
	decimal32 decimalMode = iota + 1
	decimal64
	decimalFixed
	decimalText
)

func newCodec(s ColumnSpec) codec {
	c := codec{spec: s, leaves: 1}
	if s.RawColumn != "" || s.SRIDColumn != "" {
		c.leaves = 2
	}
	if s.Kind == source.KindDecimal {
		switch {
		case s.Precision <= 9:
			c.mode = decimal32
		case s.Precision <= 18:
			c.mode = decimal64
		case s.Precision <= maxParquetDecimal:
			c.mode, c.flba = decimalFixed, decimalBytes(s.Precision)
		default:
			c.mode = decimalText
		}
	}
	return c
}

// encode appends the Parquet values of text value v (nil for NULL) to row,
// without levels. Byte-array values are copied into arena, which it
// returns grown, so they outlive the driver's buffer.
func (c *codec) encode(row []parquet.Value, v []byte, arena []byte) ([]parquet.Value, []byte, error) {
	if v == nil {
		for range c.leaves {
			row = append(row, parquet.Value{})
		}
		return row, arena, nil
	}
	bytesValue := func(b []byte) parquet.Value {
		start := len(arena)
		arena = append(arena, b...)
		return parquet.ByteArrayValue(arena[start:len(arena):len(arena)])
	}
	s := &c.spec
	switch s.Kind {
	case source.KindInt:
		n, err := parseInt(v)
		if err != nil {
			return row, arena, err
		}
		if s.Bits < 64 && (n < -1<<(s.Bits-1) || n >= 1<<(s.Bits-1)) {
			return row, arena, errRange
		}
		if s.Bits == 64 {
			return append(row, parquet.Int64Value(n)), arena, nil
		}
		return append(row, parquet.Int32Value(int32(n))), arena, nil
	case source.KindUint:
		n, err := parseUint(v)
		if err != nil {
			return row, arena, err
		}
		if s.Bits < 64 && n >= 1<<s.Bits {
			return row, arena, errRange
		}
		if s.Bits == 64 {
			return append(row, parquet.Int64Value(int64(n))), arena, nil
		}
		return append(row, parquet.Int32Value(int32(uint32(n)))), arena, nil
	case source.KindDecimal:
		switch c.mode {
		case decimal32, decimal64:
			n, err := parseDecimal64(v, s.Precision, s.Scale)
			if err != nil {
				return row, arena, err
			}
			if c.mode == decimal32 {
				return append(row, parquet.Int32Value(int32(n))), arena, nil
			}
			return append(row, parquet.Int64Value(n)), arena, nil
		case decimalFixed:
			n, err := parseDecimal(v, s.Precision, s.Scale)
			if err != nil {
				return row, arena, err
			}
			start := len(arena)
			arena = append(arena, make([]byte, c.flba)...)
			b := arena[start:len(arena):len(arena)]
			if err := putTwosComplement(b, n); err != nil {
				return row, arena, err
			}
			return append(row, parquet.FixedLenByteArrayValue(b)), arena, nil
		default:
			start := len(arena)
			var err error
			if arena, err = canonicalDecimal(arena, v, s.Precision, s.Scale); err != nil {
				return row, arena[:start], err
			}
			return append(row, parquet.ByteArrayValue(arena[start:len(arena):len(arena)])), arena, nil
		}
	case source.KindFloat:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return row, arena, errSyntax
		}
		f32 := float32(f)
		if float64(f32) != f && !math.IsNaN(f) {
			return row, arena, fmt.Errorf("%w: not a single-precision value", errRange)
		}
		return append(row, parquet.FloatValue(f32)), arena, nil
	case source.KindDouble:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return row, arena, errSyntax
		}
		return append(row, parquet.DoubleValue(f)), arena, nil
	case source.KindBit:
		if len(v) > 8 || len(v) != (s.Bits+7)/8 {
			return row, arena, fmt.Errorf("%w: %d bytes for BIT(%d)", errSyntax, len(v), s.Bits)
		}
		var n uint64
		for _, b := range v {
			n = n<<8 | uint64(b)
		}
		return append(row, parquet.Int64Value(int64(n))), arena, nil
	case source.KindDate:
		days, ok, err := parseDate(v)
		if err != nil {
			return row, arena, err
		}
		if !ok {
			return append(row, parquet.Value{}, bytesValue(v)), arena, nil
		}
		return append(row, parquet.Int32Value(int32(days)), parquet.Value{}), arena, nil
	case source.KindDateTime, source.KindTimestamp:
		us, ok, err := parseDateTime(v, s.Scale)
		if err != nil {
			return row, arena, err
		}
		if !ok {
			return append(row, parquet.Value{}, bytesValue(v)), arena, nil
		}
		return append(row, parquet.Int64Value(us), parquet.Value{}), arena, nil
	case source.KindTime:
		us, err := parseTime(v, s.Scale)
		if err != nil {
			return row, arena, err
		}
		return append(row, parquet.Int64Value(us)), arena, nil
	case source.KindYear:
		n, err := parseUint(v)
		if err != nil {
			return row, arena, err
		}
		if n > 9999 {
			return row, arena, errRange
		}
		return append(row, parquet.Int32Value(int32(n))), arena, nil
	case source.KindString, source.KindJSON:
		if !utf8.Valid(v) {
			return row, arena, fmt.Errorf("%w: not UTF-8", errSyntax)
		}
		return append(row, bytesValue(v)), arena, nil
	case source.KindBytes:
		return append(row, bytesValue(v)), arena, nil
	case source.KindGeometry:
		if len(v) < 4 {
			return row, arena, fmt.Errorf("%w: geometry shorter than its SRID", errSyntax)
		}
		srid := binary.LittleEndian.Uint32(v)
		return append(row, bytesValue(v[4:]), parquet.Int32Value(int32(srid))), arena, nil
	}
	return row, arena, fmt.Errorf("unsupported kind %q", s.Kind)
}

// decode appends to dst the canonical text of the value stored in vals
// (this column's leaves) and reports false for NULL.
func (c *codec) decode(dst []byte, vals []parquet.Value) ([]byte, bool, error) {
	v := vals[0]
	s := &c.spec
	if c.spec.RawColumn != "" && !vals[1].IsNull() {
		return append(dst, vals[1].ByteArray()...), true, nil
	}
	if v.IsNull() {
		return dst, false, nil
	}
	switch s.Kind {
	case source.KindInt:
		if s.Bits == 64 {
			return strconv.AppendInt(dst, v.Int64(), 10), true, nil
		}
		return strconv.AppendInt(dst, int64(v.Int32()), 10), true, nil
	case source.KindUint:
		if s.Bits == 64 {
			return strconv.AppendUint(dst, v.Uint64(), 10), true, nil
		}
		return strconv.AppendUint(dst, uint64(v.Uint32()), 10), true, nil
	case source.KindDecimal:
		switch c.mode {
		case decimal32:
			return formatDecimal64(dst, int64(v.Int32()), s.Scale), true, nil
		case decimal64:
			return formatDecimal64(dst, v.Int64(), s.Scale), true, nil
		case decimalFixed:
			return formatDecimal(dst, fromTwosComplement(v.ByteArray()), s.Scale), true, nil
		}
		return append(dst, v.ByteArray()...), true, nil
	case source.KindFloat:
		return strconv.AppendFloat(dst, float64(v.Float()), 'g', -1, 64), true, nil
	case source.KindDouble:
		return strconv.AppendFloat(dst, v.Double(), 'g', -1, 64), true, nil
	case source.KindBit:
		n := v.Uint64()
		for i := (s.Bits+7)/8 - 1; i >= 0; i-- {
			dst = append(dst, byte(n>>(8*i)))
		}
		return dst, true, nil
	case source.KindDate:
		return formatDate(dst, int64(v.Int32())), true, nil
	case source.KindDateTime, source.KindTimestamp:
		return formatDateTime(dst, v.Int64(), s.Scale), true, nil
	case source.KindTime:
		return formatTime(dst, v.Int64(), s.Scale), true, nil
	case source.KindYear:
		return appendDigits(dst, int64(v.Int32()), s.Precision), true, nil
	case source.KindString, source.KindJSON, source.KindBytes:
		return append(dst, v.ByteArray()...), true, nil
	case source.KindGeometry:
		dst = binary.LittleEndian.AppendUint32(dst, vals[1].Uint32())
		return append(dst, v.ByteArray()...), true, nil
	}
	return dst, false, fmt.Errorf("unsupported kind %q", s.Kind)
}

// valueBytes estimates the memory a value takes in a column buffer.
func valueBytes(v parquet.Value) int {
	if v.Kind() == parquet.ByteArray || v.Kind() == parquet.FixedLenByteArray {
		return len(v.ByteArray()) + 4
	}
	return 8
}
