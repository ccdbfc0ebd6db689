package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
)

// The types in this file and in affinity_types.go mirror the k8s.io/api/core/v1 types of the same names,
// field for field and with the same JSON, because this package imports nothing heavier than
// apimachinery. A JSON round trip converts them to the core types.

// PodTemplateOverrides overrides parts of the gateway pods. What is not set here is chosen by the
// operator (a restricted security context, probes, ports, the ServiceAccount).
type PodTemplateOverrides struct {
	// labels are added to the gateway pods. The operator's own labels (webpubsub.kwps.io/instance and
	// the selector labels) win over these.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations are added to the gateway pods.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// resources are the gateway container's compute resources. As a guide, an idle connection costs
	// under 10 KiB of memory.
	// +optional
	Resources ResourceRequirements `json:"resources,omitzero"`

	// nodeSelector restricts the gateway pods to nodes with these labels.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations let the gateway pods run on nodes with matching taints.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Tolerations []Toleration `json:"tolerations,omitempty"`

	// affinity constrains where the gateway pods are scheduled, for example apart from each other.
	// +optional
	Affinity *Affinity `json:"affinity,omitempty"`

	// priorityClassName is the PriorityClass of the gateway pods.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// imagePullSecrets name Secrets, in the WebPubSub's namespace, used to pull the gateway image.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	ImagePullSecrets []LocalObjectReference `json:"imagePullSecrets,omitempty"`
}

// ResourceRequirements are a container's compute resources (corev1.ResourceRequirements without
// claims).
type ResourceRequirements struct {
	// limits are the most the container may use, for example cpu: "1", memory: 512Mi.
	// +optional
	Limits ResourceList `json:"limits,omitempty"`

	// requests are what the scheduler reserves for the container.
	// +optional
	Requests ResourceList `json:"requests,omitempty"`
}

// ResourceList maps a resource name (cpu, memory, ...) to a quantity.
type ResourceList map[string]resource.Quantity

// Toleration lets a pod run on a node with a matching taint (corev1.Toleration).
type Toleration struct {
	// key is the taint key the toleration applies to; empty with operator Exists matches every taint.
	// +optional
	// +kubebuilder:validation:MaxLength=317
	Key string `json:"key,omitempty"`

	// operator is Equal (the default: the value must match) or Exists (any value).
	// +optional
	// +kubebuilder:validation:Enum=Exists;Equal
	Operator string `json:"operator,omitempty"`

	// value is the taint value to match with operator Equal.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Value string `json:"value,omitempty"`

	// effect is the taint effect to match: NoSchedule, PreferNoSchedule or NoExecute; empty matches all.
	// +optional
	// +kubebuilder:validation:Enum=NoSchedule;PreferNoSchedule;NoExecute
	Effect string `json:"effect,omitempty"`

	// tolerationSeconds is how long a pod tolerates a NoExecute taint before it is evicted; unset means
	// forever.
	// +optional
	TolerationSeconds *int64 `json:"tolerationSeconds,omitempty"`
}
