package mysql

import (
	"errors"

	driver "github.com/go-sql-driver/mysql"
)

// Server error numbers that mean an object does not exist.
const (
	errBadDB          = 1049 // ER_BAD_DB_ERROR
	errNoSuchTable    = 1146 // ER_NO_SUCH_TABLE
	errSPDoesNotExist = 1305 // ER_SP_DOES_NOT_EXIST
	errWrongObject    = 1347 // ER_WRONG_OBJECT: 'db.t' is not VIEW
	errUnknownPart    = 1735 // ER_UNKNOWN_PARTITION
)

// isNoSuchObject reports whether err is the server saying a database,
// table, view, routine or partition does not exist.
func isNoSuchObject(err error) bool {
	var me *driver.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case errBadDB, errNoSuchTable, errSPDoesNotExist, errWrongObject, errUnknownPart:
		return true
	}
	return false
}
