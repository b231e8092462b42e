package sql

import "fmt"

// ErrorKind classifies an Error the way StarRocks words it.
type ErrorKind int

const (
	// SyntaxError: the text does not fit the grammar. Message is
	// "Getting syntax error at line L, column C. Detail message: D."
	SyntaxError ErrorKind = iota + 1
	// ParseRejection: the text fits the grammar but StarRocks' AST builder
	// rejects it (e.g. an alias on a BACKUP object). Message is
	// "Getting syntax error. Detail message: D."; Line and Column are still set.
	ParseRejection
	// AnalysisError: a semantic check that needs no catalog failed. Message
	// is "Getting analyzing error. Detail message: D."; Line and Column point
	// at the offending token.
	AnalysisError
)

// Error is a parse or validation failure. Error() returns Message, the full
// StarRocks-style text; Detail is the bare message StarRocks puts after
// "Detail message: " (without the final period). Line and Column are 1-based
// and point at the offending token.
type Error struct {
	Kind    ErrorKind
	Message string
	Detail  string
	Line    int
	Column  int
}

func (e *Error) Error() string { return e.Message }

func newError(kind ErrorKind, pos Pos, detail string) *Error {
	var msg string
	switch kind {
	case SyntaxError:
		msg = fmt.Sprintf("Getting syntax error at line %d, column %d. Detail message: %s.", pos.Line, pos.Column, detail)
	case ParseRejection:
		msg = fmt.Sprintf("Getting syntax error. Detail message: %s.", detail)
	default:
		msg = fmt.Sprintf("Getting analyzing error. Detail message: %s.", detail)
	}
	return &Error{Kind: kind, Message: msg, Detail: detail, Line: pos.Line, Column: pos.Column}
}

func syntaxErrorf(pos Pos, format string, args ...any) *Error {
	return newError(SyntaxError, pos, fmt.Sprintf(format, args...))
}

func rejectf(pos Pos, format string, args ...any) *Error {
	return newError(ParseRejection, pos, fmt.Sprintf(format, args...))
}

func analysisErrorf(pos Pos, format string, args ...any) *Error {
	return newError(AnalysisError, pos, fmt.Sprintf(format, args...))
}

// NewAnalysisError builds the error StarRocks reports for a failed semantic
// check, for the checks that need the catalog and run outside this package
// (e.g. "Unknown database 'x'"). pos may be the statement's Pos.
func NewAnalysisError(pos Pos, detail string) *Error {
	return newError(AnalysisError, pos, detail)
}
