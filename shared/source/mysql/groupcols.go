package mysql

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/srbackup/srbackup/shared/source"
)

// COLUMNS methods (RANGE COLUMNS, LIST COLUMNS) compare the partitioning
// columns themselves, as a tuple, with each partition's values
// (sql_partition.cc cmp_rec_and_tuple): element by element, NULL below
// every value, MAXVALUE above every value and deciding at once. They are
// grouped when every partitioning column is an integer, a DATE or a
// DATETIME, whose text forms compare as the server compares the values:
// integers as numbers, and DATE and DATETIME(fsp) as fixed-width text once
// the bounds are cast by the server to the column's own type (bounds are
// kept as written, '2024-1-3' say). Text columns compare by collation and
// are not grouped.

// partCol is one column of a COLUMNS partitioning.
type partCol struct {
	name string
	num  bool   // an integer, else a DATE or DATETIME
	cast string // DATE or DATETIME(fsp): the type bounds are cast to
}

// cval is one value of a COLUMNS bound or of a row's partitioning columns.
type cval struct {
	max, null bool
	v         pint   // an integer column
	s         string // a DATE or DATETIME column: the column's text form
}

// cmp compares a row's value with a bound's, as the server does.
func (a cval) cmp(b cval, num bool) int {
	switch {
	case a.max && b.max:
		return 0
	case b.max:
		return -1
	case a.max: // only when bounds are compared with each other
		return 1
	case a.null && b.null:
		return 0
	case a.null:
		return -1
	case b.null:
		return 1
	case num && a.v == b.v:
		return 0
	case num && a.v.less(b.v):
		return -1
	case num:
		return 1
	default:
		return strings.Compare(a.s, b.s)
	}
}

// key is the value's form in a LIST COLUMNS map.
func (a cval) key(num bool) string {
	switch {
	case a.null:
		return "N"
	case num && a.v.neg:
		return "-" + strconv.FormatUint(a.v.mag, 10)
	case num:
		return strconv.FormatUint(a.v.mag, 10)
	default:
		return "'" + a.s
	}
}

func tupleKey(t []cval, cols []partCol) string {
	parts := make([]string, len(t))
	for i, v := range t {
		parts[i] = v.key(cols[i].num)
	}
	return strings.Join(parts, "\x00")
}

// reBackquoted reads one backquoted name of a COLUMNS expression.
var reBackquoted = regexp.MustCompile("^`((?:[^`]|``)+)`")

