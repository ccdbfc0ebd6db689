// Package hubconfig defines the rendered hub configuration: the contract between whoever resolves a Hub
// (the operator, or `kwps serve` reading manifests) and the gateways that serve it.
//
// The operator stores one Hub per ConfigMap, as JSON under DataKey, labelled with the instance label.
// Nothing in a Hub is secret: a `?code=` value that comes from a Secret is referenced by CodeSecretRef
// and resolved by the gateway, never copied here.
package hubconfig

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// SchemaVersion is the version of the rendered JSON. Gateways refuse documents with a higher version.
const SchemaVersion = 1

// DataKey is the ConfigMap key that holds a rendered Hub as JSON.
const DataKey = "hub.json"

// Defaults and bounds of hub settings (Azure's ARM hub properties).
const (
	DefaultKeepAliveSeconds = 20
	MinKeepAliveSeconds     = 1
	MaxKeepAliveSeconds     = 120
)

// AnonymousConnectPolicy values.
const (
	AnonymousAllow = "Allow"
	AnonymousDeny  = "Deny"
)

// Upstream auth types.
const (
	AuthNone            = "None"
	AuthManagedIdentity = "ManagedIdentity"
)

// System event names a handler can subscribe to.
const (
	EventConnect      = "connect"
	EventConnected    = "connected"
	EventDisconnected = "disconnected"
)

// Hub is the resolved configuration of one hub. The zero value is not valid; use Default or
// Normalize.
type Hub struct {
	// Version is SchemaVersion at render time.
	Version int `json:"version"`
	// Name is the hub name, lower-cased.
	Name string `json:"name"`
	// Generation of the source object (Hub.metadata.generation), for observability.
	Generation int64 `json:"generation,omitempty"`
	// AnonymousConnectPolicy is Allow or Deny (default).
	AnonymousConnectPolicy string `json:"anonymousConnectPolicy"`
	// KeepAliveSeconds is webSocketKeepAliveIntervalInSeconds (1-120, default 20).
	KeepAliveSeconds int `json:"webSocketKeepAliveIntervalInSeconds"`
	// EventHandlers in priority order: the first whose filter matches an event receives it.
	EventHandlers []EventHandler `json:"eventHandlers,omitempty"`
	// Ready is false until every event handler passed the abuse-protection check. Gateways refuse new
	// client connections to a hub that is not ready (HTTP 503 with NotReadyMessage).
	Ready bool `json:"ready"`
	// NotReadyMessage says why the hub is not ready. It never holds a secret.
	NotReadyMessage string `json:"notReadyMessage,omitempty"`
}

// EventHandler is one upstream webhook of a hub.
type EventHandler struct {
	// URLTemplate may hold {event} and {hub} in its path or query, never in its host.
	URLTemplate string `json:"urlTemplate"`
	// UserEventPattern: "" (no user events), "*", or a comma-separated list of event names.
	UserEventPattern string `json:"userEventPattern,omitempty"`
	// SystemEvents: any of connect, connected, disconnected.
	SystemEvents []string `json:"systemEvents,omitempty"`
	// Auth is how the gateway authenticates to the upstream.
	Auth UpstreamAuth `json:"auth"`
	// CodeSecretRef names a Secret key whose value is sent as the `code` query parameter.
	CodeSecretRef *SecretKeyRef `json:"codeSecretRef,omitempty"`
}

// UpstreamAuth selects the credential sent with each event.
type UpstreamAuth struct {
	// Type is None (default) or ManagedIdentity.
	Type string `json:"type"`
	// Resource is the audience of the pod's projected ServiceAccount token (ManagedIdentity only).
	Resource string `json:"resource,omitempty"`
}

// SecretKeyRef points at one key of a Secret in the hub's namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// hubNameRE is the REST API's hub-name pattern (2024-12-01 swagger).
var hubNameRE = regexp.MustCompile("^[A-Za-z][A-Za-z0-9_`,.\\[\\]]{0,127}$")

