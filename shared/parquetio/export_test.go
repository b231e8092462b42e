package parquetio

// Test fixtures shared with the external test package.
var (
	KindColumns = kindColumns
	KindRows    = kindRows
	ToValues    = toValues
)
