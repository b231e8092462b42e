package parquetio

import (
	"errors"
	"math"
	"math/big"
	"strconv"
)

// Exact parsers and formatters for the canonical text forms of
// source.Kind. None goes through float64 except the float kinds
// themselves, and every parser rejects what it cannot represent exactly.

var (
	errSyntax = errors.New("malformed value")
	errRange  = errors.New("value out of range")
)

// parseInt parses [-]digits into an int64.
func parseInt(b []byte) (int64, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, err := parseUint(b)
	if err != nil {
		return 0, err
	}
	if neg {
		if u > 1<<63 {
			return 0, errRange
		}
		return -int64(u), nil // -int64(1<<63) wraps to MinInt64, as wanted
	}
	if u > math.MaxInt64 {
		return 0, errRange
	}
	return int64(u), nil
}

// parseUint parses digits into a uint64.
func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, errSyntax
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errSyntax
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, errRange
		}
		n = n*10 + d
	}
	return n, nil
}

// decimalDigits splits [-]int[.frac] into its sign and the digits of the
// unscaled value at the given scale, without leading zeros ("" for zero).
// A fraction longer than scale is an error unless the extra digits are
// zeros; a shorter one is padded.
func decimalDigits(b []byte, scale int) (neg bool, digits []byte, err error) {
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	intPart, frac := b, []byte(nil)
	for i, c := range b {
		if c == '.' {
			intPart, frac = b[:i], b[i+1:]
			break
		}
	}
	if len(intPart) == 0 && len(frac) == 0 {
		return false, nil, errSyntax
	}
	for len(frac) > scale {
		if frac[len(frac)-1] != '0' {
			return false, nil, errRange
		}
		frac = frac[:len(frac)-1]
	}
	digits = make([]byte, 0, len(intPart)+scale)
	for _, part := range [][]byte{intPart, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return false, nil, errSyntax
			}
			if len(digits) == 0 && c == '0' {
				continue // leading zero
			}
			digits = append(digits, c)
		}
	}
	if len(digits) > 0 {
		for range scale - len(frac) {
			digits = append(digits, '0')
		}
	}
	if len(digits) == 0 {
		neg = false // -0.00 is 0.00
	}
	return neg, digits, nil
}

// parseDecimal parses a DECIMAL(precision, scale) text into its unscaled
// value.
func parseDecimal(b []byte, precision, scale int) (*big.Int, error) {
	neg, digits, err := decimalDigits(b, scale)
	if err != nil {
		return nil, err
	}
	if len(digits) > precision {
		return nil, errRange
	}
	n := new(big.Int)
	if len(digits) > 0 {
		n.SetString(string(digits), 10)
	}
	if neg {
		n.Neg(n)
	}
	return n, nil
}

// parseDecimal64 is parseDecimal for precision ≤ 18, without allocating
// when the fraction has exactly scale digits.
func parseDecimal64(b []byte, precision, scale int) (int64, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var n int64
	digits, fracDigits, seenDot := 0, 0, false
	for _, c := range b {
		switch {
		case c == '.' && !seenDot:
			seenDot = true
			continue
		case c < '0' || c > '9':
			return 0, errSyntax
		}
		if seenDot {
			fracDigits++
			if fracDigits > scale {
				if c != '0' {
					return 0, errRange
				}
				continue
			}
		}
		if n == 0 && c == '0' {
			continue
		}
		n = n*10 + int64(c-'0')
		if digits++; digits > precision {
			return 0, errRange
		}
	}
	if len(b) == 0 || len(b) == 1 && seenDot {
		return 0, errSyntax
	}
	for ; fracDigits < scale; fracDigits++ {
		n *= 10
		if n != 0 {
			digits++
		}
	}
	if digits > precision {
		return 0, errRange
	}
	if neg {
		n = -n
	}
	return n, nil
}

// formatDecimal formats an unscaled value at scale as [-]int[.frac].
func formatDecimal(dst []byte, unscaled *big.Int, scale int) []byte {
	neg := unscaled.Sign() < 0
	digits := new(big.Int).Abs(unscaled).String()
	return appendScaled(dst, neg, digits, scale)
}