// eventNameRE is the accepted user event name syntax (case-insensitive).
var eventNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.\-]{0,127}$`)

// ValidHubName reports whether name matches Azure's hub-name rule.
func ValidHubName(name string) bool { return hubNameRE.MatchString(name) }

// ValidEventName reports whether name is an acceptable user event name.
func ValidEventName(name string) bool { return eventNameRE.MatchString(name) }

// CanonicalHub returns the canonical (lower-case) form of a hub name. Hubs are case-insensitive.
func CanonicalHub(name string) string { return strings.ToLower(name) }

// Default returns the configuration of a hub nobody configured: any hub works, as in Azure.
func Default(name string) *Hub {
	return &Hub{
		Version:                SchemaVersion,
		Name:                   CanonicalHub(name),
		AnonymousConnectPolicy: AnonymousDeny,
		KeepAliveSeconds:       DefaultKeepAliveSeconds,
		Ready:                  true,
	}
}

// Normalize fills defaults and canonical forms in place; Validate should be called afterwards.
func (h *Hub) Normalize() {
	if h.Version == 0 {
		h.Version = SchemaVersion
	}
	h.Name = CanonicalHub(h.Name)
	switch {
	case strings.EqualFold(h.AnonymousConnectPolicy, AnonymousAllow):
		h.AnonymousConnectPolicy = AnonymousAllow
	case h.AnonymousConnectPolicy == "" || strings.EqualFold(h.AnonymousConnectPolicy, AnonymousDeny):
		h.AnonymousConnectPolicy = AnonymousDeny
	}
	if h.KeepAliveSeconds == 0 {
		h.KeepAliveSeconds = DefaultKeepAliveSeconds
	}
	for i := range h.EventHandlers {
		eh := &h.EventHandlers[i]
		if eh.Auth.Type == "" {
			eh.Auth.Type = AuthNone
		}
		for j, e := range eh.SystemEvents {
			eh.SystemEvents[j] = strings.ToLower(strings.TrimSpace(e))
		}
		eh.UserEventPattern = strings.TrimSpace(eh.UserEventPattern)
	}
}

// FieldError is a validation failure of one field, named by its path (e.g. "eventHandlers[0].urlTemplate").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate checks a normalized Hub and returns the first problem as a *FieldError.
func (h *Hub) Validate() error {
	if h.Version > SchemaVersion {
		return &FieldError{"version", fmt.Sprintf("unsupported schema version %d (this build reads up to %d)", h.Version, SchemaVersion)}
	}
	if !ValidHubName(h.Name) {
		return &FieldError{"hubName", fmt.Sprintf("%q must start with a letter and contain at most 128 letters, digits or _`,.[]", h.Name)}
	}
	if h.AnonymousConnectPolicy != AnonymousAllow && h.AnonymousConnectPolicy != AnonymousDeny {
		return &FieldError{"anonymousConnectPolicy", fmt.Sprintf("%q must be Allow or Deny", h.AnonymousConnectPolicy)}
	}
	if h.KeepAliveSeconds < MinKeepAliveSeconds || h.KeepAliveSeconds > MaxKeepAliveSeconds {
		return &FieldError{"webSocketKeepAliveIntervalInSeconds", fmt.Sprintf("%d must be between %d and %d", h.KeepAliveSeconds, MinKeepAliveSeconds, MaxKeepAliveSeconds)}
	}
	for i := range h.EventHandlers {
		if err := h.EventHandlers[i].validate(); err != nil {
			err.Field = fmt.Sprintf("eventHandlers[%d].%s", i, err.Field)
			return err
		}
	}
	return nil
}

