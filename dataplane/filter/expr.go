package filter

import (
	"strconv"
	"strings"
)

// expr is a type-checked node of a parsed filter.
type expr interface {
	// eval computes the node's value for one connection. Boolean nodes never return null.
	eval(s Subject) value
	// kind is the node's static type.
	kind() kind
	// prec is how tightly the node binds, for printing the fewest parentheses that keep the tree.
	prec() int
	// format appends the canonical text of the node.
	format(b *strings.Builder)
}

const (
	precOr = iota + 1
	precAnd
	precCompare // eq ne gt ge lt le in, left-associative
	precNot
	precPrimary
)

// formatOperand writes x, parenthesized when it binds less tightly than min.
func formatOperand(b *strings.Builder, x expr, minPrec int) {
	if x.prec() >= minPrec {
		x.format(b)
		return
	}
	b.WriteByte('(')
	x.format(b)
	b.WriteByte(')')
}

// literal is a constant: a string, an integer, true, false or null.
type literal struct{ v value }

func (l *literal) eval(Subject) value { return l.v }
func (l *literal) kind() kind         { return l.v.k }
func (l *literal) prec() int          { return precPrimary }
func (l *literal) format(b *strings.Builder) {
	switch l.v.k {
	case kindNull:
		b.WriteString("null")
	case kindBool:
		b.WriteString(strconv.FormatBool(l.v.b))
	case kindInt:
		b.WriteString(strconv.FormatInt(l.v.i, 10))
	default:
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(l.v.s, "'", "''"))
		b.WriteByte('\'')
	}
}

// field is one of the identifiers.
type field uint8

const (
	fieldUserID field = iota
	fieldConnectionID
	fieldGroups
)

// fieldNames are the canonical spellings; the parser matches them case-insensitively.
var fieldNames = [...]string{fieldUserID: "userId", fieldConnectionID: "connectionId", fieldGroups: "groups"}

type ident struct{ f field }

func (x *ident) eval(s Subject) value {
	switch x.f {
	case fieldUserID:
		if id, ok := s.UserID(); ok {
			return stringValue(id)
		}
		return nullValue
	case fieldConnectionID:
		return stringValue(s.ConnectionID())
	default:
		// groups is only ever consumed by length() and in, which ask the Subject directly.
		return value{k: kindCollection}
	}
}

func (x *ident) kind() kind {
	if x.f == fieldGroups {
		return kindCollection
	}
	return kindString
}

func (x *ident) prec() int                 { return precPrimary }
func (x *ident) format(b *strings.Builder) { b.WriteString(fieldNames[x.f]) }

type negation struct{ x expr }

func (n *negation) eval(s Subject) value { return boolValue(!n.x.eval(s).b) }
func (n *negation) kind() kind           { return kindBool }
func (n *negation) prec() int            { return precNot }
func (n *negation) format(b *strings.Builder) {
	b.WriteString("not ")
	formatOperand(b, n.x, precNot)
}

// logical is a flattened chain of and (or of or): associativity makes a chain equivalent to any
// nesting, and a flat chain evaluates without recursion and short-circuits.
type logical struct {
	and bool
	xs  []expr
}

func (l *logical) eval(s Subject) value {
	for _, x := range l.xs {
		if x.eval(s).b != l.and {
			return boolValue(!l.and)
		}
	}
	return boolValue(l.and)
}

func (l *logical) kind() kind { return kindBool }

func (l *logical) prec() int {
	if l.and {
		return precAnd
	}
	return precOr
}

func (l *logical) format(b *strings.Builder) {
	op := " or "
	if l.and {
		op = " and "
	}
	for i, x := range l.xs {
		if i > 0 {
			b.WriteString(op)
		}
		formatOperand(b, x, l.prec()+1)
	}
}

type compareOp uint8

const (
	opEq compareOp = iota
	opNe
	opGt
	opGe
	opLt
	opLe
)

var compareOpNames = [...]string{opEq: "eq", opNe: "ne", opGt: "gt", opGe: "ge", opLt: "lt", opLe: "le"}

type compare struct {
	op   compareOp
	l, r expr
}

func (c *compare) eval(s Subject) value {
	l, r := c.l.eval(s), c.r.eval(s)
	switch c.op {
	case opEq:
		return boolValue(equal(l, r))
	case opNe:
		return boolValue(!equal(l, r))
	}
	n, ok := order(l, r)
	if !ok {
		return boolValue(false)
	}
	switch c.op {
	case opGt:
		return boolValue(n > 0)
	case opGe:
		return boolValue(n >= 0)
	case opLt:
		return boolValue(n < 0)
	default:
		return boolValue(n <= 0)
	}
}

func (c *compare) kind() kind { return kindBool }
func (c *compare) prec() int  { return precCompare }
func (c *compare) format(b *strings.Builder) {
	formatOperand(b, c.l, precCompare)
	b.WriteByte(' ')
	b.WriteString(compareOpNames[c.op])
	b.WriteByte(' ')
	formatOperand(b, c.r, precCompare+1)
}

// inList is `x in (a, b, ...)`: true when x eq one of the items.
type inList struct {
	x     expr
	items []expr
	// set holds the items when all are non-null string literals and there are enough of them
	// for a map lookup to beat a scan.
	set map[string]struct{}
}

// minSetItems is where a map lookup starts to beat comparing strings one by one.
const minSetItems = 8

func (in *inList) eval(s Subject) value {
	x := in.x.eval(s)
	if in.set != nil {
		if x.k != kindString {
			return boolValue(false)
		}
		_, ok := in.set[x.s]
		return boolValue(ok)
	}
	for _, it := range in.items {
		if equal(x, it.eval(s)) {
			return boolValue(true)
		}
	}
	return boolValue(false)
}

func (in *inList) kind() kind { return kindBool }
func (in *inList) prec() int  { return precCompare }
func (in *inList) format(b *strings.Builder) {
	formatOperand(b, in.x, precCompare)
	b.WriteString(" in (")
	for i, it := range in.items {
		if i > 0 {
			b.WriteString(", ")
		}
		it.format(b)
	}
	b.WriteByte(')')
}

// inGroups is `x in groups`.
type inGroups struct{ x expr }

func (in *inGroups) eval(s Subject) value {
	x := in.x.eval(s)
	return boolValue(x.k == kindString && s.InGroup(x.s))
}

func (in *inGroups) kind() kind { return kindBool }
func (in *inGroups) prec() int  { return precCompare }
func (in *inGroups) format(b *strings.Builder) {
	formatOperand(b, in.x, precCompare)
	b.WriteString(" in groups")
}
