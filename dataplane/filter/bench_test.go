package filter

import (
	"strings"
	"testing"
)

// hotFilters are filters a REST caller typically sends; matching them must not allocate.
var hotFilters = []struct{ name, expr string }{
	{"typical", `userId in ('u1','u2') and 'g1' in groups`},
	{"groups", `'group1' in groups or 'group2' in groups or 'group3' in groups`},
	{"not-in-group", `userId eq 'user1' and (not ('group1' in groups))`},
	{"user-and-conn", `userId eq 'user1' and connectionId ne '123'`},
	{"null", `userId ne null and length(groups) gt 0`},
	{"functions", `startswith(userId, 'user') and substring(trim(userId), 0, 4) eq 'user' and indexof(userId, '1') ge 0`},
	{"tolower", `tolower(userId) eq 'user1'`},
	{"long-in", "userId in ('" + strings.Repeat("x', '", 200) + "user1')"},
}

func TestMatchDoesNotAllocate(t *testing.T) {
	for _, h := range hotFilters {
		f, err := Parse(h.expr)
		if err != nil {
			t.Fatalf("%s: %v", h.name, err)
		}
		for _, s := range subjects {
			var sub Subject = s
			if n := testing.AllocsPerRun(50, func() { f.Match(sub) }); n != 0 {
				t.Errorf("%s on %s: %v allocations per Match", h.name, s.name, n)
			}
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	var s Subject = newConn("bench", "conn-1", "u2", "g0", "g1", "g2")
	for _, h := range hotFilters {
		f, err := Parse(h.expr)
		if err != nil {
			b.Fatalf("%s: %v", h.name, err)
		}
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.Match(s)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(hotFilters[0].expr); err != nil {
			b.Fatal(err)
		}
	}
}
