package sql

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokIdent            // unquoted identifier or keyword; val is the text as written
	tokQuoted           // `backquoted` identifier; val is the unquoted text
	tokString           // '…' or "…"; val is the decoded text
	tokNumber           // digits only
	tokPunct            // one of ( ) , . ; =
	tokOther            // any other character: the parser reports it as unexpected
	tokError            // lexical error; val is the message
)

// token is one lexical token. raw is the source text, used only to show the
// token in error messages.
type token struct {
	kind tokenKind
	val  string
	raw  string
	pos  Pos
}

// lexer turns SQL text into tokens on demand. It never backtracks, so
// lexing is linear in the input.
type lexer struct {
	src  string
	off  int
	line int
	col  int
}

func newLexer(src string) *lexer {
	return &lexer{src: src, line: 1, col: 1}
}

func (l *lexer) pos() Pos { return Pos{Line: l.line, Column: l.col} }

// peek returns the rune at the current offset and its width; width 0 at the
// end of input. Invalid UTF-8 is returned as utf8.RuneError with width 1.
func (l *lexer) peek() (rune, int) {
	if l.off >= len(l.src) {
		return 0, 0
	}
	if c := l.src[l.off]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(l.src[l.off:])
}

func (l *lexer) peekByte(ahead int) byte {
	if l.off+ahead >= len(l.src) {
		return 0
	}
	return l.src[l.off+ahead]
}

// advance moves past one rune of the given width.
func (l *lexer) advance(r rune, width int) {
	l.off += width
	if r == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
}

func (l *lexer) errorToken(pos Pos, start int, format string, args ...any) token {
	// Stop lexing: every later call returns EOF, so a parser that ignored
	// the error still terminates.
	raw := l.src[start:l.off]
	l.off = len(l.src)
	return token{kind: tokError, val: fmt.Sprintf(format, args...), raw: raw, pos: pos}
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v', '\uFEFF':
		return true
	}
	return r >= utf8.RuneSelf && unicode.IsSpace(r)
}

