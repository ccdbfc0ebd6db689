package filter

import (
	"strconv"
	"strings"
)

// limits bound a parse; tests relax them to re-parse canonical forms of filters at the limit.
type limits struct {
	length, depth, clauses int
}

var defaultLimits = limits{length: MaxLength, depth: MaxDepth, clauses: MaxClauses}

// parser is a recursive-descent parser that type-checks as it builds, so errors come out in
// left-to-right order. Its grammar, loosest first:
//
//	or      = and { "or" and }
//	and     = compare { "and" compare }
//	compare = unary { ("eq"|"ne"|"gt"|"ge"|"lt"|"le") unary | "in" inRight }
//	unary   = "not" unary | primary
//	primary = literal | identifier | name "(" [or { "," or }] ")" | "(" or ")"
//	inRight = "groups" | "(" or { "," or } ")"
type parser struct {
	src     string
	toks    []token
	i       int
	lim     limits
	clauses int
}

// node is an expression with the span of source text it came from, for error messages.
type node struct {
	x        expr
	pos, end int
}

func (p *parser) tok() token  { return p.toks[p.i] }
func (p *parser) peek() token { return p.toks[min(p.i+1, len(p.toks)-1)] }
func (p *parser) advance()    { p.i = min(p.i+1, len(p.toks)-1) }
func (p *parser) text(t token) string {
	return p.src[t.pos:t.end]
}

// isKeyword reports whether the current token is the (lower-case) keyword kw.
func (p *parser) isKeyword(kw string) bool {
	t := p.tok()
	return t.kind == tokIdent && p.text(t) == kw
}

func (p *parser) errSpan(pos, end int, detail string) *Error {
	return syntaxError(p.src, pos, end, detail)
}

// errToken reports the current token as unexpected, or its lexical error if it has one.
func (p *parser) errToken(detail string) *Error {
	t := p.tok()
	if t.kind == tokInvalid {
		return t.err
	}
	return p.errSpan(t.pos, t.end, detail)
}

func (p *parser) typeError(n node, got, want kind) *Error {
	return p.errSpan(n.pos, n.end, "Type '"+got.String()+"', expect '"+want.String()+"'.")
}

func (p *parser) requireBool(n node) *Error {
	if k := n.x.kind(); k != kindBool {
		return p.typeError(n, k, kindBool)
	}
	return nil
}

// nest checks that entering one more level at the current token stays within the depth limit.
func (p *parser) nest(depth int) *Error {
	if depth > p.lim.depth {
		return p.errToken("Nesting is deeper than " + strconv.Itoa(p.lim.depth) + " levels.")
	}
	return nil
}

// clause counts one more clause (comparison, in test, boolean function call).
func (p *parser) clause(n node) *Error {
	p.clauses++
	if p.clauses > p.lim.clauses {
		return p.errSpan(n.pos, n.end, "The filter has more than "+strconv.Itoa(p.lim.clauses)+
			" clauses (comparisons, in tests and boolean functions); put alternatives in one 'in' list.")
	}
	return nil
}

func (p *parser) parseFilter() (expr, *Error) {
	n, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if t := p.tok(); t.kind != tokEOF {
		switch {
		case t.kind == tokRParen:
			return nil, p.errToken("Unmatched ')'.")
		case t.kind == tokIdent && p.text(t) != strings.ToLower(p.text(t)) && reserved(strings.ToLower(p.text(t))):
			return nil, p.errToken("Expected an operator or the end of the filter; operators are lower-case.")
		default:
			return nil, p.errToken("Expected an operator or the end of the filter.")
		}
	}
	if err := p.requireBool(n); err != nil {
		return nil, err
	}
	return n.x, nil
}

func (p *parser) parseOr(depth int) (node, *Error) {
	return p.parseLogical(depth, false)
}

// parseLogical parses a chain of or (and=false) or of and (and=true) into one flat node.
func (p *parser) parseLogical(depth int, and bool) (node, *Error) {
	operand := func() (node, *Error) {
		if and {
			return p.parseCompare(depth)
		}
		return p.parseLogical(depth, true)
	}
	kw := "or"
	if and {
		kw = "and"
	}
	first, err := operand()
	if err != nil || !p.isKeyword(kw) {
		return first, err
	}
	if err := p.requireBool(first); err != nil {
		return node{}, err
	}
	chain := &logical{and: and}
	last := first
	for {
		chain.xs = flattenInto(chain.xs, last.x, and)
		if !p.isKeyword(kw) {
			break
		}
		p.advance()
		if last, err = operand(); err != nil {
			return node{}, err
		}
		if err := p.requireBool(last); err != nil {
			return node{}, err
		}
	}
	return node{chain, first.pos, last.end}, nil
}

// flattenInto appends x to xs, splicing in the operands of an already parenthesized chain of the
// same operator.
func flattenInto(xs []expr, x expr, and bool) []expr {
	if l, ok := x.(*logical); ok && l.and == and {
		return append(xs, l.xs...)
	}
	return append(xs, x)
}

