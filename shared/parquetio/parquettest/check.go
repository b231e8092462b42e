package parquettest

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/source"
)

// The checks below derive what DuckDB must show from the source's
// canonical text with the standard library only — none of parquetio's
// own parsers — so a bug there cannot hide itself.

// CheckRow compares row r of a DuckDB table with the source values of the
// same row (canonical text, nil for NULL) and returns one message per
// mismatch.
func CheckRow(specs []parquetio.ColumnSpec, src [][]byte, t *Table, r int) []string {
	var bad []string
	for i, s := range specs {
		main := t.Index(s.Name)
		if main < 0 {
			bad = append(bad, fmt.Sprintf("column %q missing", s.Name))
			continue
		}
		var companion *string
		if extra := s.RawColumn + s.SRIDColumn; extra != "" {
			j := t.Index(extra)
			if j < 0 {
				bad = append(bad, fmt.Sprintf("column %q missing", extra))
				continue
			}
			companion = t.Rows[r][j]
		}
		if err := check(s, src[i], t.Rows[r][main], companion); err != nil {
			bad = append(bad, fmt.Sprintf("column %q (%s, DuckDB %s): %v", s.Name, s.SourceType, t.Columns[main].Type, err))
		}
	}
	return bad
}

func check(s parquetio.ColumnSpec, src []byte, got, companion *string) error {
	if src == nil {
		if got != nil || companion != nil {
			return fmt.Errorf("source NULL, DuckDB %s / %s", show(got), show(companion))
		}
		return nil
	}
	v := string(src)
	if got == nil && (s.RawColumn == "" || companion == nil) {
		return fmt.Errorf("source %q, DuckDB NULL", clip(v))
	}
	want, err := expected(s, v)
	if err != nil {
		return err
	}
	switch {
	case s.RawColumn != "" && want.raw:
		if got != nil || companion == nil || *companion != v {
			return fmt.Errorf("source %q is no real date: want NULL and the text in %s, DuckDB %s / %s", v, s.RawColumn, show(got), show(companion))
		}
		return nil
	case s.RawColumn != "" && companion != nil:
		return fmt.Errorf("source %q: %s should be NULL, is %q", v, s.RawColumn, *companion)
	case s.SRIDColumn != "" && (companion == nil || *companion != want.srid):
		return fmt.Errorf("source SRID %s, DuckDB %s", want.srid, show(companion))
	}
	if got == nil {
		return fmt.Errorf("source %q, DuckDB NULL", clip(v))
	}
	switch s.Kind {
	case source.KindFloat:
		g, err := strconv.ParseFloat(*got, 32)
		if err != nil || math.Float32bits(float32(g)) != math.Float32bits(want.f32) {
			return fmt.Errorf("source %s (float bits %08x), DuckDB %s", v, math.Float32bits(want.f32), *got)
		}
	case source.KindDouble:
		g, err := strconv.ParseFloat(*got, 64)
		if err != nil || math.Float64bits(g) != math.Float64bits(want.f64) {
			return fmt.Errorf("source %s, DuckDB %s", v, *got)
		}
	default:
		if *got != want.text {
			return fmt.Errorf("source %q: want %q, DuckDB %q", clip(v), clip(want.text), clip(*got))
		}
	}
	return nil
}

type expectation struct {
	text string // DuckDB's text for the main column
	raw  bool   // not a real date: main column NULL, text in the raw column
	srid string
	f32  float32
	f64  float64
}

func expected(s parquetio.ColumnSpec, v string) (expectation, error) {
	var e expectation
	switch s.Kind {
	case source.KindInt, source.KindYear:
		n, err := strconv.ParseInt(v, 10, 64)
		e.text = strconv.FormatInt(n, 10)
		return e, err
	case source.KindUint:
		n, err := strconv.ParseUint(v, 10, 64)
		e.text = strconv.FormatUint(n, 10)
		return e, err
	case source.KindDecimal:
		r, ok := new(big.Rat).SetString(v)
		if !ok {
			return e, fmt.Errorf("bad source decimal %q", v)
		}
		e.text = r.FloatString(s.Scale)
		return e, nil
	case source.KindFloat:
		f, err := strconv.ParseFloat(v, 64)
		e.f32 = float32(f)
		if err == nil && float64(e.f32) != f {
			err = fmt.Errorf("source %s is not a float widened to double", v)
		}
		return e, err
	case source.KindDouble:
		f, err := strconv.ParseFloat(v, 64)
		e.f64 = f
		return e, err
	case source.KindBit:
		var n uint64
		for _, b := range []byte(v) {
			n = n<<8 | uint64(b)
		}
		e.text = strconv.FormatUint(n, 10)
		return e, nil
	case source.KindDate:
		t, err := time.Parse(time.DateOnly, v)
		if err != nil || t.Year() < 1 {
			e.raw = true
			return e, nil
		}
		e.text = strconv.FormatInt(t.Unix()/86400, 10)
		return e, nil
	case source.KindDateTime, source.KindTimestamp:
		t, err := time.Parse("2006-01-02 15:04:05.999999", v)
		if err != nil || t.Year() < 1 {
			e.raw = true
			return e, nil
		}
		e.text = strconv.FormatInt(t.UnixMicro(), 10)
		return e, nil
	case source.KindTime:
		neg := strings.HasPrefix(v, "-")
		parts := strings.SplitN(strings.TrimPrefix(v, "-"), ":", 3)
		if len(parts) != 3 {
			return e, fmt.Errorf("bad source time %q", v)
		}
		d, err := time.ParseDuration(parts[0] + "h" + parts[1] + "m" + parts[2] + "s")
		if neg {
			d = -d
		}
		e.text = strconv.FormatInt(d.Microseconds(), 10)
		return e, err
	case source.KindString, source.KindJSON:
		e.text = v
		return e, nil
	case source.KindBytes:
		e.text = strings.ToUpper(hex.EncodeToString([]byte(v)))
		return e, nil
	case source.KindGeometry:
		if len(v) < 4 {
			return e, fmt.Errorf("geometry of %d bytes", len(v))
		}
		e.srid = strconv.FormatUint(uint64(binary.LittleEndian.Uint32([]byte(v))), 10)
		e.text = strings.ToUpper(hex.EncodeToString([]byte(v[4:])))
		return e, nil
	}
	return e, fmt.Errorf("unknown kind %q", s.Kind)
}

func show(p *string) string {
	if p == nil {
		return "NULL"
	}
	return strconv.Quote(clip(*p))
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