// isLetter follows StarRocks' lexer: ASCII letters, '_', and any code point
// from U+0080 to U+FFFF.
func isLetter(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' ||
		r >= 0x80 && r <= 0xFFFF && r != utf8.RuneError && !isSpace(r)
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isIdentPart(r rune) bool { return isLetter(r) || isDigit(r) || r == '$' }

// invalidUTF8 reports whether the rune just peeked is an invalid byte.
func invalidUTF8(r rune, width int) bool { return r == utf8.RuneError && width == 1 }

// next returns the next token, skipping whitespace and comments.
func (l *lexer) next() token {
	if tok, ok := l.skipSpace(); !ok {
		return tok
	}
	start, pos := l.off, l.pos()
	r, w := l.peek()
	switch {
	case w == 0:
		return token{kind: tokEOF, pos: pos}
	case invalidUTF8(r, w):
		return l.errorToken(pos, start, "invalid UTF-8 byte 0x%02X", l.src[l.off])
	case isLetter(r):
		l.scanIdentTail()
		return token{kind: tokIdent, val: l.src[start:l.off], raw: l.src[start:l.off], pos: pos}
	case isDigit(r):
		for r, w = l.peek(); isDigit(r); r, w = l.peek() {
			l.advance(r, w)
		}
		if isIdentPart(r) {
			// StarRocks: "2snap" is an identifier, "123" a number.
			l.scanIdentTail()
			return token{kind: tokIdent, val: l.src[start:l.off], raw: l.src[start:l.off], pos: pos}
		}
		return token{kind: tokNumber, val: l.src[start:l.off], raw: l.src[start:l.off], pos: pos}
	case r == '`':
		return l.scanQuoted(start, pos, '`', tokQuoted, "unterminated quoted identifier")
	case r == '\'' || r == '"':
		return l.scanQuoted(start, pos, byte(r), tokString, "unterminated string")
	case r == '(' || r == ')' || r == ',' || r == '.' || r == ';' || r == '=':
		l.advance(r, w)
		return token{kind: tokPunct, val: l.src[start:l.off], raw: l.src[start:l.off], pos: pos}
	default:
		l.advance(r, w)
		return token{kind: tokOther, val: l.src[start:l.off], raw: l.src[start:l.off], pos: pos}
	}
}

func (l *lexer) scanIdentTail() {
	for r, w := l.peek(); w > 0 && isIdentPart(r); r, w = l.peek() {
		l.advance(r, w)
	}
}

// skipSpace skips whitespace, `-- …` and `/* … */` comments. It returns
// false and an error token for an unterminated comment or invalid UTF-8.
func (l *lexer) skipSpace() (token, bool) {
	for {
		r, w := l.peek()
		switch {
		case w == 0:
			return token{}, true
		case isSpace(r):
			l.advance(r, w)
		case r == '-' && l.peekByte(1) == '-':
			for r, w = l.peek(); w > 0 && r != '\n'; r, w = l.peek() {
				if invalidUTF8(r, w) {
					return l.errorToken(l.pos(), l.off, "invalid UTF-8 byte 0x%02X", l.src[l.off]), false
				}
				l.advance(r, w)
			}
		case r == '/' && l.peekByte(1) == '*':
			start, pos := l.off, l.pos()
			l.advance('/', 1)
			l.advance('*', 1)
			for {
				r, w = l.peek()
				if w == 0 {
					return l.errorToken(pos, start, "unterminated comment"), false
				}
				if invalidUTF8(r, w) {
					return l.errorToken(l.pos(), l.off, "invalid UTF-8 byte 0x%02X", l.src[l.off]), false
				}
				if r == '*' && l.peekByte(1) == '/' {
					l.advance('*', 1)
					l.advance('/', 1)
					break
				}
				l.advance(r, w)
			}
		default:
			return token{}, true
		}
	}
}

// scanQuoted scans a string or a backquoted identifier. A doubled quote
// stands for one quote. In strings (not identifiers) a backslash escapes
// the next character, as in MySQL.
func (l *lexer) scanQuoted(start int, pos Pos, quote byte, kind tokenKind, unterminated string) token {
	l.advance(rune(quote), 1)
	bodyStart := l.off
	var b strings.Builder // used only once an escape is met
	escaped := false
	for {
		r, w := l.peek()
		switch {
		case w == 0:
			return l.errorToken(pos, start, "%s", unterminated)
		case invalidUTF8(r, w):
			return l.errorToken(l.pos(), l.off, "invalid UTF-8 byte 0x%02X", l.src[l.off])
		case r == rune(quote) && l.peekByte(1) == quote:
			if !escaped {
				escaped = true
				b.WriteString(l.src[bodyStart:l.off])
			}
			b.WriteByte(quote)
			l.advance(r, 1)
			l.advance(r, 1)
		case r == rune(quote):
			val := l.src[bodyStart:l.off]
			if escaped {
				val = b.String()
			}
			l.advance(r, 1)
			return token{kind: kind, val: val, raw: l.src[start:l.off], pos: pos}
		case r == '\\' && kind == tokString:
			if !escaped {
				escaped = true
				b.WriteString(l.src[bodyStart:l.off])
			}
			l.advance(r, 1)
			e, ew := l.peek()
			if ew == 0 {
				return l.errorToken(pos, start, "%s", unterminated)
			}
			if invalidUTF8(e, ew) {
				return l.errorToken(l.pos(), l.off, "invalid UTF-8 byte 0x%02X", l.src[l.off])
			}
			writeEscape(&b, e)
			l.advance(e, ew)
		default:
			if escaped {
				b.WriteString(l.src[l.off : l.off+w])
			}
			l.advance(r, w)
		}
	}
}

// writeEscape writes what MySQL makes of a backslash followed by e.
func writeEscape(b *strings.Builder, e rune) {
	switch e {
	case '0':
		b.WriteByte(0)
	case 'b':
		b.WriteByte('\b')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'Z':
		b.WriteByte(0x1A)
	case '%', '_':
		// Kept with their backslash, as in MySQL (they are LIKE escapes).
		b.WriteByte('\\')
		b.WriteRune(e)
	default:
		b.WriteRune(e)
	}
}