func (p *parser) parseCompare(depth int) (node, *Error) {
	left, err := p.parseUnary(depth)
	if err != nil {
		return node{}, err
	}
	for {
		if p.isKeyword("in") {
			p.advance()
			if left, err = p.parseIn(left, depth); err != nil {
				return node{}, err
			}
		} else if op, ok := p.compareOp(); ok {
			p.advance()
			right, err := p.parseUnary(depth)
			if err != nil {
				return node{}, err
			}
			if left, err = p.checkCompare(op, left, right); err != nil {
				return node{}, err
			}
		} else {
			return left, nil
		}
		if err := p.clause(left); err != nil {
			return node{}, err
		}
	}
}

func (p *parser) compareOp() (compareOp, bool) {
	if t := p.tok(); t.kind == tokIdent {
		text := p.text(t)
		for op, name := range compareOpNames {
			if name == text {
				return compareOp(op), true
			}
		}
	}
	return 0, false
}

// checkCompare type-checks `left op right`: eq and ne need equal types (null matches any), the
// orderings need two ints or two strings; a collection is never compared.
func (p *parser) checkCompare(op compareOp, left, right node) (node, *Error) {
	n := node{&compare{op: op, l: left.x, r: right.x}, left.pos, right.end}
	lk, rk := left.x.kind(), right.x.kind()
	for _, side := range [...]node{left, right} {
		if side.x.kind() == kindCollection {
			return node{}, p.errSpan(side.pos, side.end,
				"Type 'collection' cannot be compared; use 'in groups' or length(groups).")
		}
	}
	if op != opEq && op != opNe {
		for _, side := range [...]node{left, right} {
			if side.x.kind() == kindBool {
				return node{}, p.errSpan(side.pos, side.end,
					"Type 'bool', expect 'int' or 'string'; only eq and ne compare booleans.")
			}
		}
	}
	if lk != kindNull && rk != kindNull && lk != rk {
		return node{}, p.typeError(n, rk, lk)
	}
	if m := newMappedEq(n.x.(*compare)); m != nil {
		n.x = m
	}
	return n, nil
}

// parseIn parses what follows `left in`.
func (p *parser) parseIn(left node, depth int) (node, *Error) {
	if k := left.x.kind(); k == kindCollection {
		return node{}, p.errSpan(left.pos, left.end,
			"Type 'collection' cannot be the left side of 'in'; write 'value' in groups.")
	}
	t := p.tok()
	if t.kind == tokIdent && strings.EqualFold(p.text(t), fieldNames[fieldGroups]) && p.peek().kind != tokLParen {
		p.advance()
		return p.checkInGroups(left, t.end)
	}
	if t.kind != tokLParen {
		return node{}, p.errToken("Expected a parenthesized list or groups after 'in'.")
	}
	if err := p.nest(depth + 1); err != nil {
		return node{}, err
	}
	p.advance()
	if p.tok().kind == tokRParen {
		return node{}, p.errSpan(t.pos, p.tok().end, "An 'in' list needs at least one value.")
	}
	var items []node
	for {
		item, err := p.parseOr(depth + 1)
		if err != nil {
			return node{}, err
		}
		items = append(items, item)
		if p.tok().kind != tokComma {
			break
		}
		p.advance()
	}
	if p.tok().kind != tokRParen {
		return node{}, p.errToken("Expected ',' or ')' in the 'in' list.")
	}
	end := p.tok().end
	p.advance()
	if len(items) == 1 && items[0].x.kind() == kindCollection {
		return p.checkInGroups(left, end) // x in (groups)
	}
	return p.checkInList(left, items, end)
}

func (p *parser) checkInGroups(left node, end int) (node, *Error) {
	n := node{&inGroups{x: left.x}, left.pos, end}
	if k := left.x.kind(); k != kindString && k != kindNull {
		return node{}, p.typeError(n, k, kindString)
	}
	return n, nil
}

func (p *parser) checkInList(left node, items []node, end int) (node, *Error) {
	in := &inList{x: left.x, items: make([]expr, len(items))}
	lk := left.x.kind()
	allStrings := true
	for i, it := range items {
		k := it.x.kind()
		if k == kindCollection {
			return node{}, p.errSpan(it.pos, it.end, "Type 'collection' cannot be an item of an 'in' list.")
		}
		if lk != kindNull && k != kindNull && k != lk {
			return node{}, p.typeError(it, k, lk)
		}
		in.items[i] = it.x
		if lit, ok := it.x.(*literal); !ok || lit.v.k != kindString {
			allStrings = false
		}
	}
	if allStrings && len(items) >= minSetItems {
		in.set = make(map[string]struct{}, len(items))
		for _, it := range in.items {
			in.set[it.(*literal).v.s] = struct{}{}
		}
	}
	return node{in, left.pos, end}, nil
}

func (p *parser) parseUnary(depth int) (node, *Error) {
	if !p.isKeyword("not") {
		return p.parsePrimary(depth)
	}
	if err := p.nest(depth + 1); err != nil {
		return node{}, err
	}
	pos := p.tok().pos
	p.advance()
	operand, err := p.parseUnary(depth + 1)
	if err != nil {
		return node{}, err
	}
	n := node{&negation{x: operand.x}, pos, operand.end}
	if k := operand.x.kind(); k != kindBool {
		// Name the whole `not x`, as Azure does: the usual cause is `not f(x) gt y`.
		return node{}, p.typeError(n, k, kindBool)
	}
	return n, nil
}

