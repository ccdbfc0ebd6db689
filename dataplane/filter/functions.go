package filter

import (
	"strings"
	"unicode/utf8"
)

type function uint8

const (
	fnToLower function = iota
	fnToUpper
	fnTrim
	fnSubstring
	fnConcat
	fnIndexOf
	fnLength
	fnStartsWith
	fnEndsWith
	fnContains
)

// signature is a function's name, parameter types and result type. A parameter of kindCollection
// (only length's) takes a string or the groups collection.
type signature struct {
	name     string
	params   []kind
	optional int // how many trailing params may be omitted
	result   kind
}

var (
	oneString  = []kind{kindString}
	twoStrings = []kind{kindString, kindString}
)

var signatures = [...]signature{
	fnToLower:    {name: "tolower", params: oneString, result: kindString},
	fnToUpper:    {name: "toupper", params: oneString, result: kindString},
	fnTrim:       {name: "trim", params: oneString, result: kindString},
	fnSubstring:  {name: "substring", params: []kind{kindString, kindInt, kindInt}, optional: 1, result: kindString},
	fnConcat:     {name: "concat", params: twoStrings, result: kindString},
	fnIndexOf:    {name: "indexof", params: twoStrings, result: kindInt},
	fnLength:     {name: "length", params: []kind{kindCollection}, result: kindInt},
	fnStartsWith: {name: "startswith", params: twoStrings, result: kindBool},
	fnEndsWith:   {name: "endswith", params: twoStrings, result: kindBool},
	fnContains:   {name: "contains", params: twoStrings, result: kindBool},
}

// lookupFunction finds a function by its exact (lower-case) name.
func lookupFunction(name string) (function, bool) {
	for fn, sig := range signatures {
		if sig.name == name {
			return function(fn), true
		}
	}
	return 0, false
}

// accepts reports whether an argument of type got may be passed for a parameter of type want.
func accepts(want, got kind) bool {
	switch {
	case got == kindNull || got == want:
		return true
	case want == kindCollection:
		return got == kindString // length(string)
	default:
		return false
	}
}

// call is a function call with type-checked arguments.
type call struct {
	fn   function
	args []expr
}

func (c *call) kind() kind { return signatures[c.fn].result }
func (c *call) prec() int  { return precPrimary }
func (c *call) format(b *strings.Builder) {
	b.WriteString(signatures[c.fn].name)
	b.WriteByte('(')
	for i, a := range c.args {
		if i > 0 {
			b.WriteString(", ")
		}
		a.format(b)
	}
	b.WriteByte(')')
}

// eval switches on the function rather than calling through a table of func values, so the
// arguments stay on the stack and a call allocates only when it builds a new string.
func (c *call) eval(s Subject) value {
	if c.fn == fnLength {
		if c.args[0].kind() == kindCollection {
			return intValue(int64(s.GroupCount()))
		}
		a := c.args[0].eval(s)
		if a.k != kindString {
			return nullValue
		}
		return intValue(int64(utf8.RuneCountInString(a.s)))
	}
	a := c.args[0].eval(s)
	switch c.fn {
	case fnToLower:
		return mapString(a, strings.ToLower)
	case fnToUpper:
		return mapString(a, strings.ToUpper)
	case fnTrim:
		return mapString(a, strings.TrimSpace)
	case fnSubstring:
		return c.substring(s, a)
	}
	b := c.args[1].eval(s)
	switch c.fn {
	case fnConcat:
		return concat(a, b)
	case fnIndexOf:
		return indexOf(a, b)
	}
	if a.k != kindString || b.k != kindString {
		return boolValue(false)
	}
	switch c.fn {
	case fnStartsWith:
		return boolValue(strings.HasPrefix(a.s, b.s))
	case fnEndsWith:
		return boolValue(strings.HasSuffix(a.s, b.s))
	default:
		return boolValue(strings.Contains(a.s, b.s))
	}
}

func mapString(a value, f func(string) string) value {
	if a.k != kindString {
		return nullValue
	}
	return stringValue(f(a.s))
}

// concat treats one null operand as the empty string and is null only when both are, as the
// emulator does (it mirrors .NET's string.Concat).
func concat(a, b value) value {
	switch {
	case a.k != kindString && b.k != kindString:
		return nullValue
	case a.k != kindString:
		return b
	case b.k != kindString:
		return a
	}
	return stringValue(a.s + b.s)
}

// indexOf is the code-point index of b in a, or -1 (also when either is null).
func indexOf(a, b value) value {
	if a.k != kindString || b.k != kindString {
		return intValue(-1)
	}
	i := strings.Index(a.s, b.s)
	if i < 0 {
		return intValue(-1)
	}
	return intValue(int64(utf8.RuneCountInString(a.s[:i])))
}

// substring is null when the string or an index is null or when the range does not lie within
// the string (the emulator's behaviour), counting code points.
func (c *call) substring(s Subject, str value) value {
	start := c.args[1].eval(s)
	if str.k != kindString || start.k != kindInt {
		return nullValue
	}
	total := int64(utf8.RuneCountInString(str.s))
	if start.i < 0 || start.i > total {
		return nullValue
	}
	rest := str.s[runeOffset(str.s, start.i):]
	if len(c.args) == 2 {
		return stringValue(rest)
	}
	n := c.args[2].eval(s)
	if n.k != kindInt || n.i < 0 || n.i > total-start.i {
		return nullValue
	}
	return stringValue(rest[:runeOffset(rest, n.i)])
}

// runeOffset is the byte offset of the n-th code point of s; n is at most the rune count.
func runeOffset(s string, n int64) int {
	var i int64
	for off := range s {
		if i == n {
			return off
		}
		i++
	}
	return len(s)
}