// formatDecimal64 is formatDecimal for an int64.
func formatDecimal64(dst []byte, unscaled int64, scale int) []byte {
	neg := unscaled < 0
	var abs uint64
	if neg {
		abs = uint64(-unscaled) // correct for MinInt64 too
	} else {
		abs = uint64(unscaled)
	}
	var buf [20]byte
	return appendScaled(dst, neg, string(strconv.AppendUint(buf[:0], abs, 10)), scale)
}

func appendScaled(dst []byte, neg bool, digits string, scale int) []byte {
	if neg {
		dst = append(dst, '-')
	}
	if len(digits) <= scale {
		dst = append(dst, '0')
		if scale > 0 {
			dst = append(dst, '.')
			for range scale - len(digits) {
				dst = append(dst, '0')
			}
			dst = append(dst, digits...)
		}
		return dst
	}
	dst = append(dst, digits[:len(digits)-scale]...)
	if scale > 0 {
		dst = append(dst, '.')
		dst = append(dst, digits[len(digits)-scale:]...)
	}
	return dst
}

// canonicalDecimal rewrites a DECIMAL text without zero-fill padding and
// with exactly scale fraction digits; it is how DECIMAL wider than Parquet
// can hold travels.
func canonicalDecimal(dst, b []byte, precision, scale int) ([]byte, error) {
	neg, digits, err := decimalDigits(b, scale)
	if err != nil {
		return nil, err
	}
	if len(digits) > precision {
		return nil, errRange
	}
	return appendScaled(dst, neg, string(digits), scale), nil
}

// decimalBytes is the size of the smallest two's complement big-endian
// integer that holds every unscaled DECIMAL(precision) value.
func decimalBytes(precision int) int {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil) // 10^p > every |value|
	for n := 1; ; n++ {
		max := new(big.Int).Lsh(big.NewInt(1), uint(8*n-1)) // 2^(8n-1) > every n-byte value
		if limit.Cmp(max) <= 0 {
			return n
		}
	}
}

// putTwosComplement writes v into dst (its full length) as a big-endian
// two's complement integer.
func putTwosComplement(dst []byte, v *big.Int) error {
	if v.Sign() >= 0 {
		if v.BitLen() > 8*len(dst)-1 {
			return errRange
		}
		v.FillBytes(dst)
		return nil
	}
	// -v - 1 in ones' complement is v in two's complement.
	m := new(big.Int).Neg(v)
	m.Sub(m, big.NewInt(1))
	if m.BitLen() > 8*len(dst)-1 {
		return errRange
	}
	m.FillBytes(dst)
	for i := range dst {
		dst[i] = ^dst[i]
	}
	return nil
}

// fromTwosComplement reads a big-endian two's complement integer.
func fromTwosComplement(b []byte) *big.Int {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}

// Dates and times.

const (
	microsPerSecond = 1_000_000
	microsPerDay    = 86_400 * microsPerSecond
)

// daysFromCivil counts days from 1970-01-01 to y-m-d in the proleptic
// Gregorian calendar (Howard Hinnant's algorithm), as Parquet DATE does.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digitsAt reads n digits at b[i:].
func digitsAt(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseDate parses YYYY-MM-DD. ok is false for a well-formed date that is
// not a real one (zero dates such as 0000-00-00 or 2024-02-00, year 0),
// which travels as text instead.
func parseDate(b []byte) (days int64, ok bool, err error) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false, errSyntax
	}
	y, ok1 := digitsAt(b, 0, 4)
	m, ok2 := digitsAt(b, 5, 2)
	d, ok3 := digitsAt(b, 8, 2)
	if !ok1 || !ok2 || !ok3 {
		return 0, false, errSyntax
	}
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false, nil
	}
	return daysFromCivil(y, m, d), true, nil
}

