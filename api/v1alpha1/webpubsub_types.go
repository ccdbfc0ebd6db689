package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Keys of the access-keys Secret (spec.accessKeys.secretRef, or the generated one). Both keys are valid
// at once, so a key can be rotated without downtime.
const (
	PrimaryKeyKey   = "primaryKey"
	SecondaryKeyKey = "secondaryKey"
)

// Keys of the Secret named by status.connectionStringSecretName; the names are those of Azure's listKeys.
const (
	PrimaryConnectionStringKey   = "primaryConnectionString"
	SecondaryConnectionStringKey = "secondaryConnectionString"
)

// AccessKeysSecretSuffix is appended to a WebPubSub's name to name its generated access-keys Secret.
const AccessKeysSecretSuffix = "-access-keys"

// WebPubSub is a self-hosted Azure Web PubSub service instance: gateway pods that serve WebSocket
// clients and the data-plane REST API, a Service in front of them, and the access keys that sign
// tokens. Applications written with the Azure Web PubSub SDKs use it through the connection string the
// operator publishes in the Secret named by status.connectionStringSecretName. Hubs are configured by
// Hub objects that reference the instance.
//
// Every spec field has a default: `spec: {}` is a working instance.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:path=webpubsubs,singular=webpubsub,shortName=wps,scope=Namespaced,categories=kwps
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.status.endpoint`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=`.status.readyReplicas`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type WebPubSub struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the instance. Every field has a default.
	// +optional
	// +kubebuilder:default={}
	Spec WebPubSubSpec `json:"spec,omitzero"`

	// status is the observed state of the instance.
	// +optional
	Status WebPubSubStatus `json:"status,omitzero"`
}

// WebPubSubSpec is the desired state of a WebPubSub instance.
// +kubebuilder:validation:XValidation:rule="!has(self.autoscaling) || (has(self.podTemplate) && has(self.podTemplate.resources) && has(self.podTemplate.resources.requests) && 'cpu' in self.podTemplate.resources.requests)",message="autoscaling needs podTemplate.resources.requests.cpu: the autoscaler measures CPU use against it"
type WebPubSubSpec struct {
	// replicas is the number of gateway pods. Defaults to 1; 0 stops the gateways and keeps the rest.
	// More than one replica needs a backplane (scaleOut.redis) so that a message reaches clients on
	// every pod: without one, the operator reports Ready=False with reason BackplaneRequired. With
	// autoscaling set, the HorizontalPodAutoscaler writes this field (through the scale subresource).
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// image is the gateway container image. Empty means the image the operator was released with.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Image string `json:"image,omitempty"`

	// imagePullPolicy is the gateway container's image pull policy: Always, Never or IfNotPresent.
	// Empty means Kubernetes' default (Always for a :latest tag, IfNotPresent otherwise).
	// +optional
	ImagePullPolicy PullPolicy `json:"imagePullPolicy,omitempty"`

	// endpoint is the public URL of the instance, as applications and clients reach it: the Endpoint of
	// the connection strings and the audience of the tokens they sign, for example
	// https://pubsub.example.com (a scheme, a host and an optional port; no path). Set it when clients
	// come through an Ingress or a load balancer. Empty means the in-cluster URL
	// http://<name>.<namespace>.svc (https:// when tls is set; with :<port> unless service.port is the
	// scheme's default). Tokens are also accepted for the Host a request arrives on.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self.matches(r'^[hH][tT][tT][pP][sS]?://[^/?#@\\s]+/?$')",message="must be an http:// or https:// URL with a host and an optional port, and no user, path or query"
	Endpoint string `json:"endpoint,omitempty"`

	// accessKeys selects the keys that sign client and REST tokens. Defaults to a generated Secret.
	// +optional
	AccessKeys AccessKeysSpec `json:"accessKeys,omitzero"`

	// service is the Service in front of the gateways. Defaults to a ClusterIP Service on port 80.
	// +optional
	// +kubebuilder:default={}
	Service ServiceSpec `json:"service,omitzero"`

	// tls makes the gateways serve https and wss. Defaults to plain http (for example behind a
	// TLS-terminating Ingress). The Azure SDKs refuse http:// endpoints unless the application allows
	// insecure connections.
	// +optional
	TLS TLSSpec `json:"tls,omitzero"`

	// scaleOut joins the gateway pods through a backplane so that several replicas act as one service.
	// Needed when replicas is more than 1.
	// +optional
	ScaleOut ScaleOutSpec `json:"scaleOut,omitzero"`

	// podTemplate overrides parts of the gateway pods.
	// +optional
	PodTemplate PodTemplateOverrides `json:"podTemplate,omitzero"`

	// autoscaling lets a HorizontalPodAutoscaler choose the number of gateway pods from their CPU use.
	// The operator renders it (named <name>-gateway, owned by this WebPubSub) to scale this WebPubSub
	// through its scale subresource, so replicas becomes the autoscaler's to write: leave replicas out
	// of manifests a GitOps tool applies. The autoscaler measures CPU against the gateway's CPU request,
	// so podTemplate.resources.requests.cpu must be set. maxReplicas above 1 needs scaleOut.redis, as
	// replicas does: without it the operator renders no autoscaler and reports Ready=False with reason
	// BackplaneRequired. Empty means no autoscaler: replicas is what runs.
	// +optional
	Autoscaling *AutoscalingSpec `json:"autoscaling,omitempty"`
}

// AutoscalingSpec bounds the number of gateway pods a HorizontalPodAutoscaler chooses.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="minReplicas must not be more than maxReplicas"
type AutoscalingSpec struct {
	// minReplicas is the fewest gateway pods the autoscaler keeps. Defaults to 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// maxReplicas is the most gateway pods the autoscaler runs.
	// +required
	// +kubebuilder:validation:Minimum=1
	MaxReplicas int32 `json:"maxReplicas"`

	// targetCPUUtilizationPercentage is the average CPU use of the gateway pods, as a percentage of
	// their CPU request, that the autoscaler aims for. Defaults to 70.
	// +optional
	// +kubebuilder:default=70
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`
}

