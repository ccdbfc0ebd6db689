package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The CEL rules below repeat the hub-name rule of Azure's data-plane REST API (hubconfig.ValidHubName);
// dataplane/hubconfig.FromSpec applies the same rules, and api/v1alpha1/testdata/hub_cases.yaml holds the
// cases both must agree on.

// Hub is one hub of a WebPubSub instance: its event handlers (upstream webhooks) and settings. Any hub
// name works without a Hub object, as in Azure; a Hub gives one hub event handlers and non-default
// settings. The spec uses Azure's hub property names, so an ARM or Bicep hub definition ports by copy.
//
// `kwps serve -f` reads the same manifests (webPubSubRef is ignored there).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=hubs,singular=hub,scope=Namespaced,categories=kwps
// +kubebuilder:printcolumn:name="Hub",type=string,JSONPath=`.status.hubName`,description="Hub name used in URLs (lower-case)"
// +kubebuilder:printcolumn:name="WebPubSub",type=string,JSONPath=`.spec.webPubSubRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="(has(self.spec) && has(self.spec.hubName) && size(self.spec.hubName) > 0) || self.metadata.name.matches(r'^[A-Za-z][A-Za-z0-9_`,.\\[\\]]{0,127}$')",message="metadata.name is not a valid hub name (a letter, then letters, digits or _`,.[]): set spec.hubName"
// +kubebuilder:validation:XValidation:rule="(has(self.spec.hubName) && size(self.spec.hubName) > 0 ? self.spec.hubName : self.metadata.name).lowerAscii() == (has(oldSelf.spec.hubName) && size(oldSelf.spec.hubName) > 0 ? oldSelf.spec.hubName : oldSelf.metadata.name).lowerAscii()",message="the hub name (spec.hubName, or metadata.name when unset) cannot change: create another Hub instead"
type Hub struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata. metadata.name is the hub name unless spec.hubName is set.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired configuration of the hub.
	// +required
	Spec HubSpec `json:"spec"`

	// status is the observed state of the hub.
	// +optional
	Status HubStatus `json:"status,omitzero"`
}

// HubSpec is the desired configuration of a hub: Azure's hub properties
// (Microsoft.SignalRService/webPubSub/hubs) plus a reference to the instance that serves it.
type HubSpec struct {
	// hubName is the name clients and the REST API use for the hub (/client/hubs/{hub}, /api/hubs/{hub}).
	// Defaults to metadata.name. Hub names are case-insensitive: the hub is served under the lower-case
	// form. Azure's rule applies: a letter, then at most 127 letters, digits or _`,.[] characters; set
	// hubName when metadata.name holds a '-'. The resolved name cannot change after creation (a change in
	// letter case only is allowed).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self.matches(r'^[A-Za-z][A-Za-z0-9_`,.\\[\\]]{0,127}$')",message="must be a letter, then at most 127 letters, digits or _`,.[] characters"
	HubName string `json:"hubName,omitempty"`

	// webPubSubRef names the WebPubSub instance, in the Hub's namespace, that serves this hub.
	// Required in a cluster; `kwps serve` ignores it.
	// +required
	WebPubSubRef WebPubSubReference `json:"webPubSubRef"`

	// eventHandlers are the upstream webhooks that receive the hub's events, as CloudEvents over HTTP.
	// Order matters: an event goes to the first handler whose userEventPattern or systemEvents matches it.
	// Every handler URL must pass the abuse-protection check (an OPTIONS request with
	// WebHook-Request-Origin) before the hub accepts client connections; until then the Hub is not Ready.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	EventHandlers []EventHandler `json:"eventHandlers,omitempty"`

	// anonymousConnectPolicy says whether clients may connect without an access token: Allow or Deny
	// (ARM's lower-case allow and deny are accepted). With Allow, the connect event handler can still
	// assign a userId or reject the client. Defaults to Deny.
	// +optional
	// +kubebuilder:default=Deny
	AnonymousConnectPolicy AnonymousConnectPolicy `json:"anonymousConnectPolicy,omitempty"`

	// webSocketKeepAliveIntervalInSeconds is the interval between the WebSocket pings the service sends to
	// each client, from 1 to 120 seconds. Defaults to 20.
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=120
	WebSocketKeepAliveIntervalInSeconds *int32 `json:"webSocketKeepAliveIntervalInSeconds,omitempty"`
}

