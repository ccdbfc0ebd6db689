package filter

import "slices"

// conn is a test Subject.
type conn struct {
	name   string
	id     string
	user   string
	anon   bool
	groups []string
}

func (c *conn) ConnectionID() string      { return c.id }
func (c *conn) UserID() (string, bool)    { return c.user, !c.anon }
func (c *conn) InGroup(group string) bool { return slices.Contains(c.groups, group) }
func (c *conn) GroupCount() int           { return len(c.groups) }
func (c *conn) String() string            { return c.name }
func newConn(name, id, user string, groups ...string) *conn {
	return &conn{name: name, id: id, user: user, groups: groups}
}

// subjects are the connections every match case is evaluated against, in this order.
var subjects = []*conn{
	newConn("u1", "c1", "user1", "group1", "group2"),
	{name: "anon", id: "c2", anon: true},
	newConn("abde", "123", "user-ab-de", "group3"),
	newConn("quote", "c4", "user'1", "g1"),
	newConn("upper", "C5", " USER1 ", "g1", "group1"),
	newConn("uni", "c6", "héllo"),
}

// all names every subject; except names all but the given ones.
var all = except()

func except(names ...string) []string {
	var out []string
	for _, s := range subjects {
		if !slices.Contains(names, s.name) {
			out = append(out, s.name)
		}
	}
	return out
}

// matching names the subjects f matches, in subjects order.
func matching(f *Filter) []string {
	var out []string
	for _, s := range subjects {
		if f.Match(s) {
			out = append(out, s.name)
		}
	}
	return out
}
