package filter

// Subject is what a filter is evaluated against: one connection.
//
// Match calls the methods while it evaluates and may call each several times; they should be
// cheap, must not block, and must be safe to call from the goroutine that calls Match.
type Subject interface {
	// ConnectionID is the connection's id.
	ConnectionID() string
	// UserID is the connection's user id; ok is false when the connection is anonymous, which
	// the filter sees as null.
	UserID() (id string, ok bool)
	// InGroup reports whether the connection is in the group (group names are case-sensitive).
	InGroup(group string) bool
	// GroupCount is the number of groups the connection is in.
	GroupCount() int
}
