package filter

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, that its errors are *Error with a position inside the
// input, and that an accepted filter round-trips: its canonical form parses to a filter with the
// same canonical form that matches the same connections.
func FuzzParse(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(tc.expr)
	}
	for _, tc := range errorCases {
		if len(tc.expr) < 512 {
			f.Add(tc.expr)
		}
	}
	fuzzSubjects := append(slices.Clone(subjects), newConn("empty", "", "", ""))
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Parse(expr)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse(%q) error %T, want *Error", expr, err)
			}
			if fe.Pos < 0 || fe.Pos > len(expr) {
				t.Fatalf("Parse(%q) error position %d outside the input", expr, fe.Pos)
			}
			return
		}
		canon := flt.String()
		// The canonical form may be longer than the input (it adds spaces), so it is re-parsed
		// with a relaxed length limit; depth and clauses cannot grow.
		again, perr := parse(canon, limits{length: 3 * MaxLength, depth: MaxDepth, clauses: MaxClauses})
		if perr != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", expr, canon, perr)
		}
		if again.String() != canon {
			t.Fatalf("canonical form not stable: %q -> %q -> %q", expr, canon, again.String())
		}
		for _, s := range fuzzSubjects {
			if a, b := flt.Match(s), again.Match(s); a != b {
				t.Fatalf("%q and its canonical form %q disagree on %s: %v vs %v", expr, canon, s.name, a, b)
			}
		}
	})
}

// FuzzCaseMapping checks that the in-place comparison behind `tolower(x) eq 'lit'` agrees with
// comparing strings.ToLower(x) (and likewise for toupper), including on invalid UTF-8 in x.
func FuzzCaseMapping(f *testing.F) {
	for _, seed := range [][2]string{
		{"USER1", "user1"}, {" USER1 ", "user1"}, {"héllo", "HÉLLO"}, {"\xff", "\uFFFD"},
		{"ǅ", "ǆ"}, {"İ", "i̇"}, {"ß", "SS"}, {"", ""}, {"a", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, s, lit string) {
		if !utf8.ValidString(lit) {
			return // a literal comes from a filter, which Parse requires to be valid UTF-8
		}
		if got, want := equalMapped(s, lit, unicode.ToLower), strings.ToLower(s) == lit; got != want {
			t.Errorf("tolower(%q) eq %q: in place %v, strings.ToLower %v", s, lit, got, want)
		}
		if got, want := equalMapped(s, lit, unicode.ToUpper), strings.ToUpper(s) == lit; got != want {
			t.Errorf("toupper(%q) eq %q: in place %v, strings.ToUpper %v", s, lit, got, want)
		}
	})
}
