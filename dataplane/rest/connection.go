package rest

import "net/http"

// connectionExists is HEAD /api/hubs/{hub}/connections/{connectionId}: 200 or 404.
func (h *handler) connectionExists(w http.ResponseWriter, q *request) error {
	conn, err := q.id("connectionId")
	if err != nil {
		return err
	}
	ok, err := h.svc.ConnectionExists(q.Context(), q.hub, conn)
	return respondExists(w, ok, err)
}

// closeConnection is DELETE /api/hubs/{hub}/connections/{connectionId} (reason): 204, also when the
// connection is already gone.
func (h *handler) closeConnection(w http.ResponseWriter, q *request) error {
	conn, err := q.id("connectionId")
	if err != nil {
		return err
	}
	reason, err := q.reason()
	if err != nil {
		return err
	}
	return respondNoContent(w, idempotent(h.svc.CloseConnection(q.Context(), q.hub, conn, reason)))
}

// removeConnectionFromAllGroups is DELETE /api/hubs/{hub}/connections/{connectionId}/groups: 204.
func (h *handler) removeConnectionFromAllGroups(w http.ResponseWriter, q *request) error {
	conn, err := q.id("connectionId")
	if err != nil {
		return err
	}
	return respondNoContent(w, idempotent(h.svc.RemoveConnectionFromAllGroups(q.Context(), q.hub, conn)))
}

// closeAllConnections is POST /api/hubs/{hub}/:closeConnections (excluded, reason): 204.
func (h *handler) closeAllConnections(w http.ResponseWriter, q *request) error {
	o, err := q.closeOptions()
	if err != nil {
		return err
	}
	return respondNoContent(w, h.svc.CloseAllConnections(q.Context(), q.hub, o))
}