// columnsMap fills m's columns and bounds from a COLUMNS partitioning;
// date bounds are left as written until normalize casts them.
func (m *partitionMap) columnsMap(parts []source.Partition, cols []source.Column) error {
	byName := map[string]source.Column{}
	for _, c := range cols {
		byName[strings.ToLower(c.Name)] = c
	}
	for rest := strings.TrimSpace(m.expr); rest != ""; {
		g := reBackquoted.FindStringSubmatch(rest)
		if g == nil {
			return fmt.Errorf("partitioning columns %q: %w", m.expr, source.ErrNotGroupable)
		}
		name := strings.ReplaceAll(g[1], "``", "`")
		c, ok := byName[strings.ToLower(name)]
		if !ok {
			return fmt.Errorf("partitioning column %s is not a column of the table", quoteIdent(name))
		}
		pc := partCol{name: c.Name}
		switch c.Kind {
		case source.KindInt, source.KindUint:
			pc.num = true
		case source.KindDate:
			pc.cast = "DATE"
		case source.KindDateTime:
			pc.cast = "DATETIME(" + strconv.Itoa(c.Scale) + ")"
		default:
			return fmt.Errorf("partitioning column %s is %s: %w", quoteIdent(name), c.Kind, source.ErrNotGroupable)
		}
		m.cols = append(m.cols, pc)
		rest = strings.TrimPrefix(strings.TrimSpace(rest[len(g[0]):]), ",")
		rest = strings.TrimSpace(rest)
	}
	if len(m.cols) == 0 {
		return fmt.Errorf("no partitioning column: %w", source.ErrNotGroupable)
	}
	m.exprs = m.exprs[:0]
	for _, c := range m.cols {
		m.exprs = append(m.exprs, quoteIdent(c.name))
	}
	if m.method == "LIST COLUMNS" {
		m.tupleList = map[string]int{}
	}
	for i, p := range parts {
		toks, err := literals(p.Description)
		if err != nil {
			return fmt.Errorf("partition %s: %w: %w", quoteIdent(p.Name), source.ErrNotGroupable, err)
		}
		var tuples [][]cval
		switch {
		case m.method == "RANGE COLUMNS":
			t, err := m.tuple(toks, false)
			if err != nil {
				return fmt.Errorf("partition %s: %w: %w", quoteIdent(p.Name), source.ErrNotGroupable, err)
			}
			tuples = [][]cval{t}
		case len(m.cols) == 1:
			for _, tok := range toks {
				t, err := m.tuple([]string{tok}, true)
				if err != nil {
					return fmt.Errorf("partition %s: %w: %w", quoteIdent(p.Name), source.ErrNotGroupable, err)
				}
				tuples = append(tuples, t)
			}
		default:
			for len(toks) > 0 {
				if toks[0] != "(" {
					return fmt.Errorf("partition %s: %w: a LIST COLUMNS value is not a tuple", quoteIdent(p.Name), source.ErrNotGroupable)
				}
				end := 1
				for end < len(toks) && toks[end] != ")" {
					end++
				}
				if end == len(toks) {
					return fmt.Errorf("partition %s: %w: unclosed tuple", quoteIdent(p.Name), source.ErrNotGroupable)
				}
				t, err := m.tuple(toks[1:end], true)
				if err != nil {
					return fmt.Errorf("partition %s: %w: %w", quoteIdent(p.Name), source.ErrNotGroupable, err)
				}
				tuples = append(tuples, t)
				toks = toks[end+1:]
			}
		}
		if m.method == "RANGE COLUMNS" {
			m.tuples = append(m.tuples, tuples[0])
			continue
		}
		for _, t := range tuples {
			m.pendingList = append(m.pendingList, listEntry{t, i})
		}
	}
	return nil
}

// listEntry is one LIST COLUMNS value before its dates are normalized.
type listEntry struct {
	t    []cval
	part int
}

// tuple reads one bound's values, one per column.
func (m *partitionMap) tuple(toks []string, list bool) ([]cval, error) {
	if len(toks) != len(m.cols) {
		return nil, fmt.Errorf("%d values for %d partitioning columns", len(toks), len(m.cols))
	}
	out := make([]cval, len(toks))
	for i, tok := range toks {
		c := m.cols[i]
		switch {
		case tok == "(" || tok == ")":
			return nil, fmt.Errorf("unexpected %q", tok)
		case strings.EqualFold(tok, "MAXVALUE") && !list:
			out[i].max = true
		case strings.EqualFold(tok, "NULL"):
			out[i].null = true
		case c.num:
			v, err := parsePint(tok)
			if err != nil {
				return nil, err
			}
			out[i].v = v
		default:
			s := tok
			if q, ok := strings.CutPrefix(tok, "'"); ok {
				s = strings.TrimSuffix(q, "'")
			}
			if !reTemporal.MatchString(s) && !reUnsigned.MatchString(s) {
				return nil, fmt.Errorf("bound %s of %s is not a date", tok, quoteIdent(c.name))
			}
			out[i].s = s // cast by normalize
		}
	}
	return out, nil
}

