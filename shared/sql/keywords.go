package sql

import "strings"

// reserved holds StarRocks' reserved words: written unquoted they are never
// names, so a table called `table` must be backquoted. Every keyword of the
// statements this package parses that is not listed here (BACKUP, SNAPSHOT,
// REPOSITORY, TABLES, VIEW, VIEWS, FUNCTIONS, CATALOG, TIMESTAMP, ROLE, USER,
// …) is non-reserved and works as a plain name.
var reserved = func() map[string]bool {
	words := strings.Fields(`
		ADD ALL ALTER ANALYZE AND ARRAY AS ASC BETWEEN BIGINT BITMAP BOTH BY CASE
		CHAR CHARACTER CHECK COLLATE COLUMN CONVERT CREATE CROSS CUBE CURRENT_DATE
		CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DATABASE DATABASES DECIMAL
		DEFAULT DELETE DENSE_RANK DESC DESCRIBE DISTINCT DOUBLE DROP DUAL ELSE
		EXCEPT EXISTS EXPLAIN FALSE FLOAT FOR FORCE FROM FULL FUNCTION GRANT GROUP
		GROUPING HAVING IF IN INDEX INFILE INNER INSERT INT INTEGER INTERSECT INTO
		IS JOIN KEY KEYS KILL LARGEINT LEFT LIKE LIMIT LOAD LOCALTIME
		LOCALTIMESTAMP MAXVALUE MOD NOT NULL ON OR ORDER OUTER OUTFILE OVER
		PARTITION PERCENTILE PRIMARY PROCEDURE RANGE REGEXP RENAME REPLACE REVOKE
		RIGHT RLIKE ROWS SCHEMA SCHEMAS SELECT SET SHOW SMALLINT SYSTEM TABLE
		TERMINATED THEN TINYINT TO TRUE UNION UNIQUE UNSIGNED UPDATE USE USING
		VALUES VARCHAR WHEN WHERE WITH`)
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}()

// maxKeywordLen bounds the words looked up in reserved, so that a long
// identifier is never upper-cased just to be looked up.
const maxKeywordLen = len("CURRENT_TIMESTAMP")

// isReserved reports whether an unquoted identifier is a reserved word.
func isReserved(word string) bool {
	if len(word) > maxKeywordLen {
		return false
	}
	var buf [maxKeywordLen]byte
	for i := 0; i < len(word); i++ {
		c := word[i]
		if c >= 0x80 {
			return false
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	return reserved[string(buf[:len(word)])]
}

// equalFoldASCII compares s with an upper-case ASCII keyword, ignoring ASCII
// case only: keywords never match through Unicode case folding (the Kelvin
// sign is not a K).
func equalFoldASCII(s, kw string) bool {
	if len(s) != len(kw) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != kw[i] {
			return false
		}
	}
	return true
}
