// Package v1alpha1 holds the webpubsub.kwps.io/v1alpha1 API: WebPubSub, a self-hosted Azure Web PubSub
// service instance, and Hub, the settings of one hub of an instance.
//
// The Go types are the source of truth: the CRDs in config/crd/bases and zz_generated.deepcopy.go are
// generated from their markers by `make manifests generate`. Godoc on a field becomes its OpenAPI
// description, so it is written for users of kubectl explain.
//
// +kubebuilder:object:generate=true
// +groupName=webpubsub.kwps.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "webpubsub.kwps.io", Version: "v1alpha1"}

	// SchemeBuilder collects the functions that add this API's kinds to a runtime.Scheme; each kind
	// registers itself from its file's init.
	SchemeBuilder = runtime.NewSchemeBuilder(func(s *runtime.Scheme) error {
		metav1.AddToGroupVersion(s, GroupVersion)
		return nil
	})

	// AddToScheme adds the kinds of this API to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// register returns a scheme function that adds objs to this API's group and version.
func register(objs ...runtime.Object) func(*runtime.Scheme) error {
	return func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, objs...)
		return nil
	}
}
