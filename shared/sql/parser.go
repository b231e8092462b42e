package sql

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Options tunes the checks that depend on deployment configuration. The
// zero value is what production uses.
type Options struct {
	// MinTimeout is the smallest `timeout` property accepted; zero means
	// 600 s, StarRocks' minimum. Tests of the pipeline lower it through
	// configuration (SRBACKUP_MIN_TIMEOUT), never through SQL.
	MinTimeout time.Duration
	// MinShardSize is the smallest `shard_size` property accepted; zero
	// means 1 MiB. Tests lower it to get several shards from a small table.
	MinShardSize int64
	// DefaultDatabase is the current database a text starts with (the
	// API's "database" field, the CLI's -D), until a USE statement changes
	// it. As StarRocks' session database, it is used by a BACKUP that names
	// no database and by a table privilege written without one; a BACKUP
	// without either fails with "No database selected". SHOW BACKUP, CANCEL
	// BACKUP and RESTORE never use it (see UseStmt).
	DefaultDatabase string
}

func (o Options) minTimeout() time.Duration {
	if o.MinTimeout <= 0 {
		return DefaultMinTimeout
	}
	return o.MinTimeout
}

func (o Options) minShardSize() int64 {
	if o.MinShardSize <= 0 {
		return DefaultMinShardSize
	}
	return o.MinShardSize
}

// Parse parses and validates every statement of text with the default
// Options. Statements are separated by `;`; a final `;` is optional. On
// failure the error is a *Error and no statement is returned.
func Parse(text string) ([]Statement, error) {
	return ParseWithOptions(text, Options{})
}

// ParseWithOptions is Parse with explicit Options.
//
// As in StarRocks, the whole text is checked for syntax first, then each
// statement is validated in order, so a syntax error anywhere wins over a
// semantic error in an earlier statement.
func ParseWithOptions(text string, opts Options) ([]Statement, error) {
	p := &parser{lex: newLexer(text), opts: opts, currentDB: opts.DefaultDatabase}
	stmts, checks, err := p.parseAll()
	if err != nil {
		return nil, err
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return nil, err
		}
	}
	return stmts, nil
}

// check runs the validation of one statement after the whole text parsed.
type check func() *Error

// bailout carries a syntax error out of the recursive descent. It never
// leaves the package: parseAll recovers it.
type bailout struct{ err *Error }

// parser is a recursive-descent parser over a lexer with up to three
// tokens of lookahead. The grammar has no recursion deeper than one level
// of parentheses, so stack use is bounded whatever the input.
type parser struct {
	lex  *lexer
	la   [3]token
	nla  int
	opts Options
	// currentDB is the current database while the checks run in statement
	// order: Options.DefaultDatabase, then each USE's.
	currentDB string
	// expected lists what was tried and not found at the current token;
	// it is cleared whenever a token is consumed and feeds the
	// "expecting …" part of syntax errors.
	expected []expectation
}

// expectation is one alternative of an "expecting …" list: a keyword or
// punctuation (shown quoted) or a token class such as "identifier". It holds
// only constant strings, so noting one never allocates.
type expectation struct {
	text   string
	quoted bool
}

func (e expectation) String() string {
	if e.quoted {
		return "'" + e.text + "'"
	}
	return e.text
}

// parseAll parses every statement of the text and returns them with the
// checks to run on them.
func (p *parser) parseAll() (stmts []Statement, checks []check, err *Error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			stmts, checks, err = nil, nil, b.err
		}
	}()
	for {
		for t := p.peek(0); t.kind == tokPunct && t.val == ";"; t = p.peek(0) {
			p.next()
		}
		if p.peek(0).kind == tokEOF {
			if len(stmts) == 0 {
				p.expectStatement()
			}
			return stmts, checks, nil
		}
		stmt, c := p.parseStatement()
		stmts = append(stmts, stmt)
		checks = append(checks, c)
		if p.peek(0).kind == tokEOF {
			return stmts, checks, nil
		}
		if !p.atPunct(";") {
			p.expect("end of input", false)
			p.fail()
		}
		p.next()
	}
}

var statementStarts = []string{"BACKUP", "RESTORE", "SHOW", "CANCEL", "CREATE", "DROP", "GRANT", "REVOKE", "ADMIN", "USE"}