// WebPubSubReference names a WebPubSub in the same namespace.
type WebPubSubReference struct {
	// name is the metadata.name of the WebPubSub.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// AnonymousConnectPolicy says whether clients may connect without an access token.
// +kubebuilder:validation:Enum=Allow;Deny;allow;deny
type AnonymousConnectPolicy string

// AnonymousConnectPolicy values. ARM's lower-case spellings ("allow", "deny") mean the same.
const (
	// AnonymousConnectAllow lets clients connect without an access token.
	AnonymousConnectAllow AnonymousConnectPolicy = "Allow"
	// AnonymousConnectDeny requires an access token (the default).
	AnonymousConnectDeny AnonymousConnectPolicy = "Deny"
)

// EventHandler is one upstream webhook of a hub.
// +kubebuilder:validation:XValidation:rule="!has(self.auth) || !has(self.auth.type) || self.auth.type != 'ManagedIdentity' || (has(self.auth.managedIdentity) && has(self.auth.managedIdentity.resource) && size(self.auth.managedIdentity.resource) > 0)",message="auth.managedIdentity.resource is required when auth.type is ManagedIdentity",fieldPath=".auth.managedIdentity.resource"
type EventHandler struct {
	// urlTemplate is the URL events are sent to: an absolute http:// or https:// URL whose path and query
	// may hold the parameters {event} (the event name, "validate" for the abuse-protection check) and
	// {hub}, for example https://chat.example.com/eventhandler/{event}. Parameters are not allowed in the
	// host, and a literal { or } must be percent-encoded. To send a `code` query parameter kept in a
	// Secret, use codeSecretRef rather than writing it here.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="bytes(self).size() <= 2048",message="must be at most 2048 bytes long"
	// +kubebuilder:validation:XValidation:rule="self.matches(r'^[hH][tT][tT][pP][sS]?://[^/?#]+')",message="must be an absolute http:// or https:// URL with a host"
	// +kubebuilder:validation:XValidation:rule="!self.matches(r'^[^:]*://[^/?#]*[{}]')",message="parameters such as {event} and {hub} are not allowed in the host"
	// +kubebuilder:validation:XValidation:rule="self.matches(r'^([^{}]|\\{event\\}|\\{hub\\})*$')",message="the only parameters are {event} and {hub}; percent-encode a literal { or } as %7B or %7D"
	URLTemplate string `json:"urlTemplate"`

	// userEventPattern selects the user events (events a client sends, and raw WebSocket messages, which
	// are the user event "message") this handler receives: empty for none, * for all, or a
	// comma-separated list of event names such as "message,chat". Names are matched case-insensitively.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches(r'^\\s*(\\*|[A-Za-z][A-Za-z0-9_.\\-]{0,127}(\\s*,\\s*[A-Za-z][A-Za-z0-9_.\\-]{0,127})*)?\\s*$')",message="must be empty, * or a comma-separated list of event names (a letter, then letters, digits, _ . or -)"
	UserEventPattern string `json:"userEventPattern,omitempty"`

	// systemEvents are the system events this handler receives: connect (blocking: the handler may
	// reject the client or set its userId, groups and roles), connected and disconnected.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	SystemEvents []SystemEvent `json:"systemEvents,omitempty"`

	// auth is how the service authenticates to the handler. Defaults to no authentication.
	// +optional
	Auth UpstreamAuthSettings `json:"auth,omitzero"`

	// codeSecretRef names a key of a Secret, in the Hub's namespace, whose value is sent as the `code`
	// query parameter of every request to the handler (the Azure Functions convention). The value never
	// appears in the spec, the status or logs.
	// +optional
	CodeSecretRef *SecretKeySelector `json:"codeSecretRef,omitempty"`
}

// SystemEvent is the name of a system event.
// +kubebuilder:validation:Enum=connect;connected;disconnected
type SystemEvent string

// System events an event handler can subscribe to.
const (
	// SystemEventConnect is sent before a client is accepted; the handler's answer decides.
	SystemEventConnect SystemEvent = "connect"
	// SystemEventConnected is sent after a client connected.
	SystemEventConnected SystemEvent = "connected"
	// SystemEventDisconnected is sent after a client disconnected.
	SystemEventDisconnected SystemEvent = "disconnected"
)

// UpstreamAuthSettings is how the service authenticates to an event handler.
type UpstreamAuthSettings struct {
	// type is None (the default) or ManagedIdentity. ManagedIdentity sends a Kubernetes ServiceAccount
	// token of the gateway pods, whose audience is managedIdentity.resource, as "Authorization: Bearer";
	// the handler verifies it with a TokenReview or the cluster's OIDC issuer.
	// +optional
	// +kubebuilder:default=None
	Type UpstreamAuthType `json:"type,omitempty"`

	// managedIdentity holds the settings of type ManagedIdentity.
	// +optional
	ManagedIdentity ManagedIdentitySettings `json:"managedIdentity,omitzero"`
}

// UpstreamAuthType is how the service authenticates to an event handler.
// +kubebuilder:validation:Enum=None;ManagedIdentity
type UpstreamAuthType string

// UpstreamAuthType values.
const (
	// UpstreamAuthNone sends no credential.
	UpstreamAuthNone UpstreamAuthType = "None"
	// UpstreamAuthManagedIdentity sends a ServiceAccount token of the gateway pods.
	UpstreamAuthManagedIdentity UpstreamAuthType = "ManagedIdentity"
)

// ManagedIdentitySettings are the settings of UpstreamAuthManagedIdentity.
type ManagedIdentitySettings struct {
	// resource is the audience of the token sent to the handler, for example api://chat-upstream.
	// Required when auth.type is ManagedIdentity.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Resource string `json:"resource,omitempty"`
}

// SecretKeySelector names one key of a Secret in the referring object's namespace.
type SecretKeySelector struct {
	// name is the name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key is the key within the Secret's data.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// HubStatus is the observed state of a Hub.
type HubStatus struct {
	// observedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready is True when the hub's configuration is valid, its event handlers passed the
	// abuse-protection check and it has been rendered for the gateways (whether or not gateway pods run).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// configMapName is the ConfigMap, in the Hub's namespace, that holds the rendered hub configuration
	// the gateways serve.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ConfigMapName string `json:"configMapName,omitempty"`

	// hubName is the resolved hub name, lower-case, as used in URLs and events.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	HubName string `json:"hubName,omitempty"`
}

// HubList is a list of Hubs.
//
// +kubebuilder:object:root=true
type HubList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the Hubs.
	Items []Hub `json:"items"`
}

func init() {
	SchemeBuilder.Register(register(&Hub{}, &HubList{}))
}
