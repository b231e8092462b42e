package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/srbackup/srbackup/shared/source"
)

// maxShardsPerPartition stops a plan that would flood the state machine,
// e.g. a tiny target size on a big table.
const maxShardsPerPartition = 100_000

// PlanShards splits one partition into shards of about targetBytes.
//
// A partition whose estimated size fits in targetBytes, or whose table has
// no usable primary key, is one shard. Otherwise the shards are half-open
// ranges of the leading primary-key column: the first unbounded below, the
// last unbounded above, each bound shared by two neighbours, so the shards
// cover every row exactly once whatever is inserted later. The bounds are
// found by walking the key in steps of about targetBytes worth of rows,
// one indexed query per bound, so planning reads the key once.
func (s *Source) PlanShards(ctx context.Context, db, table, partition string, targetBytes int64) ([]source.Shard, error) {
	return planShards(ctx, s, db, table, partition, targetBytes)
}

// partitionPlanner lists and plans partitions: a Source, or one with its
// catalog read at once.
type partitionPlanner interface {
	Partitions(ctx context.Context, db, table string) ([]source.Partition, error)
	PlanPartition(ctx context.Context, db, table string, p source.Partition, targetBytes int64) ([]source.Shard, error)
}

// planShards is PlanShards over p's own Partitions and PlanPartition.
func planShards(ctx context.Context, p partitionPlanner, db, table, partition string, targetBytes int64) ([]source.Shard, error) {
	if targetBytes <= 0 {
		return nil, fmt.Errorf("plan shards: target size must be positive, got %d", targetBytes)
	}
	parts, err := p.Partitions(ctx, db, table)
	if err != nil {
		return nil, err
	}
	part, err := findPartition(parts, partition)
	if err != nil {
		return nil, fmt.Errorf("table %s.%s: %w", quoteIdent(db), quoteIdent(table), err)
	}
	return p.PlanPartition(ctx, db, table, part, targetBytes)
}

// PlanPartition is PlanShards for a partition the caller has already listed
// with Partitions: a table of thousands of partitions is planned without
// listing them again for each one.
//
// The server's statistics (p.Rows, p.DataBytes) are checked before they
// are trusted; see plan.
func (s *Source) PlanPartition(ctx context.Context, db, table string, p source.Partition, targetBytes int64) ([]source.Shard, error) {
	return s.planPartition(ctx, db, table, p, targetBytes, s.loadKey)
}

// planPartition is PlanPartition with the table's columns and split key
// loaded by load when they are not cached.
func (s *Source) planPartition(ctx context.Context, db, table string, p source.Partition, targetBytes int64, load keyLoader) ([]source.Shard, error) {
	if targetBytes <= 0 {
		return nil, fmt.Errorf("plan shards: target size must be positive, got %d", targetBytes)
	}
	whole := source.Shard{
		Database: db, Table: table, Partition: p.Name, Partitioned: p.Method != "NONE",
		EstBytes: p.DataBytes, EstRows: p.Rows,
	}
	cols, key, err := s.tableKey(ctx, db, table, load)
	if err != nil {
		return nil, err
	}
	if key == nil {
		whole.Unsplit = "no primary key or unique NOT NULL key to split on"
		return []source.Shard{whole}, nil
	}
	whole.Key, whole.KeyIndex = key.col.Name, key.uniqueIndex()
	// Small by statistics that look right: one shard, after one bounded
	// look that the partition really is small.
	trusted := plausible(p, cols)
	if trusted && p.DataBytes <= targetBytes/2 {
		more, err := s.partitionMore(ctx, whole, p, cols, targetBytes)
		if err != nil {
			return nil, err
		}
		if !more {
			return []source.Shard{whole}, nil
		}
		trusted = false
	}
	// Planned by real facts: a walk of the key that counts rows, in steps
	// of the statistics' bytes per row where they look right, else of the
	// width of sampled rows.
	var rowBytes int64
	if trusted && p.Rows > 0 {
		rowBytes = max(p.DataBytes/p.Rows, 1)
	} else if rowBytes, err = s.sampleRowBytes(ctx, whole, key.col, cols); err != nil {
		return nil, err
	}
	step := max(targetBytes/rowBytes, 1)
	bounds, err := s.walkKey(ctx, whole, key.col, step)
	if err != nil {
		return nil, err
	}
	tail := whole
	if n := len(bounds); n > 0 {
		tail.Lo = &bounds[n-1]
	}
	tailRows, err := s.countRange(ctx, tail, key.col)
	if err != nil {
		return nil, err
	}
	shards := make([]source.Shard, 0, len(bounds)+1)
	for i := 0; i <= len(bounds); i++ {
		sh := whole
		sh.Index = i
		sh.EstRows = step
		if i > 0 {
			sh.Lo = &bounds[i-1]
		}
		if i < len(bounds) {
			sh.Hi = &bounds[i]
		} else {
			sh.EstRows = tailRows
		}
		sh.EstBytes = sh.EstRows * rowBytes
		shards = append(shards, sh)
	}
	return shards, nil
}

