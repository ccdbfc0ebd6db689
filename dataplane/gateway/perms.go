package gateway

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Role prefixes of Azure Web PubSub (PROTOCOL.md §5). Matching is case-sensitive.
const (
	roleJoinLeave         = "webpubsub.joinLeaveGroup"
	roleSend              = "webpubsub.sendToGroup"
	roleJoinLeavePatterns = "webpubsub.joinLeaveGroups."
	roleSendPatterns      = "webpubsub.sendToGroups."
)

// Bounds of one connection's permissions.
const (
	maxLiteralGrants = 1000
	maxPatterns      = 10
	maxPatternStars  = 5
	maxPatternLength = 1024
)

// errTooManyGrants is returned when a connection would exceed maxLiteralGrants.
var errTooManyGrants = errors.New("too many group permissions on this connection")

// grants is one permission (join/leave or send) of a connection: all groups, literal groups, wildcard
// patterns, and groups revoked at runtime that override the rest.
type grants struct {
	all      bool
	groups   map[string]struct{}
	deny     map[string]struct{}
	patterns []*regexp.Regexp
	sources  []string // the patterns as written, to move the permissions to another process
}

func (g *grants) allows(group string) bool {
	if _, denied := g.deny[group]; denied {
		return false
	}
	if g.all {
		return true
	}
	if _, ok := g.groups[group]; ok {
		return true
	}
	for _, p := range g.patterns {
		if p.MatchString(group) {
			return true
		}
	}
	return false
}

func (g *grants) grant(group string) error {
	if group == "" {
		g.all = true
		g.deny = nil
		return nil
	}
	delete(g.deny, group)
	if _, ok := g.groups[group]; ok {
		return nil
	}
	if len(g.groups) >= maxLiteralGrants {
		return errTooManyGrants
	}
	if g.groups == nil {
		g.groups = make(map[string]struct{})
	}
	g.groups[group] = struct{}{}
	return nil
}

func (g *grants) revoke(group string) {
	if group == "" {
		*g = grants{}
		return
	}
	delete(g.groups, group)
	if g.all || len(g.patterns) > 0 {
		if len(g.deny) >= maxLiteralGrants {
			return
		}
		if g.deny == nil {
			g.deny = make(map[string]struct{})
		}
		g.deny[group] = struct{}{}
	}
}

// check answers the REST permission check: an empty group asks for all groups.
func (g *grants) check(group string) bool {
	if group == "" {
		return g.all && len(g.deny) == 0
	}
	return g.allows(group)
}

// perms are a connection's group permissions. The zero value allows nothing.
type perms struct {
	join, send grants
}

func (p *perms) of(kind Permission) *grants {
	if kind == PermJoinLeaveGroup {
		return &p.join
	}
	return &p.send
}

// permsFromRoles builds permissions from token or connect-response roles; unknown roles are ignored as
// Azure ignores them. A malformed wildcard role is an error.
func permsFromRoles(roles []string) (*perms, error) {
	p := &perms{}
	for _, r := range roles {
		switch {
		case r == roleJoinLeave:
			p.join.all = true
		case r == roleSend:
			p.send.all = true
		case strings.HasPrefix(r, roleJoinLeavePatterns):
			if err := p.join.addPattern(r[len(roleJoinLeavePatterns):]); err != nil {
				return nil, fmt.Errorf("role %q: %w", r, err)
			}
		case strings.HasPrefix(r, roleSendPatterns):
			if err := p.send.addPattern(r[len(roleSendPatterns):]); err != nil {
				return nil, fmt.Errorf("role %q: %w", r, err)
			}
		case strings.HasPrefix(r, roleJoinLeave+"."):
			if err := p.join.grant(r[len(roleJoinLeave)+1:]); err != nil {
				return nil, err
			}
		case strings.HasPrefix(r, roleSend+"."):
			if err := p.send.grant(r[len(roleSend)+1:]); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func (g *grants) addPattern(pattern string) error {
	if len(g.patterns) >= maxPatterns {
		return fmt.Errorf("more than %d wildcard group roles", maxPatterns)
	}
	re, err := compileGroupPattern(pattern)
	if err != nil {
		return err
	}
	g.patterns = append(g.patterns, re)
	g.sources = append(g.sources, pattern)
	return nil
}

// compileGroupPattern compiles a wildcard group role (DOC-WILD): `?` is one character other than `.`,
// `*` zero or more characters other than `.`, `**` anything including `.`, and `\` escapes `\ * ?`.
func compileGroupPattern(pattern string) (*regexp.Regexp, error) {
	if pattern == "" || len(pattern) > maxPatternLength {
		return nil, fmt.Errorf("a group pattern must be 1 to %d characters", maxPatternLength)
	}
	var b strings.Builder
	b.WriteString(`^`)
	stars := 0
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '\\':
			if i+1 >= len(pattern) {
				return nil, errors.New("a group pattern must not end with an escape")
			}
			i++
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		case '?':
			b.WriteString(`[^.]`)
		case '*':
			stars++
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				i++
				b.WriteString(`.*`)
			} else {
				b.WriteString(`[^.]*`)
			}
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	if stars > maxPatternStars {
		return nil, fmt.Errorf("a group pattern may hold at most %d wildcards", maxPatternStars)
	}
	b.WriteString(`$`)
	return regexp.Compile(b.String())
}
