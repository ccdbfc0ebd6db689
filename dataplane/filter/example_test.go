package filter_test

import (
	"fmt"
	"slices"

	"github.com/kwps/kwps/dataplane/filter"
)

type connection struct {
	id, user string
	groups   []string
}

func (c connection) ConnectionID() string      { return c.id }
func (c connection) UserID() (string, bool)    { return c.user, c.user != "" }
func (c connection) InGroup(group string) bool { return slices.Contains(c.groups, group) }
func (c connection) GroupCount() int           { return len(c.groups) }

func ExampleParse() {
	_, err := filter.Parse(`UserId in ('u1','u2') AND 'g1' in groups`)
	fmt.Println(err)

	f, err := filter.Parse(`userId in ('u1','u2') and 'g1' in groups`)
	if err != nil {
		panic(err)
	}
	fmt.Println(f)
	fmt.Println(f.Match(connection{id: "c1", user: "u1", groups: []string{"g1"}}))
	fmt.Println(f.Match(connection{id: "c2", groups: []string{"g1"}}))
	// Output:
	// Invalid syntax for 'AND': Expected an operator or the end of the filter; operators are lower-case. (at position 22)
	// userId in ('u1', 'u2') and 'g1' in groups
	// true
	// false
}

func ExampleParseOptional() {
	f, _ := filter.ParseOptional("") // no filter: every connection matches
	fmt.Println(f == nil, f.Match(connection{id: "c1"}))

	_, err := filter.ParseOptional(`not length(userId) gt 5`)
	fmt.Println(err)
	// Output:
	// true true
	// Invalid syntax for 'not length(userId)': Type 'int', expect 'bool'. (at position 0)
}
