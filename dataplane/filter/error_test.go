package filter

import (
	"errors"
	"strings"
	"testing"
)

func manyClauses(n int) string {
	c := make([]string, n)
	for i := range c {
		c[i] = "userId eq 'u'"
	}
	return strings.Join(c, " or ")
}

// errorCases are filters Parse must reject, with the error position and fragments of the message.
var errorCases = []struct {
	expr  string
	pos   int
	frags []string
}{
	// Emptiness and bounds.
	{"", 0, []string{"The filter is empty."}},
	{" \t ", 3, []string{"The filter is empty."}},
	{"userId eq '" + strings.Repeat("x", MaxLength) + "'", MaxLength, []string{"bytes long; the maximum is 8192 bytes"}},
	{"userId eq '\xff'", 11, []string{"not valid UTF-8"}},
	{strings.Repeat("(", MaxDepth+1) + "true" + strings.Repeat(")", MaxDepth+1), MaxDepth, []string{"Invalid syntax for '('", "deeper than 32 levels"}},
	{strings.Repeat("not ", MaxDepth+1) + "true", 4 * MaxDepth, []string{"Invalid syntax for 'not'", "deeper than 32"}},
	{strings.Repeat("tolower(", MaxDepth+1) + "userId" + strings.Repeat(")", MaxDepth+1) + " eq 'a'", 8*MaxDepth + 7, []string{"deeper than 32"}},
	{manyClauses(MaxClauses + 1), 100 * len("userId eq 'u' or "), []string{"Invalid syntax for 'userId eq 'u''", "more than 100 clauses"}},

	// Types, including Azure's own example.
	{"not length(userId) gt 5", 0, []string{"Invalid syntax for 'not length(userId)': Type 'int', expect 'bool'."}},
	{"userId", 0, []string{"Invalid syntax for 'userId': Type 'string', expect 'bool'."}},
	{"length(groups)", 0, []string{"Type 'int', expect 'bool'"}},
	{"null", 0, []string{"Type 'null', expect 'bool'"}},
	{"(groups)", 0, []string{"Invalid syntax for '(groups)': Type 'collection', expect 'bool'"}},
	{"userId eq 1", 0, []string{"Invalid syntax for 'userId eq 1': Type 'int', expect 'string'."}},
	{"length(userId) eq '5'", 0, []string{"Type 'string', expect 'int'"}},
	{"startswith(userId, 'a') eq 1", 0, []string{"Type 'int', expect 'bool'"}},
	{"userId gt true", 10, []string{"Invalid syntax for 'true'", "only eq and ne compare booleans"}},
	{"groups eq null", 0, []string{"Invalid syntax for 'groups'", "Type 'collection' cannot be compared"}},
	{"userId and true", 0, []string{"Invalid syntax for 'userId': Type 'string', expect 'bool'"}},
	{"true or 'a'", 8, []string{"Invalid syntax for ''a'': Type 'string', expect 'bool'"}},
	{"not 'a'", 0, []string{"Invalid syntax for 'not 'a'': Type 'string', expect 'bool'"}},
	{"true and (userId)", 9, []string{"Invalid syntax for '(userId)'"}},

	// Names and functions.
	{"foo eq 'a'", 0, []string{"Invalid syntax for 'foo'", "Unknown identifier; expected userId, connectionId or groups."}},
	{"user_id eq 'a'", 0, []string{"Unknown identifier"}},
	{"Length(userId) gt 1", 0, []string{"Invalid syntax for 'Length'", "function names are lower-case: length"}},
	{"bar(userId)", 0, []string{"Unknown function; expected one of tolower, toupper, trim, substring"}},
	{"substring(userId) eq 'a'", 0, []string{"Invalid syntax for 'substring(userId)': Function substring takes 2 or 3 arguments, got 1."}},
	{"tolower(userId, 'a') eq 'x'", 0, []string{"Function tolower takes 1 argument, got 2."}},
	{"startswith() ", 0, []string{"Function startswith takes 2 arguments, got 0."}},
	{"tolower(1) eq 'a'", 8, []string{"Invalid syntax for '1': Type 'int', expect 'string' (argument 1 of tolower)."}},
	{"substring(userId, 'a') eq 'b'", 18, []string{"Type 'string', expect 'int' (argument 2 of substring)"}},
	{"length(1) eq 1", 7, []string{"expect 'string' or 'collection'"}},
	{"concat(groups, 'a') eq 'a'", 7, []string{"Type 'collection', expect 'string'"}},
	{"tolower(userId eq 'a') eq 'a'", 8, []string{"Type 'bool', expect 'string'"}},

	// Lexical errors.
	{"userId eq 'abc", 10, []string{"Invalid syntax for ''abc'", "Unterminated string literal"}},
	{"userId eq 'it''s", 10, []string{"Unterminated string literal"}},
	{`userId eq "a"`, 10, []string{`Invalid syntax for '"'`, "single quotes"}},
	{"userId == 'a'", 7, []string{"Invalid syntax for '='", "use the operators eq ne"}},
	{"userId eq 1.5", 10, []string{"Invalid syntax for '1.5'", "only integers"}},
	{"length(userId) eq 5x", 18, []string{"Invalid syntax for '5x'"}},
	{"length(userId) gt 99999999999999999999", 18, []string{"Integer literal out of range"}},
	{"userId éq 'a'", 7, []string{"Invalid syntax for 'é': Unexpected character."}},
	{"userId eq - 1", 10, []string{"Invalid syntax for '-'"}},

	// Syntax.
	{"userId eq 'a' AND userId eq 'b'", 14, []string{"Invalid syntax for 'AND'", "operators are lower-case"}},
	{"userId EQ 'a'", 7, []string{"Invalid syntax for 'EQ'", "operators are lower-case"}},
	{"userId eq TRUE", 10, []string{"the literals true, false and null are lower-case"}},
	{"userId eq 'a')", 13, []string{"Invalid syntax for ')': Unmatched ')'."}},
	{"(userId eq 'a'", 14, []string{"Invalid syntax at the end of the filter: Expected ')'."}},
	{"userId eq", 9, []string{"Invalid syntax at the end of the filter: Expected an expression."}},
	{"userId eq 'a' and", 17, []string{"at the end of the filter: Expected an expression."}},
	{"not", 3, []string{"Expected an expression"}},
	{"()", 1, []string{"Invalid syntax for ')': Expected an expression."}},
	{"and", 0, []string{"Expected an expression, found an operator."}},
	{"userId eq 'a' 'b'", 14, []string{"Invalid syntax for ''b'': Expected an operator or the end of the filter."}},
	{"userId equals 'a'", 7, []string{"Invalid syntax for 'equals'"}},
	{"userId eq 'a' not true", 14, []string{"Invalid syntax for 'not': Expected an operator or the end of the filter."}},
	{"userId in ()", 10, []string{"Invalid syntax for '()'", "at least one value"}},
	{"userId in 'a'", 10, []string{"Expected a parenthesized list or groups after 'in'."}},
	{"userId in ('a' 'b')", 15, []string{"Expected ',' or ')' in the 'in' list."}},
	{"userId in ('a', 1)", 16, []string{"Invalid syntax for '1': Type 'int', expect 'string'."}},
	{"groups in ('a')", 0, []string{"cannot be the left side of 'in'"}},
	{"1 in groups", 0, []string{"Invalid syntax for '1 in groups': Type 'int', expect 'string'."}},
	{"'a' in (groups, groups)", 8, []string{"cannot be an item of an 'in' list"}},
	{"('a', 'b') eq userId", 4, []string{"only allowed after 'in'"}},
	{"substring(userId, 1 2) eq 'a'", 20, []string{"Expected ',' or ')' in the arguments of substring."}},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(quoted(tc.expr), func(t *testing.T) {
			f, err := Parse(tc.expr)
			if err == nil {
				t.Fatalf("Parse accepted it as %q", f.String())
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %T, want *Error", err)
			}
			if fe.Pos != tc.pos {
				t.Errorf("Pos = %d, want %d (%s)", fe.Pos, tc.pos, fe.Msg)
			}
			for _, frag := range tc.frags {
				if !strings.Contains(fe.Msg, frag) {
					t.Errorf("Msg %q lacks %q", fe.Msg, frag)
				}
			}
			if want := fe.Msg + " (at position "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want the message and the position", err.Error())
			}
		})
	}
}

// TestErrorQuoteBounded checks that an error echoes a bounded part of a long filter.
func TestErrorQuoteBounded(t *testing.T) {
	_, err := Parse("concat(userId, '" + strings.Repeat("é", 1000) + "')")
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("Parse: %v", err)
	}
	if len(fe.Msg) > 2*maxQuoted+len("Invalid syntax for '': Type 'string', expect 'bool'.") {
		t.Errorf("message is %d bytes: %q", len(fe.Msg), fe.Msg)
	}
	if !strings.Contains(fe.Msg, "concat(userId, 'éé") || !strings.Contains(fe.Msg, "...'") {
		t.Errorf("message %q does not quote a shortened filter", fe.Msg)
	}
}
