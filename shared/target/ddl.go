package target

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The rewrites below work on SHOW CREATE output, token by token: quoted
// identifiers and string literals are skipped whole, so a name inside a
// string or a comment-like sequence inside a name is never touched.

// scanQuoted returns the end (exclusive) of the quoted token starting at i
// (s[i] is ` ' or "), a doubled quote being part of the token.
func scanQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// unquoteIdent returns the name of a backquoted identifier token.
func unquoteIdent(tok string) string {
	return strings.ReplaceAll(tok[1:len(tok)-1], "``", "`")
}

// headerName finds the object name after keyword (TABLE, SEQUENCE, VIEW,
// FUNCTION, PROCEDURE, TRIGGER, EVENT, ON) in a statement: where the
// keyword starts, and where the name, qualified or not, quoted or not (a
// trigger's saved statement is the text as its author wrote it), starts and
// ends. An IF NOT EXISTS after the keyword is skipped.
func headerName(ddl, keyword string) (kwStart, nameStart, nameEnd int, err error) {
	for i := 0; i < len(ddl); {
		switch c := ddl[i]; {
		case c == '`' || c == '\'' || c == '"':
			i = scanQuoted(ddl, i)
		case isWordStart(c):
			j := i
			for j < len(ddl) && isWordByte(ddl[j]) {
				j++
			}
			if !strings.EqualFold(ddl[i:j], keyword) {
				i = j
				continue
			}
			k := skipSpace(ddl, j)
			if w := wordAt(ddl, k); strings.EqualFold(w, "IF") {
				for _, want := range []string{"IF", "NOT", "EXISTS"} {
					if !strings.EqualFold(wordAt(ddl, k), want) {
						return 0, 0, 0, fmt.Errorf("bad IF NOT EXISTS after %s in %.60q", keyword, ddl)
					}
					k = skipSpace(ddl, k+len(want))
				}
			}
			start, end := k, identEnd(ddl, k)
			if end == start {
				return 0, 0, 0, fmt.Errorf("no name after %s in %.60q", keyword, ddl)
			}
			for end < len(ddl) && ddl[end] == '.' {
				next := identEnd(ddl, end+1)
				if next == end+1 {
					break
				}
				end = next
			}
			return i, start, end, nil
		default:
			i++
		}
	}
	return 0, 0, 0, fmt.Errorf("no %s keyword in %.60q", keyword, ddl)
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

// wordAt is the unquoted word starting at i, "" if none.
func wordAt(s string, i int) string {
	j := i
	for j < len(s) && isWordByte(s[j]) {
		j++
	}
	return s[i:j]
}

// identEnd is the end of the identifier (backquoted or a word) at i; i
// when there is none.
func identEnd(s string, i int) int {
	if i < len(s) && s[i] == '`' {
		return scanQuoted(s, i)
	}
	return i + len(wordAt(s, i))
}

func isWordStart(c byte) bool { return c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z' }
func isWordByte(c byte) bool  { return isWordStart(c) || '0' <= c && c <= '9' }

// CreateTableAs rewrites a saved SHOW CREATE TABLE (or SEQUENCE) statement
// to create the table as db.name; nothing else changes.
func CreateTableAs(ddl, db, name string) (string, error) {
	kw := "TABLE"
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(ddl)), "CREATE SEQUENCE") {
		kw = "SEQUENCE"
	}
	_, _, ne, err := headerName(ddl, kw)
	if err != nil {
		return "", err
	}
	return "CREATE " + kw + " " + Qualified(db, name) + ddl[ne:], nil
}

// reFK matches a foreign key line of SHOW CREATE TABLE's column list.
var reFK = regexp.MustCompile("^\\s*CONSTRAINT `(?:[^`]|``)*` FOREIGN KEY ")

// StripForeignKeys removes the foreign key clauses from a SHOW CREATE TABLE
// statement and returns them (without the trailing comma), so they can be
// added once the table has its final name: InnoDB moves a foreign key with
// the table it references when that table is renamed.
func StripForeignKeys(ddl string) (string, []string) {
	lines := strings.Split(ddl, "\n")
	var kept, fks []string
	for _, l := range lines {
		if reFK.MatchString(l) {
			fks = append(fks, strings.TrimSuffix(strings.TrimSpace(l), ","))
			continue
		}
		kept = append(kept, l)
	}
	if len(fks) == 0 {
		return ddl, nil
	}
	// The column list's last line must not end with a comma.
	for i := 1; i < len(kept); i++ {
		if strings.HasPrefix(kept[i], ")") {
			kept[i-1] = strings.TrimSuffix(kept[i-1], ",")
		}
	}
	return strings.Join(kept, "\n"), fks
}

var reAutoIncrement = regexp.MustCompile(`(?m)^\).*\bAUTO_INCREMENT=([0-9]+)`)

