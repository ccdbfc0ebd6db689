package filter

import (
	"cmp"
	"strings"
)

// kind is both the static type of an expression and the dynamic type of a value. A string- or
// int-typed expression may still evaluate to null (an anonymous userId and what is derived from it).
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindInt
	kindString
	kindCollection
)

// String names the kind the way Azure's error messages do ("Type 'null', expect 'bool'").
func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "bool"
	case kindInt:
		return "int"
	case kindString:
		return "string"
	default:
		return "collection"
	}
}

// value is one evaluated operand. It is a plain struct rather than an interface so that
// evaluation never boxes and Match stays allocation-free.
type value struct {
	k kind
	b bool
	i int64
	s string
}

var nullValue = value{}

func boolValue(b bool) value     { return value{k: kindBool, b: b} }
func intValue(i int64) value     { return value{k: kindInt, i: i} }
func stringValue(s string) value { return value{k: kindString, s: s} }

// equal is eq: null equals only null; otherwise the (statically equal) kinds compare by value.
func equal(a, b value) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case kindBool:
		return a.b == b.b
	case kindInt:
		return a.i == b.i
	case kindString:
		return a.s == b.s
	default:
		return true // null eq null
	}
}

// order compares two ints or two strings (ordinally); ok is false when either side is null, which
// makes every ordering comparison false.
func order(a, b value) (c int, ok bool) {
	if a.k != b.k {
		return 0, false
	}
	switch a.k {
	case kindInt:
		return cmp.Compare(a.i, b.i), true
	case kindString:
		return strings.Compare(a.s, b.s), true
	default:
		return 0, false
	}
}