func (p *parser) expectStatement() {
	for _, kw := range statementStarts {
		p.expect(kw, true)
	}
	p.fail()
}

func (p *parser) parseStatement() (Statement, check) {
	t := p.peek(0)
	switch {
	case p.isKw(t, "BACKUP"):
		return p.parseBackup()
	case p.isKw(t, "RESTORE"):
		return p.parseRestore()
	case p.isKw(t, "SHOW"):
		p.next()
		switch {
		case p.atKw("BACKUP"):
			return p.parseShowBackup(t.pos)
		case p.atKw("RESTORE"):
			return p.parseShowRestore(t.pos)
		case p.atKw("SNAPSHOT"):
			return p.parseShowSnapshot(t.pos)
		case p.atKw("REPOSITORIES"):
			p.next()
			return &ShowRepositoriesStmt{Start: t.pos}, noCheck
		}
	case p.isKw(t, "CANCEL"):
		if p.isKw(p.peek(1), "RESTORE") {
			p.next()
			return p.parseCancelRestore(t.pos)
		}
		return p.parseCancelBackup()
	case p.isKw(t, "CREATE"):
		p.next()
		switch {
		case p.atKw("READ"), p.atKw("REPOSITORY"):
			return p.parseCreateRepository(t.pos)
		case p.atKw("ROLE"):
			return p.parseCreateRole(t.pos)
		}
	case p.isKw(t, "DROP"):
		p.next()
		switch {
		case p.atKw("REPOSITORY"):
			return p.parseDropRepository(t.pos)
		case p.atKw("SNAPSHOT"):
			return p.parseDropSnapshot(t.pos)
		case p.atKw("ROLE"):
			return p.parseDropRole(t.pos)
		}
	case p.isKw(t, "GRANT"), p.isKw(t, "REVOKE"):
		return p.parseGrant()
	case p.isKw(t, "ADMIN"):
		return p.parseAdminVerify()
	case p.isKw(t, "USE"):
		return p.parseUse()
	default:
		p.expectStatement()
	}
	p.fail()
	panic("unreachable")
}

func noCheck() *Error { return nil }

// ---- token access ----

func (p *parser) peek(i int) token {
	for p.nla <= i {
		p.la[p.nla] = p.lex.next()
		p.nla++
	}
	return p.la[i]
}

// next consumes and returns the current token.
func (p *parser) next() token {
	t := p.peek(0)
	if t.kind == tokEOF {
		// Never consume EOF: callers only call next after checking the
		// token, so this is a bug; fail loudly rather than loop.
		p.fail()
	}
	copy(p.la[:], p.la[1:p.nla])
	p.nla--
	p.expected = p.expected[:0]
	return t
}

// isKw reports whether t is the keyword kw (kw upper case). Backquoted
// identifiers are never keywords.
func (p *parser) isKw(t token, kw string) bool {
	return t.kind == tokIdent && equalFoldASCII(t.val, kw)
}

// atKw reports whether the current token is kw, noting kw as expected if
// it is not.
func (p *parser) atKw(kw string) bool {
	if p.isKw(p.peek(0), kw) {
		return true
	}
	p.expect(kw, true)
	return false
}

