package rest

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/kwps/kwps/dataplane/filter"
)

// MaxBulkGroups bounds the groups of one :addToGroups or :removeFromGroups call.
const MaxBulkGroups = 100

// groupExists is HEAD /api/hubs/{hub}/groups/{group}: 200 when the group has a connection, else 404.
func (h *handler) groupExists(w http.ResponseWriter, q *request) error {
	group, err := q.group()
	if err != nil {
		return err
	}
	ok, err := h.svc.GroupExists(q.Context(), q.hub, group)
	return respondExists(w, ok, err)
}

// closeGroupConnections is POST /api/hubs/{hub}/groups/{group}/:closeConnections (excluded, reason).
func (h *handler) closeGroupConnections(w http.ResponseWriter, q *request) error {
	group, err := q.group()
	if err != nil {
		return err
	}
	o, err := q.closeOptions()
	if err != nil {
		return err
	}
	return respondNoContent(w, h.svc.CloseGroupConnections(q.Context(), q.hub, group, o))
}

// addConnectionToGroup is PUT /api/hubs/{hub}/groups/{group}/connections/{connectionId}: 200, or 404
// for an unknown connection (the JS SDK reads 404 as "the connection does not exist").
func (h *handler) addConnectionToGroup(w http.ResponseWriter, q *request) error {
	group, conn, err := q.groupAndConnection()
	if err != nil {
		return err
	}
	return respondOK(w, h.svc.AddConnectionToGroup(q.Context(), q.hub, group, conn))
}

// removeConnectionFromGroup is DELETE /api/hubs/{hub}/groups/{group}/connections/{connectionId}: 204.
func (h *handler) removeConnectionFromGroup(w http.ResponseWriter, q *request) error {
	group, conn, err := q.groupAndConnection()
	if err != nil {
		return err
	}
	return respondNoContent(w, idempotent(h.svc.RemoveConnectionFromGroup(q.Context(), q.hub, group, conn)))
}

func (q *request) groupAndConnection() (group, conn string, err error) {
	if group, err = q.group(); err != nil {
		return "", "", err
	}
	if conn, err = q.id("connectionId"); err != nil {
		return "", "", err
	}
	return group, conn, nil
}

// groupsRequest is the body of :addToGroups and :removeFromGroups.
type groupsRequest struct {
	Groups []string `json:"groups"`
	Filter string   `json:"filter"`
}

// addConnectionsToGroups is POST /api/hubs/{hub}/:addToGroups with {"groups":[...],"filter":"..."}: every
// connection matching the filter (all of the hub's without one) joins every group. 200.
func (h *handler) addConnectionsToGroups(w http.ResponseWriter, q *request) error {
	groups, f, err := readGroupsRequest(w, q)
	if err != nil {
		return err
	}
	return respondOK(w, h.svc.AddConnectionsToGroups(q.Context(), q.hub, groups, f))
}

// removeConnectionsFromGroups is POST /api/hubs/{hub}/:removeFromGroups, the reverse of :addToGroups.
func (h *handler) removeConnectionsFromGroups(w http.ResponseWriter, q *request) error {
	groups, f, err := readGroupsRequest(w, q)
	if err != nil {
		return err
	}
	return respondOK(w, h.svc.RemoveConnectionsFromGroups(q.Context(), q.hub, groups, f))
}

// readGroupsRequest reads and validates the body of the bulk group calls. The Content-Type is not
// checked: the body is JSON whatever a client calls it.
func readGroupsRequest(w http.ResponseWriter, q *request) ([]string, *filter.Filter, error) {
	data, err := readBody(w, q.Request, MaxBodyBytes)
	if err != nil {
		return nil, nil, err
	}
	var body groupsRequest
	if err := json.Unmarshal(data, &body); err != nil {
		return nil, nil, badParam("body", "The body must be a JSON object {\"groups\": [...], \"filter\": \"...\"}.")
	}
	switch {
	case len(body.Groups) == 0:
		return nil, nil, badParam("groups", "At least one group is required.")
	case len(body.Groups) > MaxBulkGroups:
		return nil, nil, badParam("groups", "At most "+strconv.Itoa(MaxBulkGroups)+" groups are allowed.")
	}
	for _, g := range body.Groups {
		if err := checkGroup("groups", g); err != nil {
			return nil, nil, err
		}
	}
	f, err := filter.ParseOptional(body.Filter)
	if err != nil {
		return nil, nil, filterError(err)
	}
	return body.Groups, f, nil
}