// keyCacheTTL is how long a table's columns and split key are reused for
// its next partitions: long enough for a table of thousands of partitions,
// planned one after another, short enough that no later job sees a key
// changed since.
const keyCacheTTL = 10 * time.Second

// keyLoader reads a table's columns and split key.
type keyLoader func(ctx context.Context, db, table string) ([]source.Column, *splitKeyInfo, error)

// loadKey reads a table's columns and split key from the server.
func (s *Source) loadKey(ctx context.Context, db, table string) ([]source.Column, *splitKeyInfo, error) {
	cols, err := s.Columns(ctx, db, table)
	if err != nil {
		return nil, nil, err
	}
	key, err := s.splitKey(ctx, db, table, cols)
	if err != nil {
		return nil, nil, err
	}
	return cols, key, nil
}

// tableKey returns a table's columns and split key, reusing those of the
// table planned last if it is the same one and recent, else from load.
func (s *Source) tableKey(ctx context.Context, db, table string, load keyLoader) ([]source.Column, *splitKeyInfo, error) {
	s.keyMu.Lock()
	c := s.keyCache
	s.keyMu.Unlock()
	if c != nil && c.db == db && c.table == table && time.Since(c.at) < keyCacheTTL {
		return c.cols, c.key, nil
	}
	cols, key, err := load(ctx, db, table)
	if err != nil {
		return nil, nil, err
	}
	s.keyMu.Lock()
	s.keyCache = &tableKeyCache{db: db, table: table, at: time.Now(), cols: cols, key: key}
	s.keyMu.Unlock()
	return cols, key, nil
}

// tableKeyCache is the last table tableKey looked up.
type tableKeyCache struct {
	db, table string
	at        time.Time
	cols      []source.Column
	key       *splitKeyInfo
	// small records, by target size, that the whole (partitioned) table
	// was found as small as its statistics say.
	small map[int64]bool
}