// literals splits a PARTITION_DESCRIPTION into its values and parentheses,
// quoted strings kept with their quotes (a quote or backslash inside one
// makes it no date: refused).
func literals(desc string) ([]string, error) {
	var out []string
	for i := 0; i < len(desc); {
		switch ch := desc[i]; {
		case ch == ' ' || ch == ',':
			i++
		case ch == '(' || ch == ')':
			out = append(out, string(ch))
			i++
		case ch == '\'':
			j := strings.IndexAny(desc[i+1:], `'\`)
			if j < 0 || desc[i+1+j] != '\'' || (i+2+j < len(desc) && desc[i+2+j] == '\'') {
				return nil, fmt.Errorf("a quoted bound in %q is not a plain literal", desc)
			}
			out = append(out, desc[i:i+2+j])
			i += 2 + j
		default:
			j := strings.IndexAny(desc[i:], " ,()'")
			if j < 0 {
				j = len(desc) - i
			}
			out = append(out, desc[i:i+j])
			i += j
		}
	}
	return out, nil
}

// normalize casts the date and datetime bounds to their column's type on
// the server, so they compare with the rows' text forms, and builds the
// LIST COLUMNS map.
func (m *partitionMap) normalize(ctx context.Context, q querier) error {
	var refs []*cval
	var casts []string
	collect := func(t []cval) {
		for j := range t {
			if !m.cols[j].num && !t[j].max && !t[j].null {
				refs = append(refs, &t[j])
				casts = append(casts, "CAST('"+t[j].s+"' AS "+m.cols[j].cast+")")
			}
		}
	}
	for _, t := range m.tuples {
		collect(t)
	}
	for _, e := range m.pendingList {
		collect(e.t)
	}
	const chunk = 500
	for lo := 0; lo < len(casts); lo += chunk {
		hi := min(lo+chunk, len(casts))
		rows, err := q.QueryContext(ctx, "SELECT "+strings.Join(casts[lo:hi], ", "))
		if err != nil {
			return fmt.Errorf("cast partition bounds: %w", err)
		}
		vals := make([]any, hi-lo)
		got := make([]*string, hi-lo)
		for i := range vals {
			vals[i] = &got[i]
		}
		ok := rows.Next()
		if ok {
			err = rows.Scan(vals...)
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err == nil && !ok {
			err = rows.Err()
		}
		if err != nil {
			return fmt.Errorf("cast partition bounds: %w", err)
		}
		for i, s := range got {
			if s == nil {
				return fmt.Errorf("partition bound %q is not a valid date: %w", refs[lo+i].s, source.ErrNotGroupable)
			}
			refs[lo+i].s = *s
		}
	}
	for i := 1; i < len(m.tuples); i++ {
		if m.cmpTuples(m.tuples[i-1], m.tuples[i]) >= 0 {
			return fmt.Errorf("RANGE COLUMNS bounds do not increase: %w", source.ErrNotGroupable)
		}
	}
	for _, e := range m.pendingList {
		m.tupleList[tupleKey(e.t, m.cols)] = e.part
	}
	m.pendingList = nil
	return nil
}

// cmpTuples compares tuple a (a row's, or a bound when checking their
// order) with bound b (cmp_rec_and_tuple).
func (m *partitionMap) cmpTuples(a, b []cval) int {
	for j := range b {
		if c := a[j].cmp(b[j], m.cols[j].num); c != 0 {
			return c
		}
		if b[j].max {
			return 0 // both MAXVALUE: the rest does not count
		}
	}
	return 0
}

// assignColumns returns the partition of a row whose partitioning columns
// read vals.
func (m *partitionMap) assignColumns(vals [][]byte) (int, error) {
	row := make([]cval, len(m.cols))
	for j, v := range vals {
		switch {
		case v == nil:
			row[j].null = true
		case m.cols[j].num:
			x, err := parsePint(string(v))
			if err != nil {
				return 0, err
			}
			row[j].v = x
		default:
			row[j].s = string(v)
		}
	}
	if m.method == "LIST COLUMNS" {
		i, ok := m.tupleList[tupleKey(row, m.cols)]
		if !ok {
			return 0, fmt.Errorf("no LIST COLUMNS partition holds the value %q", vals)
		}
		return i, nil
	}
	i := sort.Search(len(m.tuples), func(i int) bool { return m.cmpTuples(row, m.tuples[i]) < 0 })
	if i == len(m.tuples) {
		return 0, fmt.Errorf("partitioning value %q is above every RANGE COLUMNS bound", vals)
	}
	return i, nil
}
