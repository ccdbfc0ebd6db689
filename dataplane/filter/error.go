package filter

import (
	"strconv"
	"unicode/utf8"
)

// Error is why a filter was rejected. Parse returns only errors of this type.
type Error struct {
	// Pos is the byte offset (from 0) in the filter of the offending token or sub-expression.
	Pos int
	// Msg says what is wrong, quoting the offending text in Azure's style, for example
	// "Invalid syntax for 'not length(userId)': Type 'int', expect 'bool'.".
	Msg string
}

// Error returns Msg followed by the position, for example
// "Invalid syntax for 'userId eq 1': Type 'int', expect 'string'. (at position 0)".
func (e *Error) Error() string {
	return e.Msg + " (at position " + strconv.Itoa(e.Pos) + ")"
}

// maxQuoted bounds how much of the caller's filter an error message echoes.
const maxQuoted = 64

// syntaxError is the usual error: the offending text src[pos:end] and what is wrong with it.
func syntaxError(src string, pos, end int, detail string) *Error {
	if pos >= len(src) {
		return &Error{Pos: len(src), Msg: "Invalid syntax at the end of the filter: " + detail}
	}
	return &Error{Pos: pos, Msg: "Invalid syntax for '" + quoted(src[pos:end]) + "': " + detail}
}

// quoted shortens s to at most maxQuoted bytes, cutting on a rune boundary.
func quoted(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
