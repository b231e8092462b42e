package mysql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/srbackup/srbackup/shared/source"
)

// Reading many partitions in one statement.
//
// A statement on a table of N partitions costs MariaDB about a microsecond
// per partition, whatever it reads (5 ms for one row of a table of 5,000
// partitions), so one SELECT per tiny partition makes a table of thousands
// of them slow to back up. A group of whole partitions is read with one
// SELECT … PARTITION (p1, …, pk) instead, and each row is given to its
// partition by evaluating the table's partitioning expression in the same
// SELECT and applying the server's rule for the method (sql_partition.cc):
//
//   - HASH: partition |v mod n| of n, v as a signed 64-bit integer (an
//     UNSIGNED value above 2^63-1 wraps, as the server's longlong does);
//     NULL counts as the smallest 64-bit integer.
//   - RANGE: the first partition whose VALUES LESS THAN bound is above v
//     (MAXVALUE above all); NULL goes to the first partition.
//   - LIST: the partition whose list holds v; NULL to the one listing NULL.
//
//   - LINEAR HASH: v & m, with m one less than the smallest power of two
//     not below n, and if that is n or more, v & (m >> 1).
//   - RANGE COLUMNS and LIST COLUMNS: see groupcols.go.
//
// KEY and LINEAR KEY methods hash with the server's internal functions,
// and COLUMNS methods on text columns compare with collations, so those
// are not grouped (ErrNotGroupable): their partitions are read one
// statement each.
//
// A wrong assignment must never misfile a row silently, so every row is
// checked: its partition must be one of the group, and the rows must come
// partition after partition in definition order, which is how a
// partitioned table scan returns them (ha_partition reads one partition to
// its end before the next; the SELECT says USE INDEX () so that it is a
// table scan). The e2e and source tests compare the assignment
// with one-partition reads for NULLs, signs, bounds and UNSIGNED extremes.

// partitionMap assigns rows of one table to its partitions.
type partitionMap struct {
	method string
	expr   string         // the partitioning expression, SQL from the server's catalog
	index  map[string]int // lower-cased partition name → definition order
	n      int
	bounds []bound      // RANGE: each partition's VALUES LESS THAN
	list   map[pint]int // LIST: value → partition
	null   int          // LIST: the partition listing NULL, or -1
	mask   uint64       // LINEAR HASH
	// typed says the expression's signedness was applied to the bounds.
	typed bool
	// exprs are the hidden values each row is read with: the expression,
	// or for COLUMNS methods the columns.
	exprs []string
	// COLUMNS methods (groupcols.go).
	cols        []partCol
	tuples      [][]cval       // RANGE COLUMNS: each partition's bound
	tupleList   map[string]int // LIST COLUMNS: value → partition
	pendingList []listEntry
}

// setUnsigned applies an UNSIGNED expression to the RANGE bounds:
// information_schema prints them as signed 64-bit integers, so a bound of
// 2^63 or more reads negative, while the server compares UNSIGNED values
// and bounds as unsigned.
func (m *partitionMap) setUnsigned() {
	for i, b := range m.bounds {
		if !b.max && b.v.neg {
			m.bounds[i].v = pint{mag: uint64(b.v.int64())}
		}
	}
}

// pint is a 64-bit integer of either sign, as the server's partitioning
// expressions return: magnitude and sign, so UNSIGNED values above 2^63-1
// and negative ones compare naturally.
type pint struct {
	neg bool
	mag uint64
}

func parsePint(s string) (pint, error) {
	if m, ok := strings.CutPrefix(s, "-"); ok {
		u, err := strconv.ParseUint(m, 10, 64)
		if err != nil || u > 1<<63 {
			return pint{}, fmt.Errorf("partitioning value %q is not a 64-bit integer", s)
		}
		return pint{neg: u != 0, mag: u}, nil
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return pint{}, fmt.Errorf("partitioning value %q is not a 64-bit integer", s)
	}
	return pint{mag: u}, nil
}

// less reports a < b.
func (a pint) less(b pint) bool {
	switch {
	case a.neg != b.neg:
		return a.neg
	case a.neg:
		return a.mag > b.mag
	default:
		return a.mag < b.mag
	}
}

// int64 is the value as the server's longlong holds it.
func (a pint) int64() int64 {
	if a.neg {
		return int64(-a.mag) // two's complement: -2^63 stays itself
	}
	return int64(a.mag) // an UNSIGNED value above 2^63-1 wraps
}

// bound is a RANGE partition's upper bound, exclusive.
type bound struct {
	max bool // MAXVALUE
	v   pint
}