// parseFraction parses up to scale fraction digits after a '.', as
// microseconds.
func parseFraction(b []byte, scale int) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if b[0] != '.' || len(b) == 1 || len(b)-1 > scale {
		return 0, errSyntax
	}
	var us int64
	for i := 1; i <= 6; i++ {
		us *= 10
		if i < len(b) {
			c := b[i]
			if c < '0' || c > '9' {
				return 0, errSyntax
			}
			us += int64(c - '0')
		}
	}
	return us, nil
}

// parseDateTime parses YYYY-MM-DD HH:MM:SS[.ffffff] into microseconds
// since 1970-01-01 00:00:00. ok is false for a well-formed value that is
// not a real instant (a zero date), which travels as text instead.
func parseDateTime(b []byte, scale int) (micros int64, ok bool, err error) {
	if len(b) < 19 || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return 0, false, errSyntax
	}
	days, ok, err := parseDate(b[:10])
	if err != nil {
		return 0, false, err
	}
	hh, ok1 := digitsAt(b, 11, 2)
	mm, ok2 := digitsAt(b, 14, 2)
	ss, ok3 := digitsAt(b, 17, 2)
	if !ok1 || !ok2 || !ok3 {
		return 0, false, errSyntax
	}
	frac, err := parseFraction(b[19:], scale)
	if err != nil {
		return 0, false, err
	}
	if !ok || hh > 23 || mm > 59 || ss > 59 {
		return 0, false, nil
	}
	return days*microsPerDay + int64(hh*3600+mm*60+ss)*microsPerSecond + frac, true, nil
}

// parseTime parses [-]H…H:MM:SS[.ffffff] into signed microseconds.
func parseTime(b []byte, scale int) (int64, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	colon := 0
	for colon < len(b) && b[colon] != ':' {
		colon++
	}
	if colon < 1 || colon > 4 || len(b) < colon+6 || b[colon+3] != ':' {
		return 0, errSyntax
	}
	hh, ok1 := digitsAt(b, 0, colon)
	mm, ok2 := digitsAt(b, colon+1, 2)
	ss, ok3 := digitsAt(b, colon+4, 2)
	if !ok1 || !ok2 || !ok3 || mm > 59 || ss > 59 {
		return 0, errSyntax
	}
	frac, err := parseFraction(b[colon+6:], scale)
	if err != nil {
		return 0, err
	}
	us := int64(hh*3600+mm*60+ss)*microsPerSecond + frac
	if neg {
		us = -us
	}
	return us, nil
}

// appendDigits appends v with at least n digits.
func appendDigits(dst []byte, v int64, n int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], v, 10)
	for range n - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// appendFraction appends .ffffff cut to scale digits (nothing for 0).
func appendFraction(dst []byte, us int64, scale int) []byte {
	if scale == 0 {
		return dst
	}
	var buf [6]byte
	for i := 5; i >= 0; i-- {
		buf[i] = byte('0' + us%10)
		us /= 10
	}
	dst = append(dst, '.')
	return append(dst, buf[:scale]...)
}

func formatDate(dst []byte, days int64) []byte {
	y, m, d := civilFromDays(days)
	dst = appendDigits(dst, int64(y), 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int64(m), 2)
	dst = append(dst, '-')
	return appendDigits(dst, int64(d), 2)
}

func formatDateTime(dst []byte, micros int64, scale int) []byte {
	days := micros / microsPerDay
	rem := micros % microsPerDay
	if rem < 0 {
		days--
		rem += microsPerDay
	}
	dst = formatDate(dst, days)
	dst = append(dst, ' ')
	secs := rem / microsPerSecond
	dst = appendDigits(dst, secs/3600, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, secs/60%60, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, secs%60, 2)
	return appendFraction(dst, rem%microsPerSecond, scale)
}

func formatTime(dst []byte, micros int64, scale int) []byte {
	if micros < 0 {
		dst = append(dst, '-')
		micros = -micros
	}
	secs := micros / microsPerSecond
	dst = appendDigits(dst, secs/3600, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, secs/60%60, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, secs%60, 2)
	return appendFraction(dst, micros%microsPerSecond, scale)
}
