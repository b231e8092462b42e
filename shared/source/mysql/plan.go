package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

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
	if targetBytes <= 0 {
		return nil, fmt.Errorf("plan shards: target size must be positive, got %d", targetBytes)
	}
	parts, err := s.Partitions(ctx, db, table)
	if err != nil {
		return nil, err
	}
	p, err := findPartition(parts, partition)
	if err != nil {
		return nil, fmt.Errorf("table %s.%s: %w", quoteIdent(db), quoteIdent(table), err)
	}
	return s.PlanPartition(ctx, db, table, p, targetBytes)
}

// PlanPartition is PlanShards for a partition the caller has already listed
// with Partitions: a table of thousands of partitions is planned without
// listing them again for each one.
func (s *Source) PlanPartition(ctx context.Context, db, table string, p source.Partition, targetBytes int64) ([]source.Shard, error) {
	if targetBytes <= 0 {
		return nil, fmt.Errorf("plan shards: target size must be positive, got %d", targetBytes)
	}
	whole := source.Shard{
		Database: db, Table: table, Partition: p.Name, Partitioned: p.Method != "NONE",
		EstBytes: p.DataBytes, EstRows: p.Rows,
	}
	if p.DataBytes <= targetBytes || p.Rows < 2 {
		return []source.Shard{whole}, nil
	}
	key, err := s.splitKey(ctx, db, table)
	if err != nil || key == nil {
		return []source.Shard{whole}, err
	}
	rowBytes := max(p.DataBytes/p.Rows, 1)
	step := max(targetBytes/rowBytes, 1)
	bounds, err := s.walkKey(ctx, whole, *key, step)
	if err != nil {
		return nil, err
	}
	shards := make([]source.Shard, 0, len(bounds)+1)
	for i := 0; i <= len(bounds); i++ {
		sh := whole
		sh.Index, sh.Key = i, key.Name
		sh.EstRows, sh.EstBytes = step, step*rowBytes
		if i > 0 {
			sh.Lo = &bounds[i-1]
		}
		if i < len(bounds) {
			sh.Hi = &bounds[i]
		} else {
			sh.EstRows = max(p.Rows-step*int64(len(bounds)), 0)
			sh.EstBytes = sh.EstRows * rowBytes
		}
		shards = append(shards, sh)
	}
	return shards, nil
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

// splitKey returns the leading primary-key column when shards can be
// bounded by it, or nil: no primary key, a prefix key (ORDER BY could not
// use it), or a kind without an exact order-preserving literal.
func (s *Source) splitKey(ctx context.Context, db, table string) (*source.Column, error) {
	var name string
	var subPart sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`+s.exact("TABLE_SCHEMA", "TABLE_NAME")+`
		AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX LIMIT 1`, s.exactArgs(db, table)...).Scan(&name, &subPart)
	if errors.Is(err, sql.ErrNoRows) || err == nil && subPart.Valid {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find primary key of %s.%s: %w", quoteIdent(db), quoteIdent(table), err)
	}
	cols, err := s.Columns(ctx, db, table)
	if err != nil {
		return nil, err
	}
	for _, c := range cols {
		if c.Name == name && c.Kind.Splittable() {
			return &c, nil
		}
	}
	return nil, nil
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
