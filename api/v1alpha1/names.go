package v1alpha1

// The names and labels of what the operator creates for an instance: the contract between the operator
// (which writes these objects) and the gateway pods (which read them).
const (
	// ComponentLabel says what an object is for within an instance.
	ComponentLabel = "webpubsub.kwps.io/component"
	// ComponentHubConfig marks a rendered hub ConfigMap (key hubconfig.DataKey holds the hub as JSON).
	ComponentHubConfig = "hub-config"
	// ComponentGateway marks the gateway Deployment, its pods, Service and RBAC objects.
	ComponentGateway = "gateway"

	// ConnectionStringsSecretSuffix is appended to a WebPubSub's name to name the Secret that holds its
	// connection strings (PrimaryConnectionStringKey, SecondaryConnectionStringKey), for app Deployments.
	ConnectionStringsSecretSuffix = "-connection-strings"
	// GatewaySuffix is appended to a WebPubSub's name to name its gateway Deployment, ServiceAccount,
	// Role, RoleBinding and PodDisruptionBudget. (The Service is named ServiceName, after the instance,
	// so that the default endpoint resolves.)
	GatewaySuffix = "-gateway"
)

// HubConfigMapName is the name of the ConfigMap a Hub object is rendered into.
func HubConfigMapName(webPubSub, hub string) string { return webPubSub + "-hub-" + hub }

// ConnectionStringsSecretName is the name of the instance's connection-strings Secret.
func (w *WebPubSub) ConnectionStringsSecretName() string {
	return w.Name + ConnectionStringsSecretSuffix
}

// GatewayName is the name of the instance's gateway Deployment, RBAC objects and PodDisruptionBudget
// (not of its Service: see ServiceName).
func (w *WebPubSub) GatewayName() string { return w.Name + GatewaySuffix }
