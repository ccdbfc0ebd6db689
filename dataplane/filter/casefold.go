package filter

import (
	"unicode"
	"unicode/utf8"
)

// mappedEq is `tolower(x) eq 'lit'` or `toupper(x) eq 'lit'` (or ne, with the literal on either
// side). It compares the case-mapped runes of x with lit in place, so that a case-insensitive
// match on a user id does not build a lower-cased copy for every connection (measured: one
// allocation per Match otherwise).
type mappedEq struct {
	*compare // the comparison as written, for kind, prec and format
	x        expr
	mapRune  func(rune) rune
	lit      string
}

// newMappedEq returns the in-place form of c, or nil when c is not such a comparison.
func newMappedEq(c *compare) expr {
	if c.op != opEq && c.op != opNe {
		return nil
	}
	fn, lit := c.l, c.r
	if _, ok := fn.(*literal); ok {
		fn, lit = lit, fn
	}
	call, ok := fn.(*call)
	l, isLit := lit.(*literal)
	if !ok || !isLit || l.v.k != kindString {
		return nil
	}
	m := &mappedEq{compare: c, lit: l.v.s}
	switch call.fn {
	case fnToLower:
		m.mapRune = unicode.ToLower
	case fnToUpper:
		m.mapRune = unicode.ToUpper
	default:
		return nil
	}
	m.x = call.args[0]
	return m
}

func (m *mappedEq) eval(s Subject) value {
	x := m.x.eval(s)
	// tolower(null) is null, which is not equal to a string.
	eq := x.k == kindString && equalMapped(x.s, m.lit, m.mapRune)
	return boolValue(eq == (m.op == opEq))
}

// equalMapped reports whether strings.Map(mapRune, s) == lit without building the mapped string.
// strings.ToLower and strings.ToUpper are that Map with unicode.ToLower and unicode.ToUpper (an
// invalid byte maps to utf8.RuneError); lit is valid UTF-8.
func equalMapped(s, lit string, mapRune func(rune) rune) bool {
	for s != "" && lit != "" {
		r, n := utf8.DecodeRuneInString(s)
		l, m := utf8.DecodeRuneInString(lit)
		if mapRune(r) != l {
			return false
		}
		s, lit = s[n:], lit[m:]
	}
	return s == "" && lit == ""
}
