package mysql

import (
	"context"
	"slices"

	"github.com/srbackup/srbackup/shared/source"
)

var _ source.CatalogReader = (*Source)(nil)

// WithCatalog reads the columns, check constraints, partitions and unique
// keys of every table of db in four statements and returns a Source that
// answers Columns, Partitions, PlanShards and PlanPartition for db's
// tables from them (planning still probes each table's size, and reads
// its DDL). Reading them per table takes about eight statements a table,
// the whole planning time of a database of thousands of small tables.
// Everything else, and any table not in the read, goes to s; closing the
// returned Source does not close s.
func (s *Source) WithCatalog(ctx context.Context, db string) (source.Source, error) {
	if err := checkIdent("database", db); err != nil {
		return nil, err
	}
	c := &catalogSource{Source: s, db: db}
	var err error
	if c.cols, err = columnsOf(ctx, s.db, s, db, ""); err != nil {
		return nil, err
	}
	if c.parts, err = partitionsOf(ctx, s.db, s, db, ""); err != nil {
		return nil, err
	}
	if c.keys, err = s.keyPartsOf(ctx, db, ""); err != nil {
		return nil, err
	}
	return c, nil
}

// catalogSource is a Source with one database's catalog read at once.
type catalogSource struct {
	*Source
	db    string
	cols  map[string][]source.Column
	parts map[string][]source.Partition
	keys  map[string][]keyPart
}

func (c *catalogSource) Columns(ctx context.Context, db, table string) ([]source.Column, error) {
	if cols, ok := c.cols[table]; ok && db == c.db {
		return slices.Clone(cols), nil
	}
	return c.Source.Columns(ctx, db, table)
}

func (c *catalogSource) Partitions(ctx context.Context, db, table string) ([]source.Partition, error) {
	if parts, ok := c.parts[table]; ok && db == c.db {
		return slices.Clone(parts), nil
	}
	return c.Source.Partitions(ctx, db, table)
}

func (c *catalogSource) PlanShards(ctx context.Context, db, table, partition string, targetBytes int64) ([]source.Shard, error) {
	return planShards(ctx, c, db, table, partition, targetBytes)
}

func (c *catalogSource) PlanPartition(ctx context.Context, db, table string, p source.Partition, targetBytes int64) ([]source.Shard, error) {
	return c.planPartition(ctx, db, table, p, targetBytes, c.loadKey)
}

// loadKey is Source.loadKey from the catalog read.
func (c *catalogSource) loadKey(ctx context.Context, db, table string) ([]source.Column, *splitKeyInfo, error) {
	cols, ok := c.cols[table]
	if !ok || db != c.db {
		return c.Source.loadKey(ctx, db, table)
	}
	return cols, chooseSplitKey(c.keys[table], cols), nil
}

// Close leaves the pool, which is s's, open.
func (c *catalogSource) Close() error { return nil }