// newPartitionMap reads how a table's partitions (as partitions listed
// them, in definition order) of columns cols assign rows; ErrNotGroupable
// if they cannot be told apart from a row. A COLUMNS method's map needs
// normalize before use.
func newPartitionMap(parts []source.Partition, cols []source.Column) (*partitionMap, error) {
	if len(parts) == 0 || parts[0].Expression == "" {
		return nil, source.ErrNotGroupable
	}
	m := &partitionMap{method: parts[0].Method, expr: parts[0].Expression, n: len(parts), index: map[string]int{}, null: -1}
	m.exprs = []string{"(" + m.expr + ")"}
	for i, p := range parts {
		m.index[strings.ToLower(p.Name)] = i
	}
	switch m.method {
	case "HASH", "RANGE", "LIST":
	case "LINEAR HASH":
		for m.mask = 1; m.mask < uint64(m.n); m.mask <<= 1 {
		}
		m.mask--
		return m, nil
	case "RANGE COLUMNS", "LIST COLUMNS":
		m.typed = true // the bounds are the columns' own values
		if err := m.columnsMap(parts, cols); err != nil {
			return nil, err
		}
		return m, nil
	default:
		return nil, source.ErrNotGroupable
	}
	if m.method == "LIST" {
		m.list = map[pint]int{}
	}
	for i, p := range parts {
		switch m.method {
		case "RANGE":
			b := bound{max: p.Description == "MAXVALUE"}
			if !b.max {
				v, err := parsePint(strings.TrimSpace(p.Description))
				if err != nil {
					return nil, fmt.Errorf("partition %s: %w: %w", quoteIdent(p.Name), source.ErrNotGroupable, err)
				}
				b.v = v
			}
			m.bounds = append(m.bounds, b)
		case "LIST":
			for _, item := range strings.Split(p.Description, ",") {
				item = strings.TrimSpace(item)
				if strings.EqualFold(item, "NULL") {
					m.null = i
					continue
				}
				v, err := parsePint(item)
				if err != nil {
					return nil, fmt.Errorf("partition %s: %w: %w", quoteIdent(p.Name), source.ErrNotGroupable, err)
				}
				m.list[v] = i
			}
		}
	}
	return m, nil
}

// assign returns the partition (in definition order) of a row whose
// partitioning expression is v (nil for NULL).
func (m *partitionMap) assign(v []byte) (int, error) {
	var x pint
	if v != nil {
		var err error
		if x, err = parsePint(string(v)); err != nil {
			return 0, err
		}
	}
	switch m.method {
	case "HASH":
		h := int64(math.MinInt64)
		if v != nil {
			h = x.int64()
		}
		h %= int64(m.n)
		if h < 0 {
			h = -h
		}
		return int(h), nil
	case "LINEAR HASH":
		h := int64(math.MinInt64) // NULL
		if v != nil {
			h = x.int64()
		}
		p := uint64(h) & m.mask
		if p >= uint64(m.n) {
			p = uint64(h) & (m.mask >> 1)
		}
		return int(p), nil
	case "RANGE":
		if v == nil {
			return 0, nil
		}
		// Bounds increase (the server refuses others): the first above v.
		i := sort.Search(len(m.bounds), func(i int) bool { return m.bounds[i].max || x.less(m.bounds[i].v) })
		if i == len(m.bounds) {
			return 0, fmt.Errorf("partitioning value %s is above every RANGE bound", v)
		}
		return i, nil
	default: // LIST
		i, ok := m.null, v == nil
		if !ok {
			i, ok = m.list[x]
		}
		if !ok || i < 0 {
			return 0, fmt.Errorf("no LIST partition holds the partitioning value %s", orNull(v))
		}
		return i, nil
	}
}

func orNull(v []byte) string {
	if v == nil {
		return "NULL"
	}
	return string(v)
}

