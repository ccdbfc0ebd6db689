package webpubsub

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/internal/apply"
)

// reconcileService applies the Service in front of the gateways.
func (r *Reconciler) reconcileService(ctx context.Context, s *scope) (ctrl.Result, error) {
	return ctrl.Result{}, apply.Apply(ctx, r.Client, s.w, gatewayService(s.w))
}

// gatewayService renders the Service: named after the instance so that the default endpoint
// (http://<name>.<namespace>.svc) reaches it, spec.service.port to the pods' http port.
func gatewayService(w *v1alpha1.WebPubSub) *corev1.Service {
	port := w.Spec.Service.Port
	if port == 0 {
		port = v1alpha1.DefaultServicePort
	}
	typ := corev1.ServiceType(w.Spec.Service.Type)
	if typ == "" {
		typ = corev1.ServiceTypeClusterIP
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: w.ServiceName(), Namespace: w.Namespace, Labels: gatewayLabels(w), Annotations: w.Spec.Service.Annotations,
		},
		Spec: corev1.ServiceSpec{
			Type:     typ,
			Selector: gatewayLabels(w),
			Ports: []corev1.ServicePort{{
				Name: httpPortName, Port: port, TargetPort: intstr.FromString(httpPortName), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}
