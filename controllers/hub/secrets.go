package hub

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

// resolveCodeSecrets reads the `code` of every event handler that has a codeSecretRef, straight from
// the API server. The values stay in memory for the checks; only the Secrets' resourceVersions are
// recorded, so that an edited Secret is checked again. A missing Secret or key is reported
// (Ready=False SecretNotFound) and keeps the hub from being ready; the Secret watch brings us back.
func (r *Reconciler) resolveCodeSecrets(ctx context.Context, s *scope) (ctrl.Result, error) {
	s.codes = map[hubconfig.SecretKeyRef]string{}
	s.versions = map[string]string{}
	secrets := map[string]*corev1.Secret{}
	for i := range s.cfg.EventHandlers {
		ref := s.cfg.EventHandlers[i].CodeSecretRef
		if ref == nil {
			continue
		}
		secret, ok := secrets[ref.Name]
		if !ok {
			secret = &corev1.Secret{}
			err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: s.hub.Namespace, Name: ref.Name}, secret)
			switch {
			case apierrors.IsNotFound(err):
				secret = nil
			case err != nil:
				return ctrl.Result{}, err
			default:
				s.versions[ref.Name] = secret.ResourceVersion
			}
			secrets[ref.Name] = secret
		}
		field := fmt.Sprintf("spec.eventHandlers[%d].codeSecretRef", i)
		if secret == nil {
			s.secretProblem = fmt.Sprintf("the Secret %q (%s) does not exist", ref.Name, field)
			return ctrl.Result{}, nil
		}
		code, ok := secret.Data[ref.Key]
		if !ok {
			s.secretProblem = fmt.Sprintf("the Secret %q has no key %q (%s)", ref.Name, ref.Key, field)
			return ctrl.Result{}, nil
		}
		s.codes[*ref] = string(code)
	}
	return ctrl.Result{}, nil
}
