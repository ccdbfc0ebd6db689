package filter

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

// matchCases pair a filter with the subjects (see subject_test.go) it must match.
var matchCases = []struct {
	expr string
	want []string
}{
	// The examples of Azure's filter reference.
	{`'group1' in groups or 'group2' in groups or 'group3' in groups`, []string{"u1", "abde", "upper"}},
	{`userId in ('user1', 'user2', 'user3') and 'group1' in groups`, []string{"u1"}},
	{`userId eq 'user1' and connectionId ne '123'`, []string{"u1"}},
	{`userId eq 'user1' and (not ('group1' in groups))`, nil},
	{`userId eq 'user-ab-de' and (not ('group1' in groups))`, []string{"abde"}},
	{`userId eq 'user''1'`, []string{"quote"}},
	{`length(userId) le 10 and length(userId) gt 3`, except("anon")},
	{`length(userId) gt 10 or length(userId) le 3`, nil},
	{`not endswith(userId, 'milk')`, all},
	{`userId eq null`, []string{"anon"}},
	{`userId ne null`, except("anon")},
	{`length(userId) gt 10`, nil},
	{`length(userId) ge 10`, []string{"abde"}},
	{`length(userId) lt 3`, nil},
	{`userId eq 'user1' or (not (startswith(userId,'user2')))`, all},
	{`tolower(userId) eq 'user1'`, []string{"u1"}},
	{`toupper(userId) eq 'USER1'`, []string{"u1"}},
	{`trim(userId) eq 'USER1'`, []string{"upper"}},
	{`tolower(trim(userId)) eq 'user1'`, []string{"u1", "upper"}},
	{`'HÉLLO' eq toupper(userId)`, []string{"uni"}},
	{`toupper(userId) ne 'USER1'`, except("u1")},
	{`tolower(userId) ne null`, except("anon")},
	{`substring(userId,5,2) eq 'ab'`, []string{"abde"}},
	{`endswith(userId,'de')`, []string{"abde"}},
	{`startswith(userId,'user')`, []string{"u1", "abde", "quote"}},
	{`indexof(userId,'-ab-') ge 0`, []string{"abde"}},
	{`length(userId) gt 1`, except("anon")},
	{`length(groups) gt 1`, []string{"u1", "upper"}},
	{`length(groups) eq 0`, []string{"anon", "uni"}},

	// Precedence: not > comparisons > and > or.
	{`length(userId) gt 0 and length(userId) lt 3 or length(userId) gt 7 and length(userId) lt 11`, []string{"abde"}},
	{`((length(userId) gt 0) and (length(userId) lt 3)) or ((length(userId) gt 7) and (length(userId) lt 11))`, []string{"abde"}},
	{`not (length(userId) gt 5)`, []string{"u1", "anon", "uni"}},
	{`true or false and false`, all},
	{`(true or false) and false`, nil},
	{`not true or true`, all},
	{`not (true or true)`, nil},
	{`not false eq true`, all},
	{`not not true`, all},
	{`true eq false eq false`, all},
	{`true eq (false eq false)`, all},
	{`startswith(userId, 'user') eq true`, []string{"u1", "abde", "quote"}},
	{`startswith(userId, 'user') ne false and 'g1' in groups`, []string{"quote"}},

	// Null: functions of null are null, orderings with null are false, eq null tests nullness.
	{`tolower(userId) eq null`, []string{"anon"}},
	{`length(userId) eq null`, []string{"anon"}},
	{`substring(userId, 1) eq null`, []string{"anon"}},
	{`trim(userId) ne null`, except("anon")},
	{`userId lt 'zzz'`, except("anon")},
	{`not (userId lt 'zzz')`, []string{"anon"}},
	{`userId gt null`, nil},
	{`length(userId) gt null or length(userId) le null`, nil},
	{`null eq null`, all},
	{`null ne null`, nil},
	{`concat(userId, '!') eq '!'`, []string{"anon"}},
	{`concat(userId, connectionId) eq 'user1c1'`, []string{"u1"}},
	{`concat(null, null) eq null`, all},
	{`indexof(userId, 'x') eq -1`, all},
	{`indexof(userId, '1') eq 4`, []string{"u1"}},
	{`contains(userId, 'ab')`, []string{"abde"}},
	{`contains(userId, null)`, nil},
	{`not contains(userId, 'ab')`, except("abde")},
	{`userId in ('user1', null)`, []string{"u1", "anon"}},
	{`null in groups`, nil},
	{`tolower(null) eq null and 'a' ne null`, all},

	// in: lists, the groups collection, and a list long enough for a set lookup.
	{`connectionId in ('c1', '123')`, []string{"u1", "abde"}},
	{`'g1' in (groups)`, []string{"quote", "upper"}},
	{`'g1' in ((groups))`, []string{"quote", "upper"}},
	{`userId in groups`, nil},
	{`concat('g', '1') in groups`, []string{"quote", "upper"}},
	{`length(userId) in (5, 6)`, []string{"u1", "quote", "uni"}},
	{`userId in ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'user1', 'héllo')`, []string{"u1", "uni"}},
	{`not (userId in ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'))`, all},
	{`userId in ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', null)`, []string{"anon"}},
	{`startswith(userId, 'u') in (true)`, []string{"u1", "abde", "quote"}},

	// substring bounds and code points.
	{`substring(userId, 5) eq 'ab-de'`, []string{"abde"}},
	{`substring(userId, 0, 0) eq ''`, except("anon")},
	{`substring(userId, 5, 1) eq null`, []string{"u1", "anon", "uni"}},
	{`substring(userId, -1) eq null`, all},
	{`substring(userId, 6) eq ''`, []string{"quote"}},
	{`substring(userId, 1, length(userId)) eq null`, all},
	{`length(userId) eq 5 and substring(userId, 1, 1) eq 'é'`, []string{"uni"}},
	{`indexof(userId, 'llo') eq 2`, []string{"uni"}},
	{`toupper(userId) eq 'HÉLLO'`, []string{"uni"}},

	// Escaping, identifier case, ordinal string comparison, integers.
	{`userId eq 'user''1' or userId eq ''''`, []string{"quote"}},
	{`contains(userId, '''')`, []string{"quote"}},
	{`USERID eq 'user1'`, []string{"u1"}},
	{`ConnectionId eq 'c1'`, []string{"u1"}},
	{`'group1' in GROUPS`, []string{"u1", "upper"}},
	{`userId eq 'USER1'`, nil},
	{`connectionId eq 'c5'`, nil},
	{`'B' lt 'a'`, all},
	{`'a' lt 'B'`, nil},
	{`'ab' gt 'a' and 'a' ge 'a' and 'a' le 'a'`, all},
	{`+5 eq 5 and -1 lt 0 and 10 gt 9`, all},
	{`length(userId) eq +5`, []string{"u1", "uni"}},
	{"\tuserId\neq\r'user1' ", []string{"u1"}},
	{`true`, all},
	{`false`, nil},
	{`(((true)))`, all},
	{`userId eq'user1'and(true)`, []string{"u1"}},
}

