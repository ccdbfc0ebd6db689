package rest

import "net/http"

// userExists is HEAD /api/hubs/{hub}/users/{userId}: 200 when the user has a connection, else 404.
func (h *handler) userExists(w http.ResponseWriter, q *request) error {
	user, err := q.id("userId")
	if err != nil {
		return err
	}
	ok, err := h.svc.UserExists(q.Context(), q.hub, user)
	return respondExists(w, ok, err)
}

// closeUserConnections is POST /api/hubs/{hub}/users/{userId}/:closeConnections (excluded, reason): 204.
func (h *handler) closeUserConnections(w http.ResponseWriter, q *request) error {
	user, err := q.id("userId")
	if err != nil {
		return err
	}
	o, err := q.closeOptions()
	if err != nil {
		return err
	}
	return respondNoContent(w, h.svc.CloseUserConnections(q.Context(), q.hub, user, o))
}

// removeUserFromAllGroups is DELETE /api/hubs/{hub}/users/{userId}/groups: 204.
func (h *handler) removeUserFromAllGroups(w http.ResponseWriter, q *request) error {
	user, err := q.id("userId")
	if err != nil {
		return err
	}
	return respondNoContent(w, h.svc.RemoveUserFromAllGroups(q.Context(), q.hub, user))
}

// addUserToGroup is PUT /api/hubs/{hub}/users/{userId}/groups/{group}: 200. The user's current and
// future connections join the group, so a user without connections is no error.
func (h *handler) addUserToGroup(w http.ResponseWriter, q *request) error {
	user, group, err := q.userAndGroup()
	if err != nil {
		return err
	}
	return respondOK(w, h.svc.AddUserToGroup(q.Context(), q.hub, group, user))
}

// removeUserFromGroup is DELETE /api/hubs/{hub}/users/{userId}/groups/{group}: 204.
func (h *handler) removeUserFromGroup(w http.ResponseWriter, q *request) error {
	user, group, err := q.userAndGroup()
	if err != nil {
		return err
	}
	return respondNoContent(w, h.svc.RemoveUserFromGroup(q.Context(), q.hub, group, user))
}

func (q *request) userAndGroup() (user, group string, err error) {
	if user, err = q.id("userId"); err != nil {
		return "", "", err
	}
	if group, err = q.group(); err != nil {
		return "", "", err
	}
	return user, group, nil
}