// OpenGroup reads whole partitions of one table in one SELECT inside the
// snapshot's transaction (see the comment at the top of this file).
func (sn *snapshot) OpenGroup(ctx context.Context, shards []source.Shard) (_ source.GroupRows, err error) {
	if len(shards) == 0 {
		return nil, errors.New("read partitions: no shard")
	}
	first := shards[0]
	for _, sh := range shards {
		if _, err := checkShard(sh); err != nil {
			return nil, err
		}
		if sh.Database != first.Database || sh.Table != first.Table || !sh.Partitioned || sh.Lo != nil || sh.Hi != nil {
			return nil, fmt.Errorf("read partitions of %s: shard %d of %s is not a whole partition of the table", fromClause(first), sh.Index, fromClause(sh))
		}
	}
	from := quoteIdent(first.Database) + "." + quoteIdent(first.Table)
	switch {
	case !sn.begun:
		return nil, errors.New("read partitions: the snapshot has not begun")
	case sn.broken || sn.closed:
		return nil, fmt.Errorf("read partitions of %s: the snapshot's transaction has ended", from)
	case sn.busy:
		return nil, fmt.Errorf("read partitions of %s: the previous shard's rows are still open", from)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &groupRows{shardRows: shardRows{conn: sn.conn, cancel: cancel, snap: sn}, last: -1}
	sn.busy = true
	defer func() {
		if err != nil {
			if errors.Is(err, source.ErrNotGroupable) {
				// Nothing was read: the snapshot stays usable.
				r.closed = true
				sn.busy = false
				cancel()
			} else {
				r.abort()
			}
			err = fmt.Errorf("read partitions of %s: %w", from, err)
		}
	}()
	tbl := [2]string{first.Database, first.Table}
	cols, err := sn.tableColumns(ctx, first)
	if err != nil {
		return nil, err
	}
	// The partitioning cannot change while the metadata lock is held.
	pm, ok := sn.parts[tbl]
	if !ok {
		parts, err := partitions(ctx, sn.conn, sn.s, first.Database, first.Table)
		if err != nil {
			return nil, err
		}
		pm, err = newPartitionMap(parts, cols)
		if err == nil && pm.cols != nil {
			err = pm.normalize(ctx, sn.conn)
		}
		if err != nil && !errors.Is(err, source.ErrNotGroupable) {
			return nil, err
		}
		if err != nil {
			pm = nil
		}
		if sn.parts == nil {
			sn.parts = map[[2]string]*partitionMap{}
		}
		sn.parts[tbl] = pm // nil: not groupable
	}
	if pm == nil {
		return nil, source.ErrNotGroupable
	}
	r.pm, r.shard = pm, make(map[int]int, len(shards))
	names := make([]string, len(shards))
	for i, sh := range shards {
		ord, ok := pm.index[strings.ToLower(sh.Partition)]
		if !ok {
			return nil, fmt.Errorf("partition %s: %w", quoteIdent(sh.Partition), source.ErrNotFound)
		}
		if _, dup := r.shard[ord]; dup {
			return nil, fmt.Errorf("partition %s is in the group twice", quoteIdent(sh.Partition))
		}
		r.shard[ord] = i
		names[i] = quoteIdent(sh.Partition)
	}
	r.cols = cols
	exprs := make([]string, len(cols), len(cols)+len(pm.exprs))
	for i, c := range cols {
		exprs[i] = selectExpr(c)
	}
	// The expression is the server's own text of the table's definition;
	// the server allows only deterministic functions of the row in it.
	exprs = append(exprs, pm.exprs...)
	// USE INDEX () makes it a table scan, partition after partition: an
	// index scan (which the optimizer picks when an index covers every
	// column) merges the partitions in key order.
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + from + " PARTITION (" + strings.Join(names, ", ") + ") USE INDEX ()"
	if err := r.start(ctx, q, len(exprs)); err != nil {
		return nil, err
	}
	if !pm.typed {
		types, err := r.rows.ColumnTypes()
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(types[len(types)-1].DatabaseTypeName(), "UNSIGNED") {
			pm.setUnsigned()
		}
		pm.typed = true
	}
	return r, nil
}

// groupRows are the rows of a group of partitions, each given to its
// partition.
type groupRows struct {
	shardRows
	pm    *partitionMap
	shard map[int]int // partition (definition order) → index in the group
	last  int         // partition of the row before, -1 at the start
	cur   int         // index in the group of the current row's shard
	// hidden are a COLUMNS method's partitioning values of the row.
	hidden [][]byte
}

var _ source.GroupRows = (*groupRows)(nil)

func (r *groupRows) Next() bool {
	if !r.shardRows.Next() {
		return false
	}
	var part int
	var err error
	if r.pm.cols != nil {
		r.hidden = r.hidden[:0]
		for _, h := range r.raw[len(r.cols):] {
			r.hidden = append(r.hidden, h)
		}
		part, err = r.pm.assignColumns(r.hidden)
	} else {
		part, err = r.pm.assign(r.raw[len(r.raw)-1])
	}
	if err == nil {
		i, ok := r.shard[part]
		switch {
		case !ok:
			err = fmt.Errorf("a row's partitioning value %s falls in partition %d, which was not read: the rows cannot be told apart by partition", r.partitioningValue(), part)
		case part < r.last:
			err = fmt.Errorf("rows arrived out of partition order (partition %d after %d): the rows cannot be told apart by partition", part, r.last)
		}
		r.cur, r.last = i, part
	}
	if err != nil {
		r.err, r.done = err, true
		return false
	}
	return true
}

func (r *groupRows) Shard() int { return r.cur }

// partitioningValue is the current row's partitioning value, for errors.
func (r *groupRows) partitioningValue() string {
	if r.pm.cols != nil {
		return fmt.Sprintf("%q", r.hidden)
	}
	return orNull(r.raw[len(r.raw)-1])
}