// PullPolicy is a container image pull policy.
// +kubebuilder:validation:Enum=Always;Never;IfNotPresent
type PullPolicy string

// AccessKeysSpec selects the access keys of an instance.
type AccessKeysSpec struct {
	// secretRef names a Secret, in the WebPubSub's namespace, with the keys primaryKey and secondaryKey
	// (both valid at once; change one at a time to rotate). The operator reads it and never writes it.
	// Empty means a Secret named <name>-access-keys that the operator generates with random keys.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// LocalObjectReference names an object in the referring object's namespace.
type LocalObjectReference struct {
	// name is the object's metadata.name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ServiceSpec configures the Service in front of the gateways.
type ServiceSpec struct {
	// type is the Service type: ClusterIP (the default), NodePort or LoadBalancer.
	// +optional
	// +kubebuilder:default=ClusterIP
	Type ServiceType `json:"type,omitempty"`

	// port is the Service port clients and applications connect to. Defaults to 80.
	// +optional
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// annotations are added to the Service, for example a cloud load balancer's settings.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ServiceType is a Kubernetes Service type.
// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
type ServiceType string

// TLSSpec configures TLS on the gateways.
type TLSSpec struct {
	// secretName names a Secret of type kubernetes.io/tls (keys tls.crt and tls.key) in the WebPubSub's
	// namespace, such as one a cert-manager Certificate maintains. Empty means plain http.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName,omitempty"`
}

// ScaleOutSpec selects the backplane that joins several gateway pods.
type ScaleOutSpec struct {
	// redis joins the gateways through a Redis server (Redis 7 or later). Without it each pod only
	// reaches its own clients, which is correct for a single replica.
	// +optional
	Redis *RedisSpec `json:"redis,omitempty"`
}

// RedisSpec locates the Redis server of the backplane. Set exactly one of url and urlSecretRef.
// +kubebuilder:validation:XValidation:rule="has(self.url) != has(self.urlSecretRef)",message="set exactly one of url and urlSecretRef"
type RedisSpec struct {
	// url is the Redis URL, redis://host:port/db or rediss://host:port/db (TLS). A URL with a password
	// must come from a Secret: use urlSecretRef.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches(r'^[rR][eE][dD][iI][sS][sS]?://')",message="must start with redis:// or rediss://"
	// +kubebuilder:validation:XValidation:rule="!self.matches(r'^[^:/]*://[^/@]*:[^/@]*@')",message="must not hold a password: put the URL in a Secret and use urlSecretRef"
	URL string `json:"url,omitempty"`

	// urlSecretRef names a Secret key, in the WebPubSub's namespace, that holds the Redis URL.
	// +optional
	URLSecretRef *SecretKeySelector `json:"urlSecretRef,omitempty"`
}

// WebPubSubStatus is the observed state of a WebPubSub.
type WebPubSubStatus struct {
	// observedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready is True when the gateways are available.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// endpoint is the resolved public endpoint (spec.endpoint or its default).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Endpoint string `json:"endpoint,omitempty"`

	// connectionStringSecretName names the Secret, in the WebPubSub's namespace, that holds the
	// connection strings under the keys primaryConnectionString and secondaryConnectionString. Mount it
	// into application Deployments.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ConnectionStringSecretName string `json:"connectionStringSecretName,omitempty"`

	// replicas is the number of gateway pods.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of gateway pods ready to serve.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// selector is the label selector of the gateway pods, for the scale subresource (kubectl scale,
	// HorizontalPodAutoscaler).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Selector string `json:"selector,omitempty"`
}

// AccessKeysSecretName returns the name of the Secret that holds the instance's access keys: the
// referenced one, or the generated <name>-access-keys.
func (w *WebPubSub) AccessKeysSecretName() string {
	if r := w.Spec.AccessKeys.SecretRef; r != nil && r.Name != "" {
		return r.Name
	}
	return w.Name + AccessKeysSecretSuffix
}

// WebPubSubList is a list of WebPubSubs.
//
// +kubebuilder:object:root=true
type WebPubSubList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the WebPubSubs.
	Items []WebPubSub `json:"items"`
}

func init() {
	SchemeBuilder.Register(register(&WebPubSub{}, &WebPubSubList{}))
}