func (p *parser) parsePrimary(depth int) (node, *Error) {
	t := p.tok()
	switch t.kind {
	case tokString:
		p.advance()
		return node{&literal{stringValue(t.str)}, t.pos, t.end}, nil
	case tokInt:
		p.advance()
		return node{&literal{intValue(t.num)}, t.pos, t.end}, nil
	case tokLParen:
		if err := p.nest(depth + 1); err != nil {
			return node{}, err
		}
		p.advance()
		inner, err := p.parseOr(depth + 1)
		if err != nil {
			return node{}, err
		}
		switch p.tok().kind {
		case tokRParen:
		case tokComma:
			return node{}, p.errToken("A parenthesized list is only allowed after 'in'.")
		default:
			return node{}, p.errToken("Expected ')'.")
		}
		end := p.tok().end
		p.advance()
		return node{inner.x, t.pos, end}, nil
	case tokIdent:
		if p.peek().kind == tokLParen {
			return p.parseCall(depth)
		}
		return p.parseName()
	}
	return node{}, p.errToken("Expected an expression.")
}

// parseName parses a literal keyword or an identifier.
func (p *parser) parseName() (node, *Error) {
	t := p.tok()
	text := p.text(t)
	var lit value
	switch text {
	case "true", "false":
		lit = boolValue(text == "true")
	case "null":
		lit = nullValue
	default:
		for f, name := range fieldNames {
			if strings.EqualFold(text, name) {
				p.advance()
				return node{&ident{field(f)}, t.pos, t.end}, nil
			}
		}
		switch lower := strings.ToLower(text); {
		case lower == "true" || lower == "false" || lower == "null":
			return node{}, p.errToken("Unknown identifier; the literals true, false and null are lower-case.")
		case reserved(lower):
			return node{}, p.errToken("Expected an expression, found an operator.")
		}
		return node{}, p.errToken("Unknown identifier; expected userId, connectionId or groups.")
	}
	p.advance()
	return node{&literal{lit}, t.pos, t.end}, nil
}

// parseCall parses name(args) and checks the arity and argument types.
func (p *parser) parseCall(depth int) (node, *Error) {
	nameTok := p.tok()
	name := p.text(nameTok)
	fn, ok := lookupFunction(name)
	if !ok {
		if _, ok := lookupFunction(strings.ToLower(name)); ok {
			return node{}, p.errToken("Unknown function; function names are lower-case: " + strings.ToLower(name) + ".")
		}
		return node{}, p.errToken("Unknown function; expected one of " + functionList() + ".")
	}
	p.advance() // name; now at '('
	if err := p.nest(depth + 1); err != nil {
		return node{}, err
	}
	p.advance()
	var args []node
	if p.tok().kind != tokRParen {
		for {
			arg, err := p.parseOr(depth + 1)
			if err != nil {
				return node{}, err
			}
			args = append(args, arg)
			if p.tok().kind != tokComma {
				break
			}
			p.advance()
		}
	}
	if p.tok().kind != tokRParen {
		return node{}, p.errToken("Expected ',' or ')' in the arguments of " + name + ".")
	}
	n := node{pos: nameTok.pos, end: p.tok().end}
	p.advance()

	sig := signatures[fn]
	if maxArgs, minArgs := len(sig.params), len(sig.params)-sig.optional; len(args) < minArgs || len(args) > maxArgs {
		want := strconv.Itoa(maxArgs)
		if minArgs != maxArgs {
			want = strconv.Itoa(minArgs) + " or " + want
		}
		noun := " arguments"
		if maxArgs == 1 {
			noun = " argument"
		}
		return node{}, p.errSpan(n.pos, n.end, "Function "+name+" takes "+want+noun+
			", got "+strconv.Itoa(len(args))+".")
	}
	c := &call{fn: fn, args: make([]expr, len(args))}
	for i, a := range args {
		if want, got := sig.params[i], a.x.kind(); !accepts(want, got) {
			detail := "Type '" + got.String() + "', expect '" + want.String() + "'"
			if want == kindCollection {
				detail = "Type '" + got.String() + "', expect 'string' or 'collection'"
			}
			return node{}, p.errSpan(a.pos, a.end, detail+" (argument "+strconv.Itoa(i+1)+" of "+name+").")
		}
		c.args[i] = a.x
	}
	n.x = c
	if sig.result == kindBool {
		if err := p.clause(n); err != nil {
			return node{}, err
		}
	}
	return n, nil
}

func functionList() string {
	names := make([]string, len(signatures))
	for i, sig := range signatures {
		names[i] = sig.name
	}
	return strings.Join(names, ", ")
}

// reserved reports whether s is one of the language's keywords.
func reserved(s string) bool {
	switch s {
	case "and", "or", "not", "in", "eq", "ne", "gt", "ge", "lt", "le", "true", "false", "null":
		return true
	}
	return false
}