// AutoIncrement returns the AUTO_INCREMENT table option of a SHOW CREATE
// TABLE statement, 0 when it has none.
func AutoIncrement(ddl string) int64 {
	m := reAutoIncrement.FindStringSubmatch(ddl)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// RequalifyDatabase replaces every `from`. (or unquoted from.) qualifier in
// a statement with `to`., leaving string literals alone: SHOW CREATE quotes
// every identifier, but a trigger's saved statement is as it was written.
func RequalifyDatabase(s, from, to string) string {
	if from == to {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '`':
			end := scanQuoted(s, i)
			if end < len(s) && s[end] == '.' && unquoteIdent(s[i:end]) == from {
				b.WriteString(s[last:i])
				b.WriteString(QuoteIdent(to))
				last = end
			}
			i = end
		case c == '\'' || c == '"':
			i = scanQuoted(s, i)
		case isWordStart(c) && (i == 0 || s[i-1] != '.' && !isWordByte(s[i-1])):
			w := wordAt(s, i)
			end := i + len(w)
			if w == from && end < len(s) && s[end] == '.' {
				b.WriteString(s[last:i])
				b.WriteString(QuoteIdent(to))
				last = end
			}
			i = end
		default:
			i++
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

// reDefiner matches a DEFINER clause as SHOW CREATE writes it.
var reDefiner = regexp.MustCompile("DEFINER=(?:`(?:[^`]|``)*`|'[^']*'|[^ @]+)@(?:`(?:[^`]|``)*`|'[^']*'|[^ ]+) ")

// CreateViewAs rewrites a saved SHOW CREATE VIEW statement as CREATE OR
// REPLACE VIEW db.name, without its DEFINER (the view belongs to whoever
// restores it; SQL SECURITY is kept), with the snapshot database's
// qualifiers (fromDB) pointing at db.
func CreateViewAs(ddl, fromDB, db, name string) (string, error) {
	return CreateRoutineAs(ddl, "VIEW", fromDB, db, name)
}

// CreateRoutineAs rewrites a saved SHOW CREATE FUNCTION (or PROCEDURE, or
// VIEW) statement as CREATE OR REPLACE of db.name, without its DEFINER,
// with the snapshot database's qualifiers pointing at db.
func CreateRoutineAs(ddl, kind, fromDB, db, name string) (string, error) {
	kw, _, ne, err := headerName(ddl, kind)
	if err != nil {
		return "", err
	}
	head := reDefiner.ReplaceAllString(ddl[:kw], "")
	head = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(head), "CREATE"))
	head = strings.TrimSpace(strings.TrimPrefix(head, "OR REPLACE"))
	out := "CREATE OR REPLACE "
	if head != "" {
		out += head + " "
	}
	return out + kind + " " + Qualified(db, name) + RequalifyDatabase(ddl[ne:], fromDB, db), nil
}

// CreateTriggerAs rewrites a saved SHOW CREATE TRIGGER statement as CREATE
// OR REPLACE TRIGGER db.name on table (the restored table's name), without
// its DEFINER, with the snapshot database's qualifiers pointing at db.
func CreateTriggerAs(ddl, fromDB, db, name, table string) (string, error) {
	kw, _, ne, err := headerName(ddl, "TRIGGER")
	if err != nil {
		return "", err
	}
	rest := ddl[ne:]
	// "BEFORE INSERT ON `t` FOR EACH ROW …": the first ON names the table.
	_, ts, te, err := headerName(rest, "ON")
	if err != nil {
		return "", err
	}
	head := strings.TrimSpace(reDefiner.ReplaceAllString(ddl[:kw], ""))
	head = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(head, "CREATE"), " OR REPLACE"))
	out := "CREATE OR REPLACE "
	if head != "" {
		out += head + " "
	}
	onStart := strings.LastIndex(strings.ToUpper(rest[:ts]), "ON")
	return out + "TRIGGER " + Qualified(db, name) + rest[:onStart] + "ON " + Qualified(db, table) +
		RequalifyDatabase(rest[te:], fromDB, db), nil
}

// reEventStatus matches an event's status clause in SHOW CREATE EVENT.
var reEventStatus = regexp.MustCompile(`\b(ENABLE|DISABLE ON SLAVE|DISABLE)(\s+(?:COMMENT\s|DO\s))`)

// CreateEventAs rewrites a saved SHOW CREATE EVENT statement as CREATE OR
// REPLACE EVENT db.name, without its DEFINER, DISABLEd (a restored event
// must not start running before someone decides it should), with the
// snapshot database's qualifiers pointing at db.
func CreateEventAs(ddl, fromDB, db, name string) (string, error) {
	out, err := CreateRoutineAs(ddl, "EVENT", fromDB, db, name)
	if err != nil {
		return "", err
	}
	loc := reEventStatus.FindStringSubmatchIndex(out)
	if loc == nil {
		return "", fmt.Errorf("no ENABLE/DISABLE clause in %.80q", ddl)
	}
	return out[:loc[2]] + "DISABLE" + out[loc[3]:], nil
}
