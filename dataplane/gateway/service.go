package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/kwps/kwps/dataplane/filter"
	"github.com/kwps/kwps/dataplane/protocol"
)

// Service is everything the data-plane REST API does to connections, groups and users. *Gateway
// implements it for the connections of this process and, with a backplane, for the whole service.
// Hub names are canonical (lower-case). Sends are fire-and-forget: a target that does not exist is not
// an error.
type Service interface {
	SendToAll(ctx context.Context, hub string, p protocol.Payload, o SendOptions) error
	SendToUser(ctx context.Context, hub, userID string, p protocol.Payload, o SendOptions) error
	SendToConnection(ctx context.Context, hub, connectionID string, p protocol.Payload, o SendOptions) error
	SendToGroup(ctx context.Context, hub, group string, p protocol.Payload, o SendOptions) error

	ConnectionExists(ctx context.Context, hub, connectionID string) (bool, error)
	UserExists(ctx context.Context, hub, userID string) (bool, error)
	GroupExists(ctx context.Context, hub, group string) (bool, error)

	CloseConnection(ctx context.Context, hub, connectionID, reason string) error
	CloseUserConnections(ctx context.Context, hub, userID string, o CloseOptions) error
	CloseGroupConnections(ctx context.Context, hub, group string, o CloseOptions) error
	CloseAllConnections(ctx context.Context, hub string, o CloseOptions) error

	// AddConnectionToGroup returns ErrConnectionNotFound when the connection does not exist.
	AddConnectionToGroup(ctx context.Context, hub, group, connectionID string) error
	RemoveConnectionFromGroup(ctx context.Context, hub, group, connectionID string) error
	RemoveConnectionFromAllGroups(ctx context.Context, hub, connectionID string) error
	AddUserToGroup(ctx context.Context, hub, group, userID string) error
	RemoveUserFromGroup(ctx context.Context, hub, group, userID string) error
	RemoveUserFromAllGroups(ctx context.Context, hub, userID string) error
	// AddConnectionsToGroups adds every connection matching f (nil: every connection of the hub).
	AddConnectionsToGroups(ctx context.Context, hub string, groups []string, f *filter.Filter) error
	RemoveConnectionsFromGroups(ctx context.Context, hub string, groups []string, f *filter.Filter) error

	// ListGroupConnections returns up to limit members of group whose connectionId sorts after the
	// `after` cursor ("" for the first page), in connectionId order, and whether more follow.
	ListGroupConnections(ctx context.Context, hub, group, after string, limit int) (page []ConnectionInfo, more bool, err error)

	// Permission calls with an empty target apply to all groups (DESIGN.md decision 8). Grant and
	// Revoke return ErrConnectionNotFound for an unknown connection.
	GrantPermission(ctx context.Context, hub, connectionID string, p Permission, target string) error
	RevokePermission(ctx context.Context, hub, connectionID string, p Permission, target string) error
	CheckPermission(ctx context.Context, hub, connectionID string, p Permission, target string) (bool, error)
}

// SendOptions narrow the recipients of a send and bound how long the message may wait.
type SendOptions struct {
	// Excluded connection IDs do not receive the message.
	Excluded []string
	// Filter, when not nil, must match a connection for it to receive the message.
	Filter *filter.Filter
	// TTL drops the message for a connection that has not been written within TTL (0: never).
	TTL time.Duration
}

// CloseOptions describe a bulk close.
type CloseOptions struct {
	Excluded []string
	// Reason is shown to the client (the disconnected system message and the close frame) and sent
	// to the upstream's disconnected event.
	Reason string
}

// ConnectionInfo is a connection as the REST API lists it.
type ConnectionInfo struct {
	ConnectionID string
	UserID       string
	HasUserID    bool
}

// Permission is a runtime-grantable permission of a connection.
type Permission uint8

// Permissions of the REST API ({permission} path segment).
const (
	PermSendToGroup Permission = iota + 1
	PermJoinLeaveGroup
)

// ParsePermission parses the REST path segment (sendToGroup, joinLeaveGroup; case-insensitive).
func ParsePermission(s string) (Permission, bool) {
	switch strings.ToLower(s) {
	case "sendtogroup":
		return PermSendToGroup, true
	case "joinleavegroup":
		return PermJoinLeaveGroup, true
	}
	return 0, false
}

// String returns the REST path segment.
func (p Permission) String() string {
	switch p {
	case PermSendToGroup:
		return "sendToGroup"
	case PermJoinLeaveGroup:
		return "joinLeaveGroup"
	}
	return "unknown"
}

// ErrConnectionNotFound is returned for operations on a connection that does not exist.
var ErrConnectionNotFound = errors.New("connection not found")
