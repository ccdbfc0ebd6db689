package v1alpha1

import (
	"strconv"
	"strings"
)

// DefaultServicePort is the Service port when spec.service.port is unset (the CRD default).
const DefaultServicePort = 80

// PublicEndpoint returns the URL applications and clients use: spec.endpoint without a trailing slash,
// or the in-cluster URL of the instance's Service, http://<name>.<namespace>.svc (https:// when
// spec.tls.secretName is set), with :<port> only when spec.service.port is not the scheme's default. It is
// the Endpoint of the connection strings, the audience of tokens and the origin of abuse-protection
// checks, and the operator publishes it in status.endpoint.
func (w *WebPubSub) PublicEndpoint() string {
	if e := strings.TrimSpace(w.Spec.Endpoint); e != "" {
		return strings.TrimRight(e, "/")
	}
	scheme, defaultPort := "http", int32(80)
	if w.Spec.TLS.SecretName != "" {
		scheme, defaultPort = "https", 443
	}
	port := w.Spec.Service.Port
	if port == 0 {
		port = DefaultServicePort
	}
	host := w.ServiceName() + "." + w.Namespace + ".svc"
	if port != defaultPort {
		host += ":" + strconv.Itoa(int(port))
	}
	return scheme + "://" + host
}

// ServiceName is the name of the Service in front of the instance's gateways: the instance's own name,
// so that the default endpoint, http://<name>.<namespace>.svc, resolves to it. (The gateway's other
// objects are named GatewayName.)
func (w *WebPubSub) ServiceName() string { return w.Name }