func TestMatch(t *testing.T) {
	for _, tc := range matchCases {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := matching(f); !slices.Equal(got, tc.want) {
				t.Errorf("matches %v, want %v", got, tc.want)
			}
			// The canonical form must mean the same.
			g, err := Parse(f.String())
			if err != nil {
				t.Fatalf("Parse(%q): %v", f.String(), err)
			}
			if got := matching(g); !slices.Equal(got, tc.want) {
				t.Errorf("canonical %q matches %v, want %v", f.String(), got, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	cases := []struct{ in, want string }{
		{`userId eq 'user1'`, `userId eq 'user1'`},
		{`USERID  eq   'a'`, `userId eq 'a'`},
		{`(userId eq 'a') or ((userId eq 'b'))`, `userId eq 'a' or userId eq 'b'`},
		{`true or false and false`, `true or false and false`},
		{`(true or false) and false`, `(true or false) and false`},
		{`true and (false and true)`, `true and false and true`},
		{`true or (false or (true or false))`, `true or false or true or false`},
		{`not (userId eq 'a')`, `not (userId eq 'a')`},
		{`not(startswith(userId,'a'))`, `not startswith(userId, 'a')`},
		{`not not true`, `not not true`},
		{`(not true) eq false`, `not true eq false`},
		{`true eq (false eq true)`, `true eq (false eq true)`},
		{`(true eq false) eq true`, `true eq false eq true`},
		{`userId in ('a','b')`, `userId in ('a', 'b')`},
		{`'g' in (groups)`, `'g' in groups`},
		{`('g') in Groups`, `'g' in groups`},
		{`userId eq 'it''s'`, `userId eq 'it''s'`},
		{`+5 eq 05 and -0 eq 0`, `5 eq 5 and 0 eq 0`},
		{`substring(userId,1,2) eq concat('a',null)`, `substring(userId, 1, 2) eq concat('a', null)`},
		{`userId eq 'a' and (true or connectionId ne 'c')`, `userId eq 'a' and (true or connectionId ne 'c')`},
	}
	for _, tc := range cases {
		f, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := f.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseOptional(t *testing.T) {
	f, err := ParseOptional("")
	if f != nil || err != nil {
		t.Fatalf(`ParseOptional("") = %v, %v; want nil, nil`, f, err)
	}
	for _, s := range subjects {
		if !f.Match(s) {
			t.Errorf("nil filter does not match %s", s.name)
		}
	}
	if f.String() != "" {
		t.Errorf("nil filter String() = %q", f.String())
	}
	if _, err := ParseOptional("  "); err == nil {
		t.Error(`ParseOptional("  ") accepted a blank filter`)
	}
	f, err = ParseOptional("userId eq null")
	if err != nil || !slices.Equal(matching(f), []string{"anon"}) {
		t.Errorf("ParseOptional(userId eq null) = %v, %v", f, err)
	}
}

// TestLimitsAccepted checks that filters right at each limit still parse.
func TestLimitsAccepted(t *testing.T) {
	clauses := make([]string, MaxClauses)
	for i := range clauses {
		clauses[i] = "userId eq 'u'"
	}
	for name, expr := range map[string]string{
		"depth":   strings.Repeat("(", MaxDepth) + "true" + strings.Repeat(")", MaxDepth),
		"not":     strings.Repeat("not ", MaxDepth) + "true",
		"clauses": strings.Join(clauses, " or "),
		"length":  "userId eq '" + strings.Repeat("x", MaxLength-len("userId eq ''")) + "'",
		"in list": "userId in ('" + strings.Repeat("u', '", 1000) + "user1')",
	} {
		if _, err := Parse(expr); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMatchConcurrent(t *testing.T) {
	f, err := Parse(`userId in ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'user1') and 'group1' in groups or tolower(userId) eq 'héllo'`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := matching(f); !slices.Equal(got, []string{"u1", "uni"}) {
					t.Errorf("matches %v", got)
					return
				}
			}
		})
	}
	wg.Wait()
}