// partitionMore reports whether a partition that is small by plausible
// statistics has more than twice their rows (at least minProbeRows). For
// a partitioned table that is small as a whole, one probe of the table
// answers for all its partitions: a statement on a table of thousands of
// partitions costs milliseconds to open.
func (s *Source) partitionMore(ctx context.Context, sh source.Shard, p source.Partition, cols []source.Column, targetBytes int64) (bool, error) {
	if !sh.Partitioned {
		return s.hasRowAt(ctx, sh, max(2*p.Rows, minProbeRows))
	}
	s.keyMu.Lock()
	c := s.keyCache
	small, known := false, false
	if c != nil && c.db == sh.Database && c.table == sh.Table {
		small, known = c.small[targetBytes]
	}
	s.keyMu.Unlock()
	if !known {
		var rows, bytes int64
		if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(TABLE_ROWS, 0), COALESCE(DATA_LENGTH, 0) FROM information_schema.TABLES
			WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`+s.exact("TABLE_SCHEMA", "TABLE_NAME"), s.exactArgs(sh.Database, sh.Table)...).Scan(&rows, &bytes); err != nil {
			return false, fmt.Errorf("read the size of %s.%s: %w", quoteIdent(sh.Database), quoteIdent(sh.Table), err)
		}
		whole := sh
		whole.Partitioned = false
		if bytes <= targetBytes/2 && plausible(source.Partition{Rows: rows, DataBytes: bytes}, cols) {
			more, err := s.hasRowAt(ctx, whole, max(2*rows, minProbeRows))
			if err != nil {
				return false, err
			}
			small = !more
		}
		s.keyMu.Lock()
		if c != nil && c.db == sh.Database && c.table == sh.Table {
			if c.small == nil {
				c.small = map[int64]bool{}
			}
			c.small[targetBytes] = small
		}
		s.keyMu.Unlock()
	}
	if small {
		return false, nil
	}
	return s.hasRowAt(ctx, sh, max(2*p.Rows, minProbeRows))
}

// minProbeRows is the least offset probed to check that a partition is as
// small as its statistics say.
const minProbeRows = 1000

// sampleRows is how many rows at each end of the key are measured for the
// average width of a row.
const sampleRows = 500

// innodbRecordOverhead is the least an InnoDB record takes beyond its
// values: a 5-byte header, the 6-byte transaction id and the 7-byte roll
// pointer.
const innodbRecordOverhead = 18

// plausible reports whether a partition's statistics can describe it: an
// InnoDB record takes at least its fixed-width values and its header, so
// a data length below half of rows × that is out of date (typically a
// table loaded after InnoDB last sampled it: 16 KB for millions of rows).
func plausible(p source.Partition, cols []source.Column) bool {
	if p.Rows <= 0 {
		return p.DataBytes <= 16<<10 // an empty table is one page
	}
	return p.DataBytes >= p.Rows*minRecordBytes(cols)/2
}

// minRecordBytes is the least bytes one record of these columns takes.
func minRecordBytes(cols []source.Column) int64 {
	n := int64(innodbRecordOverhead)
	for _, c := range cols {
		if c.Generated {
			continue // virtual columns take no space
		}
		switch c.Kind {
		case source.KindInt, source.KindUint:
			n += int64(max(c.Bits/8, 1))
		case source.KindDecimal:
			n += int64(max(c.Precision/2, 1))
		case source.KindDouble:
			n += 8
		case source.KindFloat, source.KindTimestamp:
			n += 4
		case source.KindDate, source.KindTime, source.KindDateTime:
			n += 3
		case source.KindYear:
			n++
		}
	}
	return n
}

// hasRowAt reports whether the shard's partition has a row at offset n:
// it reads at most n index entries, so it is cheap exactly when the
// statistics were right.
func (s *Source) hasRowAt(ctx context.Context, sh source.Shard, n int64) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, "SELECT 1 FROM "+fromClause(sh)+" LIMIT 1 OFFSET "+strconv.FormatInt(n, 10)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check the size of %s: %w", fromClause(sh), err)
	}
	return true, nil
}

// sampleRowBytes estimates the bytes a row takes in InnoDB (the unit of
// DATA_LENGTH and so of shard_size) from the average size of the values of
// sampleRows rows at each end of the key — two index dives and a few pages
// each, whatever the statistics say — plus the record's fixed part, at the
// 15/16 page fill of rows inserted in key order.
func (s *Source) sampleRowBytes(ctx context.Context, sh source.Shard, key source.Column, cols []source.Column) (int64, error) {
	from := fromClause(sh)
	names := make([]string, len(cols))
	lens := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.Name)
		lens[i] = fmt.Sprintf("COALESCE(LENGTH(c%d), 0)", i)
	}
	alias := make([]string, len(cols))
	for i := range cols {
		alias[i] = names[i] + " AS c" + strconv.Itoa(i)
	}
	end := func(dir string) string {
		return "(SELECT " + strings.Join(alias, ", ") + " FROM " + from + " ORDER BY " + quoteIdent(key.Name) + dir + " LIMIT " + strconv.Itoa(sampleRows) + ")"
	}
	q := "SELECT COUNT(*), COALESCE(SUM(" + strings.Join(lens, " + ") + "), 0) FROM (" + end("") + " UNION ALL " + end(" DESC") + ") AS sample"
	var rows, bytes int64
	if err := s.db.QueryRowContext(ctx, q).Scan(&rows, &bytes); err != nil {
		return 0, fmt.Errorf("sample rows of %s: %w", from, err)
	}
	if rows == 0 {
		return 1, nil
	}
	return max((bytes/rows+minRecordBytes(cols))*16/15, 1), nil
}

// countRange counts the rows of a shard's key range (at most one step of
// the walk, so cheap).
func (s *Source) countRange(ctx context.Context, sh source.Shard, key source.Column) (int64, error) {
	where, err := whereClause(sh, &key)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+fromClause(sh)+where).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", fromClause(sh), err)
	}
	return n, nil
}

// findPartition finds a partition by name. Partition names are
// case-insensitive in MariaDB and MySQL; the single partition of an
// unpartitioned table is named exactly like the table.
func findPartition(parts []source.Partition, name string) (source.Partition, error) {
	for _, p := range parts {
		if p.Method == "NONE" && p.Name == name || p.Method != "NONE" && strings.EqualFold(p.Name, name) {
			return p, nil
		}
	}
	return source.Partition{}, fmt.Errorf("partition %s: %w", quoteIdent(name), source.ErrNotFound)
}

// splitKeyInfo is the column shards are bounded by and the index it leads.
type splitKeyInfo struct {
	col   source.Column
	index string // "PRIMARY" or a unique key's name
}

// uniqueIndex is the index for source.Shard.KeyIndex: empty for the primary
// key.
func (k *splitKeyInfo) uniqueIndex() string {
	if k.index == "PRIMARY" {
		return ""
	}
	return k.index
}

// keyPart is one column of a unique index, as information_schema lists it.
type keyPart struct {
	index, column string
	prefix        bool // a prefix part (SUB_PART)
	nullable      bool
}

// keyPartsOf lists the unique indexes' columns of db's table, or of all
// its tables when table is "", by table: the primary key first, then by
// index name, each index's columns in order.
func (s *Source) keyPartsOf(ctx context.Context, db, table string) (map[string][]keyPart, error) {
	where, args := s.catalogWhere("TABLE_SCHEMA", db, table)
	rows, err := s.db.QueryContext(ctx, `SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART, NULLABLE FROM information_schema.STATISTICS`+where+`
		AND NON_UNIQUE = 0 ORDER BY TABLE_NAME, INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, args...)
	if err != nil {
		return nil, fmt.Errorf("find keys of %s: %w", catalogName(db, table), err)
	}
	defer rows.Close()
	out := map[string][]keyPart{}
	for rows.Next() {
		var tname, nullable string
		var kp keyPart
		var subPart sql.NullInt64
		if err := rows.Scan(&tname, &kp.index, &kp.column, &subPart, &nullable); err != nil {
			return nil, fmt.Errorf("find keys of %s: %w", catalogName(db, table), err)
		}
		kp.prefix, kp.nullable = subPart.Valid, nullable == "YES"
		out[tname] = append(out[tname], kp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find keys of %s: %w", catalogName(db, table), err)
	}
	return out, nil
}

// splitKey returns the split key of a table with columns cols (see
// chooseSplitKey).
func (s *Source) splitKey(ctx context.Context, db, table string, cols []source.Column) (*splitKeyInfo, error) {
	byTable, err := s.keyPartsOf(ctx, db, table)
	if err != nil {
		return nil, err
	}
	parts, _ := only(byTable, db, table) // no unique index: no key
	return chooseSplitKey(parts, cols), nil
}

// chooseSplitKey returns the leading column of the primary key when shards
// can be bounded by it; else, for a table without a usable primary key,
// that of a unique key whose columns are all NOT NULL (the one with fewest
// columns), which identifies a row as well; or nil. A key is not usable
// with a prefix part (ORDER BY could not use it) or a leading column of a
// kind without an exact order-preserving literal.
func chooseSplitKey(parts []keyPart, cols []source.Column) *splitKeyInfo {
	type index struct {
		name   string
		lead   string
		parts  int
		usable bool
	}
	var order []*index
	byName := map[string]*index{}
	for _, kp := range parts {
		ix := byName[kp.index]
		if ix == nil {
			ix = &index{name: kp.index, lead: kp.column, usable: true}
			byName[kp.index] = ix
			order = append(order, ix)
		}
		ix.parts++
		if kp.prefix || kp.nullable {
			ix.usable = false
		}
	}
	var best *splitKeyInfo
	bestParts := 0
	for _, ix := range order {
		if !ix.usable {
			continue
		}
		for _, c := range cols {
			if c.Name != ix.lead || !c.Kind.Splittable() {
				continue
			}
			if ix.name == "PRIMARY" {
				return &splitKeyInfo{col: c, index: ix.name}
			}
			if best == nil || ix.parts < bestParts {
				best, bestParts = &splitKeyInfo{col: c, index: ix.name}, ix.parts
			}
		}
	}
	return best
}

// walkKey returns the shard bounds: each the key value step rows past the
// previous bound, strictly greater than it, so the walk always advances
// even over runs of equal leading-column values.
func (s *Source) walkKey(ctx context.Context, sh source.Shard, key source.Column, step int64) ([]string, error) {
	from := fromClause(sh)
	order := " ORDER BY " + quoteIdent(key.Name) + " LIMIT 1 OFFSET "
	var bounds []string
	for {
		q := "SELECT " + boundExpr(key) + " FROM " + from
		if n := len(bounds); n == 0 {
			q += order + strconv.FormatInt(step, 10)
		} else {
			lit, err := boundLiteral(key, bounds[n-1])
			if err != nil {
				return nil, err
			}
			q += " WHERE " + quoteIdent(key.Name) + " > " + lit + order + strconv.FormatInt(step-1, 10)
		}
		var b sql.NullString
		err := s.db.QueryRowContext(ctx, q).Scan(&b)
		if errors.Is(err, sql.ErrNoRows) {
			return bounds, nil
		}
		if err != nil {
			return nil, fmt.Errorf("plan shards of %s: %w", from, err)
		}
		if !b.Valid {
			return nil, fmt.Errorf("plan shards of %s: NULL in primary key %s", from, quoteIdent(key.Name))
		}
		if len(bounds) == maxShardsPerPartition {
			return nil, fmt.Errorf("plan shards of %s: more than %d shards; raise the shard size", from, maxShardsPerPartition)
		}
		bounds = append(bounds, b.String)
	}
}

// fromClause names the table, and the partition when the table has them.
func fromClause(sh source.Shard) string {
	f := quoteIdent(sh.Database) + "." + quoteIdent(sh.Table)
	if sh.Partitioned {
		f += " PARTITION (" + quoteIdent(sh.Partition) + ")"
	}
	return f
}

// whereClause restricts a read to the shard's key range; it is empty for a
// whole-partition shard.
func whereClause(sh source.Shard, key *source.Column) (string, error) {
	if sh.Lo == nil && sh.Hi == nil {
		return "", nil
	}
	if key == nil {
		return "", fmt.Errorf("shard %d of %s: key column %s not found", sh.Index, fromClause(sh), quoteIdent(sh.Key))
	}
	var conds []string
	if sh.Lo != nil {
		lit, err := boundLiteral(*key, *sh.Lo)
		if err != nil {
			return "", err
		}
		conds = append(conds, quoteIdent(key.Name)+" >= "+lit)
	}
	if sh.Hi != nil {
		lit, err := boundLiteral(*key, *sh.Hi)
		if err != nil {
			return "", err
		}
		conds = append(conds, quoteIdent(key.Name)+" < "+lit)
	}
	return " WHERE " + strings.Join(conds, " AND "), nil
}
