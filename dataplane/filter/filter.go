package filter

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on a filter; each violation is a clear *Error from Parse.
const (
	// MaxLength is the longest filter accepted, in bytes.
	MaxLength = 8 << 10
	// MaxDepth is how deeply parentheses, not, function calls and in lists may nest.
	MaxDepth = 32
	// MaxClauses is the most comparisons, in tests and boolean function calls in one filter;
	// Azure documents "roughly 100 clauses" as its limit.
	MaxClauses = 100
)

// Filter is a parsed, type-checked filter. It is immutable and safe for concurrent use.
//
// A nil *Filter matches every connection, which is what an absent filter means (see
// [ParseOptional]).
type Filter struct {
	root      expr
	canonical string
}

// Parse parses and type-checks expr. The error, if any, is an *Error naming the offending text
// and its position. An empty or blank filter is an error; use [ParseOptional] where the filter is
// an optional parameter.
func Parse(expr string) (*Filter, error) {
	f, err := parse(expr, defaultLimits)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ParseOptional is Parse, except that the empty string means "no filter" and gives (nil, nil); a
// nil *Filter matches every connection. A filter of only blanks is still an error, as in Azure.
func ParseOptional(expr string) (*Filter, error) {
	if expr == "" {
		return nil, nil
	}
	return Parse(expr)
}

func parse(src string, lim limits) (*Filter, *Error) {
	if len(src) > lim.length {
		return nil, &Error{Pos: lim.length, Msg: "The filter is " + strconv.Itoa(len(src)) +
			" bytes long; the maximum is " + strconv.Itoa(lim.length) + " bytes."}
	}
	if strings.TrimLeft(src, " \t\r\n") == "" {
		return nil, &Error{Pos: len(src), Msg: "The filter is empty."}
	}
	if !utf8.ValidString(src) {
		pos := 0
		for pos < len(src) {
			r, size := utf8.DecodeRuneInString(src[pos:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			pos += size
		}
		return nil, &Error{Pos: pos, Msg: "The filter is not valid UTF-8."}
	}
	p := &parser{src: src, toks: tokenize(src), lim: lim}
	root, err := p.parseFilter()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.Grow(len(src))
	root.format(&b)
	return &Filter{root: root, canonical: b.String()}, nil
}

// Match reports whether the connection s satisfies the filter. A nil Filter matches everything.
// Match is safe for concurrent use and does not allocate unless a string function builds a new
// string.
func (f *Filter) Match(s Subject) bool {
	if f == nil {
		return true
	}
	return f.root.eval(s).b
}

// String returns the filter in canonical form: lower-case keywords and functions, identifiers
// spelled userId, connectionId and groups, single spaces, and only the parentheses that
// precedence needs. Parsing it gives an equivalent filter with the same canonical form. A nil
// Filter gives "".
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.canonical
}
