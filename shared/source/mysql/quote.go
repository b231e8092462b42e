package mysql

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/srbackup/srbackup/shared/source"
)

// quoteIdent quotes an identifier with backticks, doubling any backtick
// inside it.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// checkIdent rejects names that no MariaDB object can have, so they never
// reach SQL text.
func checkIdent(kind, name string) error {
	if name == "" {
		return fmt.Errorf("empty %s name", kind)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("%s name %q contains a NUL byte", kind, name)
	}
	if len(name) > 256 {
		return fmt.Errorf("%s name %.20q… is too long", kind, name)
	}
	return nil
}

// Patterns that bound values must match before they become SQL literals;
// none of them admits a quote, a backslash or a letter.
var (
	reSigned   = regexp.MustCompile(`^-?[0-9]{1,30}$`)
	reUnsigned = regexp.MustCompile(`^[0-9]{1,30}$`)
	reDecimal  = regexp.MustCompile(`^-?[0-9]{1,66}(\.[0-9]{1,38})?$`)
	reTemporal = regexp.MustCompile(`^-?[0-9]{1,4}[-:][0-9 :.-]{0,28}$`)
	reHex      = regexp.MustCompile(`^(?:[0-9A-Fa-f]{2})*$`)
	reCharset  = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
)

// boundLiteral turns a bound of key column c into a SQL literal that
// compares with the column exactly as the column's values compare with
// each other (same collation, same type), so that ranges split on it
// partition the rows.
func boundLiteral(c source.Column, bound string) (string, error) {
	bad := func() (string, error) {
		return "", fmt.Errorf("bad %s bound %q for key %s", c.Kind, bound, quoteIdent(c.Name))
	}
	switch c.Kind {
	case source.KindInt:
		if !reSigned.MatchString(bound) {
			return bad()
		}
		return bound, nil
	case source.KindUint, source.KindYear:
		if !reUnsigned.MatchString(bound) {
			return bad()
		}
		return bound, nil
	case source.KindDecimal:
		if !reDecimal.MatchString(bound) {
			return bad()
		}
		return bound, nil
	case source.KindDate, source.KindDateTime, source.KindTimestamp, source.KindTime:
		if !reTemporal.MatchString(bound) {
			return bad()
		}
		return "'" + bound + "'", nil
	case source.KindBytes:
		if !reHex.MatchString(bound) {
			return bad()
		}
		return "X'" + bound + "'", nil
	case source.KindString:
		if !reHex.MatchString(bound) {
			return bad()
		}
		if c.Charset == "" && c.Collation == "" {
			// A text-like type of its own (UUID, INET6, INET4): the bytes are
			// its text form, which the comparison converts to the type, so
			// the order is the column's own.
			return "_utf8mb4 X'" + bound + "'", nil
		}
		if !reCharset.MatchString(c.Charset) || !reCharset.MatchString(c.Collation) {
			return "", fmt.Errorf("key %s: bad character set %q or collation %q", quoteIdent(c.Name), c.Charset, c.Collation)
		}
		// A character set introducer makes the bytes a string of the
		// column's own character set; the COLLATE makes comparisons use
		// the column's collation, so the primary key index serves them.
		return "_" + c.Charset + " X'" + bound + "' COLLATE " + c.Collation, nil
	}
	return "", fmt.Errorf("key %s of kind %s cannot bound a shard", quoteIdent(c.Name), c.Kind)
}
