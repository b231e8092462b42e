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

// encode appends the Parquet values of text value v (nil for NULL) to the
// columns of its leaves, cols[0] and, with a companion, cols[1], each value
// with its levels (leaf is the first leaf's index). Byte-array values are
// copied into arena, which it returns grown, so they outlive the driver's
// buffer. size estimates the memory the values take in column buffers. On
// an error nothing is appended to cols.
func (c *codec) encode(cols [][]parquet.Value, leaf int, v []byte, arena []byte) (_ []byte, size int, err error) {
	if v == nil {
		for k := range c.leaves {
			cols[k] = append(cols[k], parquet.Value{}.Level(0, 0, leaf+k))
		}
		return arena, 8 * c.leaves, nil
	}
	one := func(val parquet.Value) {
		cols[0] = append(cols[0], val.Level(0, 1, leaf))
	}
	// bytesValue copies b into the arena and returns it as a value.
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
			return arena, 0, err
		}
		if s.Bits < 64 && (n < -1<<(s.Bits-1) || n >= 1<<(s.Bits-1)) {
			return arena, 0, errRange
		}
		if s.Bits == 64 {
			one(parquet.Int64Value(n))
		} else {
			one(parquet.Int32Value(int32(n)))
		}
		return arena, 8, nil
	case source.KindUint:
		n, err := parseUint(v)
		if err != nil {
			return arena, 0, err
		}
		if s.Bits < 64 && n >= 1<<s.Bits {
			return arena, 0, errRange
		}
		if s.Bits == 64 {
			one(parquet.Int64Value(int64(n)))
		} else {
			one(parquet.Int32Value(int32(uint32(n))))
		}
		return arena, 8, nil
	case source.KindDecimal:
		switch c.mode {
		case decimal32, decimal64:
			n, err := parseDecimal64(v, s.Precision, s.Scale)
			if err != nil {
				return arena, 0, err
			}
			if c.mode == decimal32 {
				one(parquet.Int32Value(int32(n)))
			} else {
				one(parquet.Int64Value(n))
			}
			return arena, 8, nil
		case decimalFixed:
			n, err := parseDecimal(v, s.Precision, s.Scale)
			if err != nil {
				return arena, 0, err
			}
			start := len(arena)
			arena = append(arena, make([]byte, c.flba)...)
			b := arena[start:len(arena):len(arena)]
			if err := putTwosComplement(b, n); err != nil {
				return arena[:start], 0, err
			}
			one(parquet.FixedLenByteArrayValue(b))
			return arena, c.flba + 4, nil
		default:
			start := len(arena)
			var err error
			if arena, err = canonicalDecimal(arena, v, s.Precision, s.Scale); err != nil {
				return arena[:start], 0, err
			}
			one(parquet.ByteArrayValue(arena[start:len(arena):len(arena)]))
			return arena, len(arena) - start + 4, nil
		}
	case source.KindFloat:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return arena, 0, errSyntax
		}
		f32 := float32(f)
		if float64(f32) != f && !math.IsNaN(f) {
			return arena, 0, fmt.Errorf("%w: not a single-precision value", errRange)
		}
		one(parquet.FloatValue(f32))
		return arena, 8, nil
	case source.KindDouble:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return arena, 0, errSyntax
		}
		one(parquet.DoubleValue(f))
		return arena, 8, nil
	case source.KindBit:
		if len(v) > 8 || len(v) != (s.Bits+7)/8 {
			return arena, 0, fmt.Errorf("%w: %d bytes for BIT(%d)", errSyntax, len(v), s.Bits)
		}
		var n uint64
		for _, b := range v {
			n = n<<8 | uint64(b)
		}
		one(parquet.Int64Value(int64(n)))
		return arena, 8, nil
	case source.KindDate, source.KindDateTime, source.KindTimestamp:
		var n int64
		var ok bool
		var err error
		if s.Kind == source.KindDate {
			n, ok, err = parseDate(v)
		} else {
			n, ok, err = parseDateTime(v, s.Scale)
		}
		if err != nil {
			return arena, 0, err
		}
		if !ok {
			cols[0] = append(cols[0], parquet.Value{}.Level(0, 0, leaf))
			cols[1] = append(cols[1], bytesValue(v).Level(0, 1, leaf+1))
			return arena, 8 + len(v) + 4, nil
		}
		if s.Kind == source.KindDate {
			one(parquet.Int32Value(int32(n)))
		} else {
			one(parquet.Int64Value(n))
		}
		cols[1] = append(cols[1], parquet.Value{}.Level(0, 0, leaf+1))
		return arena, 16, nil
	case source.KindTime:
		us, err := parseTime(v, s.Scale)
		if err != nil {
			return arena, 0, err
		}
		one(parquet.Int64Value(us))
		return arena, 8, nil
	case source.KindYear:
		n, err := parseUint(v)
		if err != nil {
			return arena, 0, err
		}
		if n > 9999 {
			return arena, 0, errRange
		}
		one(parquet.Int32Value(int32(n)))
		return arena, 8, nil
	case source.KindString, source.KindJSON:
		if !utf8.Valid(v) {
			return arena, 0, fmt.Errorf("%w: not UTF-8", errSyntax)
		}
		one(bytesValue(v))
		return arena, len(v) + 4, nil
	case source.KindBytes:
		one(bytesValue(v))
		return arena, len(v) + 4, nil
	case source.KindGeometry:
		if len(v) < 4 {
			return arena, 0, fmt.Errorf("%w: geometry shorter than its SRID", errSyntax)
		}
		srid := binary.LittleEndian.Uint32(v)
		one(bytesValue(v[4:]))
		cols[1] = append(cols[1], parquet.Int32Value(int32(srid)).Level(0, 1, leaf+1))
		return arena, len(v) + 8, nil
	}
	return arena, 0, fmt.Errorf("unsupported kind %q", s.Kind)
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
