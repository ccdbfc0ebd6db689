package webpubsub

import (
	"maps"

	"github.com/kwps/kwps/api/v1alpha1"
)

// instanceLabels are the labels of everything the operator creates for w.
func instanceLabels(w *v1alpha1.WebPubSub) map[string]string {
	return map[string]string{v1alpha1.InstanceLabel: w.Name}
}

// gatewayLabels label the gateway pods and the objects around them; they are also the pod selector.
func gatewayLabels(w *v1alpha1.WebPubSub) map[string]string {
	return map[string]string{v1alpha1.InstanceLabel: w.Name, v1alpha1.ComponentLabel: v1alpha1.ComponentGateway}
}

// podLabels are the user's spec.podTemplate.labels under the gateway labels, which win.
func podLabels(w *v1alpha1.WebPubSub) map[string]string {
	l := maps.Clone(w.Spec.PodTemplate.Labels)
	if l == nil {
		l = map[string]string{}
	}
	maps.Copy(l, gatewayLabels(w))
	return l
}
