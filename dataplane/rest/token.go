package rest

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kwps/kwps/dataplane/auth"
)

// Bounds of :generateToken.
const (
	// MaxTokenRoles and MaxTokenGroups bound the repeated role and group parameters.
	MaxTokenRoles  = 100
	MaxTokenGroups = 100
	// DefaultMinutesToExpire is the lifetime of a token when minutesToExpire is absent (SWAGGER).
	DefaultMinutesToExpire = 60
	// MaxMinutesToExpire (ten years) keeps exp far from overflow.
	MaxMinutesToExpire = 10 * 365 * 24 * 60
)

// tokenResponse is ClientTokenResponse.
type tokenResponse struct {
	Token string `json:"token"`
}

// generateClientToken is POST /api/hubs/{hub}/:generateToken (userId, role, minutesToExpire, group,
// clientType): 200 {"token": "..."}, a client token signed with the primary key for the audience
// <endpoint>/client/hubs/<hub>.
func (h *handler) generateClientToken(w http.ResponseWriter, q *request) error {
	o, err := q.clientTokenOptions()
	if err != nil {
		return err
	}
	key := h.keys.Primary()
	if key == "" {
		return internal(errors.New("rest: no access key to sign a client token with"))
	}
	o.Audience = auth.ClientAudience(h.publicEndpoint(q.Request), q.hub)
	tok, err := auth.IssueClientToken(key, o)
	if err != nil {
		return internal(err)
	}
	if len(tok) > auth.MaxTokenBytes {
		// Clients could not connect with it: the service refuses longer tokens unparsed.
		return badParam("role", "The token would be longer than "+strconv.Itoa(auth.MaxTokenBytes)+
			" bytes; ask for fewer or shorter roles and groups.")
	}
	return respondJSON(w, tokenResponse{Token: tok})
}

// clientTokenOptions parses the query of :generateToken.
func (q *request) clientTokenOptions() (auth.ClientTokenOptions, error) {
	var o auth.ClientTokenOptions
	if err := checkClientType(q.query.Get("clientType")); err != nil {
		return o, err
	}
	if user := q.query.Get("userId"); user != "" {
		if err := checkID("userId", user); err != nil {
			return o, err
		}
		o.UserID = user
	}
	minutes, err := q.intParam("minutesToExpire", DefaultMinutesToExpire, 1, MaxMinutesToExpire)
	if err != nil {
		return o, err
	}
	o.TTL = time.Duration(minutes) * time.Minute
	roles := q.query["role"]
	if len(roles) > MaxTokenRoles {
		return o, badParam("role", "At most "+strconv.Itoa(MaxTokenRoles)+" roles are allowed.")
	}
	for _, r := range roles {
		if r == "" || utf8.RuneCountInString(r) > auth.MaxRoleLength {
			return o, badParam("role", "A role must be 1 to "+strconv.Itoa(auth.MaxRoleLength)+" characters long.")
		}
	}
	o.Roles = roles
	groups := q.query["group"]
	if len(groups) > MaxTokenGroups {
		return o, badParam("group", "At most "+strconv.Itoa(MaxTokenGroups)+" groups are allowed.")
	}
	for _, g := range groups {
		if err := checkGroup("group", g); err != nil {
			return o, err
		}
	}
	o.Groups = groups
	return o, nil
}

// checkClientType accepts Default (case-insensitive, the default). MQTT exists in Azure but MQTT clients
// are out of kwps's scope, so it is refused with a message that says so rather than a token no endpoint
// accepts.
func checkClientType(t string) error {
	switch {
	case t == "" || strings.EqualFold(t, "Default"):
		return nil
	case strings.EqualFold(t, "MQTT"):
		return badParam("clientType", "The client type MQTT is not supported: kwps serves Web PubSub clients only (clientType Default).")
	}
	return badParam("clientType", "The client type must be Default.")
}
