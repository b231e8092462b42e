// Package parquetio writes the rows of a source shard as a Parquet file,
// streaming, and reads them back in the source's canonical text form.
//
// Each source column becomes one Parquet column of the same name, in the
// source's order, chosen so that every value round-trips exactly and
// common readers (DuckDB, Athena, Spark, StarRocks FILES()) see a natural
// type. Every column is OPTIONAL (NULL is a null). The choices, and how a
// value is restored (ColumnSpec.Restore says the same per column):
//
//	source type              Parquet physical / logical           restore
//	TINYINT…BIGINT           INT32/INT64, INT(8|16|32|64, signed)  the integer (MEDIUMINT: INT(32))
//	… UNSIGNED               INT32/INT64, INT(…, unsigned)         the integer; BIGINT UNSIGNED max survives
//	DECIMAL(p≤9,s)           INT32 DECIMAL(p,s)                    unscaled integer, s fraction digits
//	DECIMAL(p≤18,s)          INT64 DECIMAL(p,s)                    〃
//	DECIMAL(p≤38,s)          FIXED_LEN_BYTE_ARRAY(n) DECIMAL(p,s)  〃 (n minimal, two's complement)
//	DECIMAL(p>38,s)          BYTE_ARRAY STRING                     the exact decimal text, s fraction digits
//	FLOAT                    FLOAT                                 bit for bit (read as CAST(… AS DOUBLE))
//	DOUBLE                   DOUBLE                                bit for bit
//	BIT(n)                   INT64 INT(64, unsigned)               the n low bits
//	DATE                     INT32 DATE + <col>__raw STRING        the date; zero dates in __raw
//	DATETIME(fsp)            INT64 TIMESTAMP(MICROS, local) + __raw wall clock, fsp digits; zero dates in __raw
//	TIMESTAMP(fsp)           INT64 TIMESTAMP(MICROS, UTC) + __raw  UTC instant, fsp digits; zero in __raw
//	TIME(fsp)                INT64 INT(64, signed)                 signed microseconds (±838:59:59.999999)
//	YEAR                     INT32 INT(16, signed)                 the year, 0 = 0000
//	CHAR/VARCHAR/TEXT, ENUM, SET, UUID, INET4, INET6
//	                         BYTE_ARRAY STRING                     UTF-8 text (any charset, read as utf8mb4)
//	JSON                     BYTE_ARRAY JSON                       the document text as stored
//	BINARY/VARBINARY/BLOB    BYTE_ARRAY                            the bytes
//	GEOMETRY and subtypes    BYTE_ARRAY (WKB) + <col>__srid UINT32  ST_GeomFromWKB(wkb, srid)
//
// Why: DECIMAL wider than 38 digits is text because readers cap decimals
// at 38 digits: DuckDB 1.5 reads a FIXED_LEN_BYTE_ARRAY DECIMAL(65,30) as a
// DOUBLE (and got the value wrong when we tried), Spark and Athena refuse
// it; text keeps every digit and casts exactly. A zero date (0000-00-00,
// 2024-02-00, or any date in year 0) is no Parquet date, so the typed column holds NULL and the companion
// <col>__raw column the original text; for every real date __raw is NULL
// (and costs next to nothing). Parquet TIME is a time of day and cannot
// hold MariaDB's negative or >24 h TIME, hence signed microseconds.
// MariaDB stores neither NaN, ±Inf nor -0.0 in FLOAT/DOUBLE (checked by the
// source/mysql tests), so decimal text loses nothing there. GEOMETRY keeps
// a per-value SRID, which Parquet's GEOMETRY logical type (one CRS per
// column) cannot; DuckDB reads the WKB with ST_GeomFromWKB. A companion
// name that a real column already has gets '_' appended until unique.
//
// The writer holds at most one row group of about Options.RowGroupBytes of
// source data (compressed as pages fill), so its memory does not depend on
// the size of the shard. Every file carries its []ColumnSpec as JSON under
// the key-value metadata key MetadataKey.
package parquetio
