package rest

import (
	"net/http"

	"github.com/kwps/kwps/dataplane/gateway"
)

// grantPermission is PUT /api/hubs/{hub}/permissions/{permission}/connections/{connectionId}
// (targetName): 200, or 404 for an unknown connection. Without targetName the permission covers every
// group (DESIGN.md decision 8).
func (h *handler) grantPermission(w http.ResponseWriter, q *request) error {
	p, conn, target, err := q.permission()
	if err != nil {
		return err
	}
	return respondOK(w, h.svc.GrantPermission(q.Context(), q.hub, conn, p, target))
}

// revokePermission is DELETE on the same path: 204, or 404 for an unknown connection.
func (h *handler) revokePermission(w http.ResponseWriter, q *request) error {
	p, conn, target, err := q.permission()
	if err != nil {
		return err
	}
	return respondNoContent(w, h.svc.RevokePermission(q.Context(), q.hub, conn, p, target))
}

// checkPermission is HEAD on the same path: 200 when the connection has the permission, else 404.
func (h *handler) checkPermission(w http.ResponseWriter, q *request) error {
	p, conn, target, err := q.permission()
	if err != nil {
		return err
	}
	has, err := h.svc.CheckPermission(q.Context(), q.hub, conn, p, target)
	if err = idempotent(err); err != nil {
		return internal(err)
	}
	return respondExists(w, has, nil)
}

// permission parses {permission}, {connectionId} and the optional targetName (a group name).
func (q *request) permission() (p gateway.Permission, conn, target string, err error) {
	p, ok := gateway.ParsePermission(q.PathValue("permission"))
	if !ok {
		return 0, "", "", badParam("permission", "The permission must be sendToGroup or joinLeaveGroup.")
	}
	if conn, err = q.id("connectionId"); err != nil {
		return 0, "", "", err
	}
	if target = q.query.Get("targetName"); target != "" {
		if err := checkGroup("targetName", target); err != nil {
			return 0, "", "", err
		}
	}
	return p, conn, target, nil
}
