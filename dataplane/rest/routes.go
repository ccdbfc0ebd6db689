package rest

import "net/http"

// Operation names passed to Options.Observe: the operation IDs of the 2024-12-01 API (as the SDKs name
// their methods), and OpUnknown for unknown paths and methods.
const (
	OpGetServiceStatus              = "getServiceStatus"
	OpSendToAll                     = "sendToAll"
	OpSendToUser                    = "sendToUser"
	OpSendToConnection              = "sendToConnection"
	OpSendToGroup                   = "sendToGroup"
	OpConnectionExists              = "connectionExists"
	OpCloseConnection               = "closeConnection"
	OpRemoveConnectionFromAllGroups = "removeConnectionFromAllGroups"
	OpGroupExists                   = "groupExists"
	OpCloseGroupConnections         = "closeGroupConnections"
	OpListConnectionsInGroup        = "listConnectionsInGroup"
	OpAddConnectionToGroup          = "addConnectionToGroup"
	OpRemoveConnectionFromGroup     = "removeConnectionFromGroup"
	OpUserExists                    = "userExists"
	OpCloseUserConnections          = "closeUserConnections"
	OpRemoveUserFromAllGroups       = "removeUserFromAllGroups"
	OpAddUserToGroup                = "addUserToGroup"
	OpRemoveUserFromGroup           = "removeUserFromGroup"
	OpCloseAllConnections           = "closeAllConnections"
	OpGrantPermission               = "grantPermission"
	OpRevokePermission              = "revokePermission"
	OpCheckPermission               = "checkPermission"
	OpGenerateClientToken           = "generateClientToken"
	OpAddConnectionsToGroups        = "addConnectionsToGroups"
	OpRemoveConnectionsFromGroups   = "removeConnectionsFromGroups"
	OpUnknown                       = "unknown"
)

// Path patterns. Segments such as ":send" are literals; ServeMux matches on the escaped path and
// unescapes wildcard values, so an ID holding "/" arrives whole.
const (
	pathHealth          = "/api/health"
	pathHub             = "/api/hubs/{hub}"
	pathUser            = pathHub + "/users/{userId}"
	pathConnection      = pathHub + "/connections/{connectionId}"
	pathGroup           = pathHub + "/groups/{group}"
	pathGroupConnection = pathGroup + "/connections/{connectionId}"
	pathUserGroup       = pathUser + "/groups/{group}"
	pathPermission      = pathHub + "/permissions/{permission}/connections/{connectionId}"
)

// routes lists the 25 operations of api-version 2024-12-01 (PROTOCOL.md §10.2).
func (h *handler) routes() []route {
	return []route{
		{http.MethodHead, pathHealth, OpGetServiceStatus, h.health},

		{http.MethodPost, pathHub + "/:send", OpSendToAll, h.sendToAll},
		{http.MethodPost, pathUser + "/:send", OpSendToUser, h.sendToUser},
		{http.MethodPost, pathConnection + "/:send", OpSendToConnection, h.sendToConnection},
		{http.MethodPost, pathGroup + "/:send", OpSendToGroup, h.sendToGroup},

		{http.MethodHead, pathConnection, OpConnectionExists, h.connectionExists},
		{http.MethodDelete, pathConnection, OpCloseConnection, h.closeConnection},
		{http.MethodDelete, pathConnection + "/groups", OpRemoveConnectionFromAllGroups, h.removeConnectionFromAllGroups},
		{http.MethodPost, pathHub + "/:closeConnections", OpCloseAllConnections, h.closeAllConnections},

		{http.MethodHead, pathGroup, OpGroupExists, h.groupExists},
		{http.MethodPost, pathGroup + "/:closeConnections", OpCloseGroupConnections, h.closeGroupConnections},
		{http.MethodGet, pathGroup + "/connections", OpListConnectionsInGroup, h.listConnectionsInGroup},
		{http.MethodPut, pathGroupConnection, OpAddConnectionToGroup, h.addConnectionToGroup},
		{http.MethodDelete, pathGroupConnection, OpRemoveConnectionFromGroup, h.removeConnectionFromGroup},
		{http.MethodPost, pathHub + "/:addToGroups", OpAddConnectionsToGroups, h.addConnectionsToGroups},
		{http.MethodPost, pathHub + "/:removeFromGroups", OpRemoveConnectionsFromGroups, h.removeConnectionsFromGroups},

		{http.MethodHead, pathUser, OpUserExists, h.userExists},
		{http.MethodPost, pathUser + "/:closeConnections", OpCloseUserConnections, h.closeUserConnections},
		{http.MethodDelete, pathUser + "/groups", OpRemoveUserFromAllGroups, h.removeUserFromAllGroups},
		{http.MethodPut, pathUserGroup, OpAddUserToGroup, h.addUserToGroup},
		{http.MethodDelete, pathUserGroup, OpRemoveUserFromGroup, h.removeUserFromGroup},

		{http.MethodPut, pathPermission, OpGrantPermission, h.grantPermission},
		{http.MethodDelete, pathPermission, OpRevokePermission, h.revokePermission},
		{http.MethodHead, pathPermission, OpCheckPermission, h.checkPermission},

		{http.MethodPost, pathHub + "/:generateToken", OpGenerateClientToken, h.generateClientToken},
	}
}

// health is HealthApi_GetServiceStatus: 200 while the handler serves.
func (h *handler) health(w http.ResponseWriter, _ *request) error {
	w.WriteHeader(http.StatusOK)
	return nil
}