func (eh *EventHandler) validate() *FieldError {
	if err := ValidateURLTemplate(eh.URLTemplate); err != nil {
		return &FieldError{"urlTemplate", err.Error()}
	}
	if err := ValidateUserEventPattern(eh.UserEventPattern); err != nil {
		return &FieldError{"userEventPattern", err.Error()}
	}
	for j, e := range eh.SystemEvents {
		switch e {
		case EventConnect, EventConnected, EventDisconnected:
		default:
			return &FieldError{fmt.Sprintf("systemEvents[%d]", j), fmt.Sprintf("%q must be one of connect, connected, disconnected", e)}
		}
	}
	switch eh.Auth.Type {
	case AuthNone:
	case AuthManagedIdentity:
		if eh.Auth.Resource == "" {
			return &FieldError{"auth.managedIdentity.resource", "required when auth.type is ManagedIdentity"}
		}
	default:
		return &FieldError{"auth.type", fmt.Sprintf("%q must be None or ManagedIdentity", eh.Auth.Type)}
	}
	if r := eh.CodeSecretRef; r != nil && (r.Name == "" || r.Key == "") {
		return &FieldError{"codeSecretRef", "name and key are required"}
	}
	return nil
}

// ValidateURLTemplate checks that a template is an absolute http(s) URL whose host holds no parameter
// and whose only parameters are {event} and {hub}.
func ValidateURLTemplate(t string) error {
	if t == "" {
		return fmt.Errorf("is required")
	}
	if len(t) > 2048 {
		return fmt.Errorf("is longer than 2048 characters")
	}
	lower := strings.ToLower(t)
	var rest string
	switch {
	case strings.HasPrefix(lower, "http://"):
		rest = t[len("http://"):]
	case strings.HasPrefix(lower, "https://"):
		rest = t[len("https://"):]
	default:
		return fmt.Errorf("%q must start with http:// or https://", t)
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if host == "" {
		return fmt.Errorf("%q has no host", t)
	}
	if strings.ContainsAny(host, "{}") {
		return fmt.Errorf("%q: parameters are not allowed in the host", t)
	}
	// Every {...} must be a known parameter; literal braces must be percent-encoded.
	for s := rest[len(host):]; ; {
		open := strings.IndexByte(s, '{')
		closing := strings.IndexByte(s, '}')
		if open < 0 {
			if closing >= 0 {
				return fmt.Errorf("%q has an unmatched '}'", t)
			}
			return nil
		}
		if closing < open {
			return fmt.Errorf("%q has an unmatched '}'", t)
		}
		switch s[open : closing+1] {
		case "{event}", "{hub}":
		default:
			return fmt.Errorf("%q: unknown parameter %s (only {event} and {hub})", t, s[open:closing+1])
		}
		s = s[closing+1:]
	}
}

// ValidateUserEventPattern checks "", "*", or a comma-separated list of event names.
func ValidateUserEventPattern(p string) error {
	if p == "" || p == "*" {
		return nil
	}
	for _, name := range strings.Split(p, ",") {
		name = strings.TrimSpace(name)
		if !ValidEventName(name) {
			return fmt.Errorf("%q: %q is not an event name (a letter, then letters, digits, _ . -) nor *", p, name)
		}
	}
	return nil
}

// MatchUserEvent reports whether a user event name matches a handler's userEventPattern
// (case-insensitive, names trimmed).
func MatchUserEvent(pattern, event string) bool {
	if pattern == "" {
		return false
	}
	if pattern == "*" {
		return true
	}
	for _, name := range strings.Split(pattern, ",") {
		if strings.EqualFold(strings.TrimSpace(name), event) {
			return true
		}
	}
	return false
}

// HasSystemEvent reports whether the handler subscribes the system event (connect, connected, disconnected).
func (eh *EventHandler) HasSystemEvent(event string) bool {
	for _, e := range eh.SystemEvents {
		if e == event {
			return true
		}
	}
	return false
}

// Marshal renders the hub as the ConfigMap JSON.
func (h *Hub) Marshal() ([]byte, error) { return json.Marshal(h) }

// Unmarshal parses, normalizes and validates ConfigMap JSON.
func Unmarshal(data []byte) (*Hub, error) {
	var h Hub
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("hub config: %w", err)
	}
	h.Normalize()
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("hub config: %w", err)
	}
	return &h, nil
}
