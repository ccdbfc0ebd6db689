package rest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kwps/kwps/dataplane/filter"
	"github.com/kwps/kwps/dataplane/gateway"
	"github.com/kwps/kwps/dataplane/protocol"
)

// call is one recorded Service call, flattened so that tests compare it with ==-like equality.
type call struct {
	Method   string
	Hub      string
	Target   string // user, connection or group the call is about
	Group    string // the group of a (group, connection|user) call or a permission's target
	Groups   []string
	Payload  *protocol.Payload
	Excluded []string
	Filter   string // canonical filter text, "" for none
	TTL      time.Duration
	Reason   string
	Perm     gateway.Permission
	After    string
	Limit    int
}

// fakeService records every call and answers from its fields. It is a narrow unit-test fake: the real
// gateway and the official SDKs exercise the handler end to end elsewhere.
type fakeService struct {
	mu    sync.Mutex
	calls []call

	exists  bool                     // answer of the Exists and CheckPermission calls
	err     error                    // returned by every call
	members []gateway.ConnectionInfo // ListGroupConnections' group, sorted by ConnectionID
}

var _ gateway.Service = (*fakeService)(nil)

func (f *fakeService) record(c call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	return f.err
}

func (f *fakeService) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = f.calls[:0]
}

func (f *fakeService) recorded() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func filterText(fl *filter.Filter) string { return fl.String() }

func sendCall(method, hub, target string, p protocol.Payload, o gateway.SendOptions) call {
	return call{Method: method, Hub: hub, Target: target, Payload: &p, Excluded: o.Excluded, Filter: filterText(o.Filter), TTL: o.TTL}
}

func (f *fakeService) SendToAll(_ context.Context, hub string, p protocol.Payload, o gateway.SendOptions) error {
	return f.record(sendCall("SendToAll", hub, "", p, o))
}

func (f *fakeService) SendToUser(_ context.Context, hub, userID string, p protocol.Payload, o gateway.SendOptions) error {
	return f.record(sendCall("SendToUser", hub, userID, p, o))
}

func (f *fakeService) SendToConnection(_ context.Context, hub, connectionID string, p protocol.Payload, o gateway.SendOptions) error {
	return f.record(sendCall("SendToConnection", hub, connectionID, p, o))
}

func (f *fakeService) SendToGroup(_ context.Context, hub, group string, p protocol.Payload, o gateway.SendOptions) error {
	return f.record(sendCall("SendToGroup", hub, group, p, o))
}

func (f *fakeService) ConnectionExists(_ context.Context, hub, connectionID string) (bool, error) {
	return f.exists, f.record(call{Method: "ConnectionExists", Hub: hub, Target: connectionID})
}

func (f *fakeService) UserExists(_ context.Context, hub, userID string) (bool, error) {
	return f.exists, f.record(call{Method: "UserExists", Hub: hub, Target: userID})
}

func (f *fakeService) GroupExists(_ context.Context, hub, group string) (bool, error) {
	return f.exists, f.record(call{Method: "GroupExists", Hub: hub, Target: group})
}

func (f *fakeService) CloseConnection(_ context.Context, hub, connectionID, reason string) error {
	return f.record(call{Method: "CloseConnection", Hub: hub, Target: connectionID, Reason: reason})
}

func (f *fakeService) CloseUserConnections(_ context.Context, hub, userID string, o gateway.CloseOptions) error {
	return f.record(call{Method: "CloseUserConnections", Hub: hub, Target: userID, Excluded: o.Excluded, Reason: o.Reason})
}

func (f *fakeService) CloseGroupConnections(_ context.Context, hub, group string, o gateway.CloseOptions) error {
	return f.record(call{Method: "CloseGroupConnections", Hub: hub, Target: group, Excluded: o.Excluded, Reason: o.Reason})
}

func (f *fakeService) CloseAllConnections(_ context.Context, hub string, o gateway.CloseOptions) error {
	return f.record(call{Method: "CloseAllConnections", Hub: hub, Excluded: o.Excluded, Reason: o.Reason})
}

func (f *fakeService) AddConnectionToGroup(_ context.Context, hub, group, connectionID string) error {
	return f.record(call{Method: "AddConnectionToGroup", Hub: hub, Target: connectionID, Group: group})
}

func (f *fakeService) RemoveConnectionFromGroup(_ context.Context, hub, group, connectionID string) error {
	return f.record(call{Method: "RemoveConnectionFromGroup", Hub: hub, Target: connectionID, Group: group})
}

func (f *fakeService) RemoveConnectionFromAllGroups(_ context.Context, hub, connectionID string) error {
	return f.record(call{Method: "RemoveConnectionFromAllGroups", Hub: hub, Target: connectionID})
}

func (f *fakeService) AddUserToGroup(_ context.Context, hub, group, userID string) error {
	return f.record(call{Method: "AddUserToGroup", Hub: hub, Target: userID, Group: group})
}

func (f *fakeService) RemoveUserFromGroup(_ context.Context, hub, group, userID string) error {
	return f.record(call{Method: "RemoveUserFromGroup", Hub: hub, Target: userID, Group: group})
}

func (f *fakeService) RemoveUserFromAllGroups(_ context.Context, hub, userID string) error {
	return f.record(call{Method: "RemoveUserFromAllGroups", Hub: hub, Target: userID})
}

func (f *fakeService) AddConnectionsToGroups(_ context.Context, hub string, groups []string, fl *filter.Filter) error {
	return f.record(call{Method: "AddConnectionsToGroups", Hub: hub, Groups: groups, Filter: filterText(fl)})
}

func (f *fakeService) RemoveConnectionsFromGroups(_ context.Context, hub string, groups []string, fl *filter.Filter) error {
	return f.record(call{Method: "RemoveConnectionsFromGroups", Hub: hub, Groups: groups, Filter: filterText(fl)})
}

// ListGroupConnections pages through f.members as the gateway contract says: members after the cursor
// in connectionId order, at most limit, and whether more follow.
func (f *fakeService) ListGroupConnections(_ context.Context, hub, group, after string, limit int) ([]gateway.ConnectionInfo, bool, error) {
	if err := f.record(call{Method: "ListGroupConnections", Hub: hub, Target: group, After: after, Limit: limit}); err != nil {
		return nil, false, err
	}
	start, _ := slices.BinarySearchFunc(f.members, after, func(c gateway.ConnectionInfo, id string) int {
		return strings.Compare(c.ConnectionID, id)
	})
	for start < len(f.members) && f.members[start].ConnectionID <= after {
		start++
	}
	end := min(start+limit, len(f.members))
	return slices.Clone(f.members[start:end]), end < len(f.members), nil
}

func (f *fakeService) GrantPermission(_ context.Context, hub, connectionID string, p gateway.Permission, target string) error {
	return f.record(call{Method: "GrantPermission", Hub: hub, Target: connectionID, Perm: p, Group: target})
}

func (f *fakeService) RevokePermission(_ context.Context, hub, connectionID string, p gateway.Permission, target string) error {
	return f.record(call{Method: "RevokePermission", Hub: hub, Target: connectionID, Perm: p, Group: target})
}

func (f *fakeService) CheckPermission(_ context.Context, hub, connectionID string, p gateway.Permission, target string) (bool, error) {
	return f.exists, f.record(call{Method: "CheckPermission", Hub: hub, Target: connectionID, Perm: p, Group: target})
}
