package filter

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokInt
	tokLParen
	tokRParen
	tokComma
	tokInvalid // a lexical error; err says which
)

// token is one lexeme; src[pos:end] is its text.
type token struct {
	kind tokenKind
	pos  int
	end  int
	str  string // tokString: the unescaped value
	num  int64  // tokInt
	err  *Error // tokInvalid
}

// tokenize splits src into tokens. It stops at the first lexical error, which becomes a
// tokInvalid token, so the parser still reports errors in left-to-right order. The last token is
// always tokEOF or tokInvalid.
func tokenize(src string) []token {
	toks := make([]token, 0, len(src)/4+1)
	i := 0
	for {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i == len(src) {
			return append(toks, token{kind: tokEOF, pos: i, end: i})
		}
		t := lexOne(src, i)
		toks = append(toks, t)
		if t.kind == tokInvalid {
			return toks
		}
		i = t.end
	}
}

// lexOne reads the token that starts at src[i], which is not a space.
func lexOne(src string, i int) token {
	c := src[i]
	switch {
	case c == '(':
		return token{kind: tokLParen, pos: i, end: i + 1}
	case c == ')':
		return token{kind: tokRParen, pos: i, end: i + 1}
	case c == ',':
		return token{kind: tokComma, pos: i, end: i + 1}
	case c == '\'':
		return lexString(src, i)
	case isDigit(c) || (c == '+' || c == '-') && i+1 < len(src) && isDigit(src[i+1]):
		return lexInt(src, i)
	case isIdentStart(c):
		end := i + 1
		for end < len(src) && isIdentPart(src[end]) {
			end++
		}
		return token{kind: tokIdent, pos: i, end: end}
	}
	r, size := utf8.DecodeRuneInString(src[i:])
	detail := "Unexpected character."
	switch r {
	case '"':
		detail = "Unexpected character; string literals use single quotes ('...')."
	case '=', '!', '<', '>', '&', '|':
		detail = "Unexpected character; use the operators eq ne gt ge lt le, and, or, not."
	}
	return invalid(src, i, i+size, detail)
}

// lexString reads a single-quoted literal, in which a doubled quote stands for one quote.
func lexString(src string, i int) token {
	escaped := false
	for j := i + 1; j < len(src); j++ {
		if src[j] != '\'' {
			continue
		}
		if j+1 < len(src) && src[j+1] == '\'' {
			escaped = true
			j++
			continue
		}
		s := src[i+1 : j]
		if escaped {
			s = strings.ReplaceAll(s, "''", "'")
		}
		return token{kind: tokString, pos: i, end: j + 1, str: s}
	}
	return invalid(src, i, len(src), "Unterminated string literal; close it with ' and write a quote inside it as ''.")
}

// lexInt reads [+-]?digits, which must not run into letters or a decimal point.
func lexInt(src string, i int) token {
	end := i + 1
	for end < len(src) && isDigit(src[end]) {
		end++
	}
	if end < len(src) && (isIdentPart(src[end]) || src[end] == '.') {
		bad := end
		for bad < len(src) && (isIdentPart(src[bad]) || src[bad] == '.') {
			bad++
		}
		return invalid(src, i, bad, "Invalid number; only integers are supported.")
	}
	n, err := strconv.ParseInt(src[i:end], 10, 64)
	if err != nil {
		return invalid(src, i, end, "Integer literal out of range.")
	}
	return token{kind: tokInt, pos: i, end: end, num: n}
}

func invalid(src string, pos, end int, detail string) token {
	return token{kind: tokInvalid, pos: pos, end: end, err: syntaxError(src, pos, end, detail)}
}

// isSpace accepts the ASCII blanks a URL-decoded or JSON filter may carry.
func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
