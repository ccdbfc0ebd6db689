package v1alpha1

// ConditionReady is the condition type every kind of this API reports (status.conditions), so that
// kubectl wait, Flux and Argo CD health checks work. A Hub is Ready when its configuration is validated
// and rendered for the gateways; a WebPubSub is Ready when its gateways are available.
const ConditionReady = "Ready"

// Reasons of the Ready condition.
const (
	// ReasonReconciled: everything the object asks for is in place (Ready=True).
	ReasonReconciled = "Reconciled"
	// ReasonProgressing: the operator is still creating or rolling out what the object asks for.
	ReasonProgressing = "Progressing"
	// ReasonInvalidSpec: the spec has a value the operator cannot apply; the message names the field.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonHandlerValidationFailed: an event handler URL failed the abuse-protection check; it is
	// retried with backoff, and the hub refuses new client connections until it passes.
	ReasonHandlerValidationFailed = "HandlerValidationFailed"
	// ReasonWebPubSubNotFound: the Hub's webPubSubRef names no WebPubSub in its namespace.
	ReasonWebPubSubNotFound = "WebPubSubNotFound"
	// ReasonSecretNotFound: a referenced Secret, or a key of it, does not exist.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonGatewaysUnavailable: no gateway pod of the WebPubSub is ready.
	ReasonGatewaysUnavailable = "GatewaysUnavailable"
	// ReasonBackplaneRequired: replicas is more than 1 but scaleOut.redis is not set.
	ReasonBackplaneRequired = "BackplaneRequired"
	// ReasonHubNameConflict: another Hub of the same WebPubSub, created earlier, has the same hub name;
	// only that one is served.
	ReasonHubNameConflict = "HubNameConflict"
)
