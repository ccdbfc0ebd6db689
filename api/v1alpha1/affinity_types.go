package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Affinity holds scheduling constraints of a pod (corev1.Affinity).
type Affinity struct {
	// nodeAffinity selects nodes by their labels.
	// +optional
	NodeAffinity *NodeAffinity `json:"nodeAffinity,omitempty"`

	// podAffinity places the pod near pods that match.
	// +optional
	PodAffinity *PodAffinity `json:"podAffinity,omitempty"`

	// podAntiAffinity keeps the pod away from pods that match, for example other gateway pods of the
	// instance (topologyKey kubernetes.io/hostname).
	// +optional
	PodAntiAffinity *PodAffinity `json:"podAntiAffinity,omitempty"`
}

// NodeAffinity selects nodes by their labels (corev1.NodeAffinity).
type NodeAffinity struct {
	// requiredDuringSchedulingIgnoredDuringExecution must hold for the pod to be scheduled on a node.
	// +optional
	RequiredDuringSchedulingIgnoredDuringExecution *NodeSelector `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`

	// preferredDuringSchedulingIgnoredDuringExecution are weighted preferences among nodes.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	PreferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// NodeSelector is a union of node selector terms (corev1.NodeSelector).
type NodeSelector struct {
	// nodeSelectorTerms are ORed.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	NodeSelectorTerms []NodeSelectorTerm `json:"nodeSelectorTerms"`
}

// NodeSelectorTerm is a conjunction of node requirements (corev1.NodeSelectorTerm).
type NodeSelectorTerm struct {
	// matchExpressions are requirements on node labels, ANDed.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	MatchExpressions []NodeSelectorRequirement `json:"matchExpressions,omitempty"`

	// matchFields are requirements on node fields, ANDed.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	MatchFields []NodeSelectorRequirement `json:"matchFields,omitempty"`
}

// NodeSelectorRequirement relates a node label or field to values (corev1.NodeSelectorRequirement).
type NodeSelectorRequirement struct {
	// key is the label or field name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	Key string `json:"key"`

	// operator is In, NotIn, Exists, DoesNotExist, Gt or Lt.
	// +required
	// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist;Gt;Lt
	Operator string `json:"operator"`

	// values are the values compared with: several for In and NotIn, none for Exists and DoesNotExist,
	// one integer for Gt and Lt.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	Values []string `json:"values,omitempty"`
}

// PreferredSchedulingTerm is a weighted node preference (corev1.PreferredSchedulingTerm).
type PreferredSchedulingTerm struct {
	// weight, from 1 to 100, is added to the score of the nodes that match.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`

	// preference is the term nodes must match to get the weight.
	// +required
	Preference NodeSelectorTerm `json:"preference"`
}

// PodAffinity holds pod (anti-)affinity terms (corev1.PodAffinity and corev1.PodAntiAffinity, which have
// the same fields).
type PodAffinity struct {
	// requiredDuringSchedulingIgnoredDuringExecution must all hold for the pod to be scheduled on a node.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	RequiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`

	// preferredDuringSchedulingIgnoredDuringExecution are weighted preferences.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	PreferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// PodAffinityTerm selects pods and a topology domain (corev1.PodAffinityTerm).
type PodAffinityTerm struct {
	// labelSelector selects the pods the term is about.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`

	// namespaces the selected pods live in; empty with no namespaceSelector means the pod's own.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	Namespaces []string `json:"namespaces,omitempty"`

	// topologyKey is the node label whose value defines a domain, for example kubernetes.io/hostname.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	TopologyKey string `json:"topologyKey"`

	// namespaceSelector selects the namespaces the selected pods live in.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// matchLabelKeys are pod label keys whose values, taken from the incoming pod, are added to
	// labelSelector as In requirements.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=317
	MatchLabelKeys []string `json:"matchLabelKeys,omitempty"`

	// mismatchLabelKeys are pod label keys whose values, taken from the incoming pod, are added to
	// labelSelector as NotIn requirements.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=317
	MismatchLabelKeys []string `json:"mismatchLabelKeys,omitempty"`
}

// WeightedPodAffinityTerm is a weighted pod (anti-)affinity preference
// (corev1.WeightedPodAffinityTerm).
type WeightedPodAffinityTerm struct {
	// weight, from 1 to 100, is added to the score of the nodes that match.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`

	// podAffinityTerm is the term nodes must match to get the weight.
	// +required
	PodAffinityTerm PodAffinityTerm `json:"podAffinityTerm"`
}
