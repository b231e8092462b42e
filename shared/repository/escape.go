package repository

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape turns a database, table, partition, snapshot or repository name
// into one S3 key segment. It is reversible (Unescape) and injective:
//
//   - ASCII letters, digits, '_', '.' and '-' stay as they are, and so do
//     non-ASCII letters, digits and combining marks (valid UTF-8), so that
//     names in any script stay readable and short;
//   - every other byte is percent-encoded as %XX (upper-case hex): '/',
//     '%', spaces, punctuation, control and format characters, invalid UTF-8;
//   - a name made only of dots ("." or "..") is encoded entirely, so no
//     segment is a path traversal.
//
// The empty name is an error: it has no segment.
func Escape(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty name")
	}
	if strings.Trim(name, ".") == "" {
		return strings.Repeat("%2E", len(name)), nil
	}
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if keep(r, size) {
			b.WriteString(name[i : i+size])
		} else {
			for _, c := range []byte(name[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		i += size
	}
	return b.String(), nil
}

// keep reports whether a rune is written as is.
func keep(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size <= 1:
		return false // invalid UTF-8
	case r < utf8.RuneSelf:
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '.' || r == '-'
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.M)
}

// Unescape reverses Escape. It accepts only Escape's canonical output, so
// that two different segments never decode to the same name.
func Unescape(seg string) (string, error) {
	if seg == "" {
		return "", errors.New("empty key segment")
	}
	var b strings.Builder
	for i := 0; i < len(seg); {
		if seg[i] == '%' {
			if i+3 > len(seg) || !isUpperHex(seg[i+1]) || !isUpperHex(seg[i+2]) {
				return "", fmt.Errorf("key segment %q: bad escape at byte %d", seg, i)
			}
			b.WriteByte(unhex(seg[i+1])<<4 | unhex(seg[i+2]))
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(seg[i:])
		if !keep(r, size) {
			return "", fmt.Errorf("key segment %q: unescaped character at byte %d", seg, i)
		}
		b.WriteString(seg[i : i+size])
		i += size
	}
	name := b.String()
	if again, err := Escape(name); err != nil || again != seg {
		return "", fmt.Errorf("key segment %q is not in canonical form", seg)
	}
	return name, nil
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}
