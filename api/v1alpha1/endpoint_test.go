package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPublicEndpoint(t *testing.T) {
	tests := []struct {
		name string
		spec WebPubSubSpec
		want string
	}{
		{name: "defaults", want: "http://sample.ns.svc"},
		{name: "port 80 explicit", spec: WebPubSubSpec{Service: ServiceSpec{Port: 80}}, want: "http://sample.ns.svc"},
		{name: "other port", spec: WebPubSubSpec{Service: ServiceSpec{Port: 8080}}, want: "http://sample.ns.svc:8080"},
		{name: "tls on 443", spec: WebPubSubSpec{TLS: TLSSpec{SecretName: "tls"}, Service: ServiceSpec{Port: 443}}, want: "https://sample.ns.svc"},
		{name: "tls on the default port 80", spec: WebPubSubSpec{TLS: TLSSpec{SecretName: "tls"}}, want: "https://sample.ns.svc:80"},
		{name: "spec.endpoint wins", spec: WebPubSubSpec{Endpoint: "https://pubsub.example.com", Service: ServiceSpec{Port: 8080}}, want: "https://pubsub.example.com"},
		{name: "spec.endpoint trailing slash", spec: WebPubSubSpec{Endpoint: "https://pubsub.example.com:8443/"}, want: "https://pubsub.example.com:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &WebPubSub{ObjectMeta: metav1.ObjectMeta{Name: "sample", Namespace: "ns"}, Spec: tt.spec}
			if got := w.PublicEndpoint(); got != tt.want {
				t.Errorf("PublicEndpoint() = %q, want %q", got, tt.want)
			}
		})
	}
}
