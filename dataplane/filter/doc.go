// Package filter parses and evaluates the OData filter subset that Azure Web PubSub accepts in the
// `filter` parameter of its data-plane REST API (send to all, to a user or to a group, and
// `:addToGroups` / `:removeFromGroups`).
//
// A filter is parsed and type-checked once with [Parse] (or [ParseOptional] for an optional query
// parameter) and then matched against many connections with [Filter.Match]. A parsed [Filter] is
// immutable and safe for concurrent use; Match does not allocate unless a string function has to
// build a new string (concat, or tolower/toupper whose result is not simply compared with a
// string literal).
//
// # Language
//
//	identifiers  userId, connectionId (strings), groups (the connection's groups); names are
//	             case-insensitive, everything else (operators, literals, functions) is lower-case
//	literals     'text' ('' escapes a quote), integers [+-]?digits (64-bit), true, false, null
//	operators    not > eq ne gt ge lt le in > and > or (highest binding first)
//	in           x in ('a', 'b', ...) or x in groups
//	functions    tolower(s) toupper(s) trim(s) substring(s, i[, n]) concat(s, t) -> string
//	             indexof(s, t) length(s | groups) -> int
//	             startswith(s, t) endswith(s, t) contains(s, t) -> bool
//
// Because not binds tighter than the comparisons, `not length(userId) gt 5` applies not to
// length(userId) and is rejected; write `not (length(userId) gt 5)`.
//
// # Types
//
// Types are checked statically: the whole filter and the operands of and, or and not must be
// boolean; eq and ne compare two values of the same type (bool, int or string); gt, ge, lt and le
// order two ints or two strings; the null literal is accepted wherever a value is. A violation is
// reported by Parse, never by Match.
//
// # Null
//
// userId is null for anonymous connections. The rules follow Microsoft's Web PubSub emulator:
// `userId eq null` is true for them, and any eq/ne with null compares nullness; gt, ge, lt and le
// are false when either side is null; tolower, toupper, trim, substring and length of null are
// null; concat treats one null operand as empty (and is null when both are); indexof with a null
// operand is -1; startswith, endswith and contains with a null operand are false. A boolean
// expression is therefore never null.
//
// Strings compare ordinally (byte-wise on UTF-8, i.e. by code point); length, indexof and
// substring count Unicode code points; tolower and toupper use Unicode simple case mapping (as
// strings.ToLower and strings.ToUpper do); trim removes Unicode white space. substring with an
// index or length outside the string is null; its index and length may be any int expression.
//
// # Limits
//
// A filter is at most [MaxLength] bytes of UTF-8, nests parentheses, not, function calls and in
// lists at most [MaxDepth] deep, and has at most [MaxClauses] clauses (comparisons, in tests and
// boolean function calls; one in list is one clause however long). Each limit is reported as an
// [*Error].
package filter
