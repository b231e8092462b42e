package parquetio

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"testing"
	"time"
)

func TestParseInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  error
	}{
		{"0", 0, nil},
		{"-0", 0, nil},
		{"42", 42, nil},
		{"0000000042", 42, nil}, // ZEROFILL
		{"9223372036854775807", math.MaxInt64, nil},
		{"-9223372036854775808", math.MinInt64, nil},
		{"9223372036854775808", 0, errRange},
		{"-9223372036854775809", 0, errRange},
		{"", 0, errSyntax},
		{"-", 0, errSyntax},
		{"1.5", 0, errSyntax},
		{" 1", 0, errSyntax},
	} {
		got, err := parseInt([]byte(tc.in))
		if !errors.Is(err, tc.err) || err == nil && got != tc.want {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseUint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		err  error
	}{
		{"18446744073709551615", math.MaxUint64, nil},
		{"18446744073709551616", 0, errRange},
		{"99999999999999999999", 0, errRange},
		{"-1", 0, errSyntax},
	} {
		got, err := parseUint([]byte(tc.in))
		if !errors.Is(err, tc.err) || err == nil && got != tc.want {
			t.Errorf("parseUint(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		in        string
		p, s      int
		canonical string // "" = error
	}{
		{"0.00", 5, 2, "0.00"},
		{"-0.00", 5, 2, "0.00"},
		{"-123.45", 5, 2, "-123.45"},
		{"123.4", 5, 2, "123.40"},
		{"123.450", 5, 2, "123.45"},
		{"123.456", 5, 2, ""},
		{"1234.5", 5, 2, ""},
		{"00012.50", 5, 2, "12.50"}, // ZEROFILL
		{"0.05", 5, 2, "0.05"},
		{"999999999", 9, 0, "999999999"},
		{"-999999999999999999", 18, 0, "-999999999999999999"},
		{"99999999999999999999999999999999999999", 38, 0, "99999999999999999999999999999999999999"},
		{"-9999999999999999999999999999999999999.9", 38, 1, "-9999999999999999999999999999999999999.9"},
		{"-99999999999999999999999999999999999.999999999999999999999999999999", 65, 30, "-99999999999999999999999999999999999.999999999999999999999999999999"},
		{"0.000000000000000000000000000001", 65, 30, "0.000000000000000000000000000001"},
		{"1.5.5", 5, 2, ""},
		{"", 5, 2, ""},
		{"abc", 5, 2, ""},
	} {
		got, err := canonicalDecimal(nil, []byte(tc.in), tc.p, tc.s)
		if tc.canonical == "" {
			if err == nil {
				t.Errorf("canonicalDecimal(%q, %d, %d) = %q, want an error", tc.in, tc.p, tc.s, got)
			}
			continue
		}
		if err != nil || string(got) != tc.canonical {
			t.Errorf("canonicalDecimal(%q, %d, %d) = %q, %v; want %q", tc.in, tc.p, tc.s, got, err, tc.canonical)
			continue
		}
		n, err := parseDecimal([]byte(tc.in), tc.p, tc.s)
		if err != nil || string(formatDecimal(nil, n, tc.s)) != tc.canonical {
			t.Errorf("parseDecimal(%q) round trip = %v, %v", tc.in, n, err)
		}
		if tc.p <= 18 {
			n64, err := parseDecimal64([]byte(tc.in), tc.p, tc.s)
			if err != nil || string(formatDecimal64(nil, n64, tc.s)) != tc.canonical {
				t.Errorf("parseDecimal64(%q) round trip = %d, %v", tc.in, n64, err)
			}
		}
		if tc.p <= maxParquetDecimal {
			b := make([]byte, decimalBytes(tc.p))
			if err := putTwosComplement(b, n); err != nil {
				t.Errorf("putTwosComplement(%v): %v", n, err)
			} else if back := fromTwosComplement(b); back.Cmp(n) != 0 {
				t.Errorf("two's complement of %v read back as %v", n, back)
			}
		}
	}
}

func TestParseDecimal64Errors(t *testing.T) {
	for _, in := range []string{"", "-", ".", "1..2", "1e5", "12345678901234567890", "0.123"} {
		if n, err := parseDecimal64([]byte(in), 18, 2); err == nil {
			t.Errorf("parseDecimal64(%q) = %d, want an error", in, n)
		}
	}
}

func TestDecimalBytes(t *testing.T) {
	// The minimal widths of the Parquet specification's table.
	want := map[int]int{1: 1, 2: 1, 3: 2, 4: 2, 9: 4, 10: 5, 18: 8, 19: 9, 20: 9, 38: 16}
	for p, n := range want {
		if got := decimalBytes(p); got != n {
			t.Errorf("decimalBytes(%d) = %d, want %d", p, got, n)
		}
	}
}

func TestDaysFromCivil(t *testing.T) {
	for _, d := range []string{"0001-01-01", "1000-01-01", "1582-10-04", "1969-12-31", "1970-01-01", "2000-02-29", "2024-12-31", "9999-12-31"} {
		tm, err := time.Parse(time.DateOnly, d)
		if err != nil {
			t.Fatal(err)
		}
		want := tm.Unix() / 86400
		if tm.Unix() < 0 && tm.Unix()%86400 != 0 {
			want--
		}
		days, ok, err := parseDate([]byte(d))
		if err != nil || !ok || days != want {
			t.Errorf("parseDate(%q) = %d, %v, %v; want %d", d, days, ok, err, want)
		}
		if got := string(formatDate(nil, days)); got != d {
			t.Errorf("formatDate(%d) = %q, want %q", days, got, d)
		}
	}
	for _, zero := range []string{"0000-00-00", "2024-00-15", "2024-02-00", "2023-02-29", "0000-01-01", "2024-13-01"} {
		if _, ok, err := parseDate([]byte(zero)); ok || err != nil {
			t.Errorf("parseDate(%q) = ok %v, %v; want not a real date", zero, ok, err)
		}
	}
	for _, bad := range []string{"", "2024-1-01", "2024/01/01", "2024-01-01 ", "abcd-ef-gh"} {
		if _, _, err := parseDate([]byte(bad)); err == nil {
			t.Errorf("parseDate(%q) accepted a malformed date", bad)
		}
	}
}

func TestDateTime(t *testing.T) {
	for _, tc := range []struct {
		in    string
		scale int
	}{
		{"1970-01-01 00:00:00", 0},
		{"1969-12-31 23:59:59.999999", 6},
		{"0001-01-01 00:00:00.000000", 6},
		{"9999-12-31 23:59:59.999999", 6},
		{"2024-02-29 12:34:56.5", 1},
		{"1000-01-01 00:00:00.001", 3},
	} {
		us, ok, err := parseDateTime([]byte(tc.in), tc.scale)
		if err != nil || !ok {
			t.Errorf("parseDateTime(%q) = %v, %v", tc.in, ok, err)
			continue
		}
		tm, err := time.Parse("2006-01-02 15:04:05.999999", tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if want := tm.UnixMicro(); us != want {
			t.Errorf("parseDateTime(%q) = %d µs, want %d", tc.in, us, want)
		}
		if got := string(formatDateTime(nil, us, tc.scale)); got != tc.in {
			t.Errorf("formatDateTime(%d, %d) = %q, want %q", us, tc.scale, got, tc.in)
		}
	}
	for _, zero := range []string{"0000-00-00 00:00:00", "0000-00-00 00:00:00.000000", "2024-02-00 01:02:03.500000"} {
		if _, ok, err := parseDateTime([]byte(zero), 6); ok || err != nil {
			t.Errorf("parseDateTime(%q) = ok %v, %v; want not a real instant", zero, ok, err)
		}
	}
	for _, bad := range []string{"2024-01-01", "2024-01-01 00:00:00.1234567", "2024-01-01 00:00:00.", "2024-01-01T00:00:00"} {
		if _, _, err := parseDateTime([]byte(bad), 6); err == nil {
			t.Errorf("parseDateTime(%q) accepted a malformed value", bad)
		}
	}
	if _, _, err := parseDateTime([]byte("2024-01-01 00:00:00.123"), 2); err == nil {
		t.Error("parseDateTime accepted more fraction digits than the column has")
	}
}

func TestTime(t *testing.T) {
	for _, tc := range []struct {
		in    string
		scale int
		us    int64
	}{
		{"00:00:00", 0, 0},
		{"-838:59:59.999999", 6, -(838*3600+59*60+59)*1e6 - 999999},
		{"838:59:59", 0, (838*3600 + 59*60 + 59) * 1e6},
		{"-00:00:00.500000", 6, -500000},
		{"01:02:03.4", 1, 3723400000},
		{"100:00:00.000", 3, 360000000000},
	} {
		us, err := parseTime([]byte(tc.in), tc.scale)
		if err != nil || us != tc.us {
			t.Errorf("parseTime(%q) = %d, %v; want %d", tc.in, us, err, tc.us)
			continue
		}
		if got := string(formatTime(nil, us, tc.scale)); got != tc.in {
			t.Errorf("formatTime(%d) = %q, want %q", us, got, tc.in)
		}
	}
	for _, bad := range []string{"", "1:2:3", "00:60:00", "00:00:61", "12345:00:00", "00:00:00.1234567", "-", "aa:bb:cc"} {
		if _, err := parseTime([]byte(bad), 6); err == nil {
			t.Errorf("parseTime(%q) accepted a malformed value", bad)
		}
	}
}

func TestDecimal64MatchesBig(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "123456789012345678", "-123456789012345678"} {
		n64, err := parseDecimal64([]byte(s), 18, 0)
		if err != nil {
			t.Fatal(err)
		}
		nb, err := parseDecimal([]byte(s), 18, 0)
		if err != nil {
			t.Fatal(err)
		}
		if nb.Cmp(big.NewInt(n64)) != 0 || strconv.FormatInt(n64, 10) != s {
			t.Errorf("%s: int64 %d, big %v", s, n64, nb)
		}
	}
}