func (p *parser) acceptKw(kw string) bool {
	if p.atKw(kw) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectKw(kw string) token {
	if !p.atKw(kw) {
		p.fail()
	}
	return p.next()
}

// expectOneOf consumes one of the keywords and returns which.
func (p *parser) expectOneOf(kws ...string) string {
	for _, kw := range kws {
		if p.atKw(kw) {
			p.next()
			return kw
		}
	}
	p.fail()
	panic("unreachable")
}

func (p *parser) atPunct(c string) bool {
	t := p.peek(0)
	if t.kind == tokPunct && t.val == c {
		return true
	}
	p.expect(c, true)
	return false
}

func (p *parser) acceptPunct(c string) bool {
	if p.atPunct(c) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectPunct(c string) token {
	if !p.atPunct(c) {
		p.fail()
	}
	return p.next()
}

// expect notes an alternative tried at the current token.
func (p *parser) expect(text string, quoted bool) {
	e := expectation{text, quoted}
	for _, have := range p.expected {
		if have == e {
			return
		}
	}
	p.expected = append(p.expected, e)
}

// fail reports a syntax error at the current token.
func (p *parser) fail() {
	t := p.peek(0)
	if t.kind == tokError {
		panic(bailout{syntaxErrorf(t.pos, "%s", t.val)})
	}
	detail := "unexpected " + describe(t)
	if len(p.expected) > 0 {
		detail += ", expecting " + joinAlternatives(p.expected)
	}
	panic(bailout{syntaxErrorf(t.pos, "%s", detail)})
}

func joinAlternatives(alts []expectation) string {
	words := make([]string, len(alts))
	for i, a := range alts {
		words[i] = a.String()
	}
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// describe shows a token in an error message, cut short if long.
func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokOther:
		r, _ := utf8.DecodeRuneInString(t.raw)
		if !unicode.IsPrint(r) {
			return fmt.Sprintf("character %q", r)
		}
	case tokQuoted, tokString:
		return clip(t.raw)
	}
	return "'" + clip(t.raw) + "'"
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// ---- names ----

// name is an identifier or string with where it was written.
type name struct {
	val string
	pos Pos
}

// startsIdent reports whether t can be an identifier.
func startsIdent(t token) bool {
	return t.kind == tokQuoted || t.kind == tokIdent && !isReserved(t.val)
}

// MaxIdentLen is the longest identifier accepted, in bytes: MariaDB's 64
// characters of up to 4 bytes. Longer names (which no database, table or
// role can have) would only swell keys and messages.
const MaxIdentLen = 256

// ident parses an identifier: an unquoted non-reserved word or a
// backquoted name.
func (p *parser) ident() name {
	t := p.peek(0)
	if !startsIdent(t) {
		p.expect("identifier", false)
		p.fail()
	}
	if len(t.val) > MaxIdentLen {
		panic(bailout{analysisErrorf(t.pos, "identifier %s is %d bytes, longer than %d", clip(t.val), len(t.val), MaxIdentLen)})
	}
	p.next()
	return name{val: t.val, pos: t.pos}
}

// identOrString parses an identifier or a string literal.
func (p *parser) identOrString() name {
	t := p.peek(0)
	if !startsIdent(t) && t.kind != tokString {
		p.expect("identifier", false)
		p.expect("string", false)
		p.fail()
	}
	p.next()
	return name{val: t.val, pos: t.pos}
}

// qualifiedName parses ident ('.' ident)*.
func (p *parser) qualifiedName() []name {
	parts := []name{p.ident()}
	for p.acceptPunct(".") {
		parts = append(parts, p.ident())
	}
	return parts
}

// joinName renders a dotted name for an error message.
func joinName(parts []name) string {
	var b strings.Builder
	for i, n := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(n.val)
	}
	return clip(b.String())
}

// ---- properties ----

// property is one "key" = "value" pair as written; key is trimmed.
type property struct {
	key, val       string
	keyPos, valPos Pos
}

// parsePropertyList parses `( "k" = "v" [, …] )`; PROPERTIES is consumed.
func (p *parser) parsePropertyList() []property {
	p.expectPunct("(")
	var props []property
	for {
		k := p.expectString()
		p.expectPunct("=")
		v := p.expectString()
		props = append(props, property{key: strings.TrimSpace(k.val), val: v.val, keyPos: k.pos, valPos: v.pos})
		if !p.acceptPunct(",") {
			break
		}
	}
	p.expectPunct(")")
	return props
}

func (p *parser) expectString() name {
	t := p.peek(0)
	if t.kind != tokString {
		p.expect("string", false)
		p.fail()
	}
	p.next()
	return name{val: t.val, pos: t.pos}
}

// propertyMap applies StarRocks' rule that a repeated key's last value wins.
// It returns the surviving properties in the order their keys first appear.
func propertyMap(props []property) []property {
	index := make(map[string]int, len(props))
	var out []property
	for _, pr := range props {
		if i, ok := index[pr.key]; ok {
			// The value is the last one; errors about the key still point
			// at its first appearance.
			out[i].val, out[i].valPos = pr.val, pr.valPos
			continue
		}
		index[pr.key] = len(out)
		out = append(out, pr)
	}
	return out
}
