package webpubsub

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/index"
	"github.com/kwps/kwps/controllers/internal/apply"
	"github.com/kwps/kwps/dataplane/auth"
)

// accessKeys are an instance's two access keys, both valid.
type accessKeys struct {
	primary, secondary string
}

// reconcileAccessKeys reads the access keys. The generated Secret is created with two random keys, and
// a key missing from it is generated; a key that is there is never overwritten, so users rotate keys by
// editing the Secret. A referenced Secret is only read: its absence, or a missing key, blocks the
// reconcile with Ready=False SecretNotFound until it appears (the Secret watch brings us back).
func (r *Reconciler) reconcileAccessKeys(ctx context.Context, s *scope) (ctrl.Result, error) {
	w := s.w
	name := w.AccessKeysSecretName()
	generated := w.Spec.AccessKeys.SecretRef == nil || w.Spec.AccessKeys.SecretRef.Name == ""
	secret := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: name}, secret)
	switch {
	case apierrors.IsNotFound(err) && !generated:
		s.keysProblem = fmt.Sprintf("the access-keys Secret %q (spec.accessKeys.secretRef) does not exist", name)
		return ctrl.Result{}, nil
	case apierrors.IsNotFound(err):
		return ctrl.Result{}, r.createAccessKeys(ctx, s)
	case err != nil:
		return ctrl.Result{}, err
	}
	s.keys = accessKeys{primary: keyOf(secret, v1alpha1.PrimaryKeyKey), secondary: keyOf(secret, v1alpha1.SecondaryKeyKey)}
	missing := missingKeys(s.keys)
	if len(missing) == 0 {
		return ctrl.Result{}, nil
	}
	if !generated {
		s.keysProblem = fmt.Sprintf("the access-keys Secret %q has no %s", name, strings.Join(missing, " or "))
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, r.fillAccessKeys(ctx, s, secret)
}

func (r *Reconciler) createAccessKeys(ctx context.Context, s *scope) error {
	var err error
	if s.keys.primary, err = auth.GenerateKey(); err != nil {
		return err
	}
	if s.keys.secondary, err = auth.GenerateKey(); err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.w.AccessKeysSecretName(), Namespace: s.w.Namespace, Labels: instanceLabels(s.w)},
		Type:       corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			v1alpha1.PrimaryKeyKey:   []byte(s.keys.primary),
			v1alpha1.SecondaryKeyKey: []byte(s.keys.secondary),
		},
	}
	if err := controllerutil.SetControllerReference(s.w, secret, r.Client.Scheme()); err != nil {
		return err
	}
	// Create, never apply: an AlreadyExists (a Secret made since our read) is retried and then read.
	if err := r.Client.Create(ctx, secret); err != nil {
		return err
	}
	log.FromContext(ctx).Info("generated access keys", "secret", secret.Name)
	return nil
}

// fillAccessKeys generates the keys missing from the generated Secret, leaving the others as they are.
func (r *Reconciler) fillAccessKeys(ctx context.Context, s *scope, secret *corev1.Secret) error {
	patch := client.MergeFromWithOptions(secret.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	for _, k := range []struct {
		key string
		val *string
	}{{v1alpha1.PrimaryKeyKey, &s.keys.primary}, {v1alpha1.SecondaryKeyKey, &s.keys.secondary}} {
		if *k.val != "" {
			continue
		}
		key, err := auth.GenerateKey()
		if err != nil {
			return err
		}
		*k.val = key
		secret.Data[k.key] = []byte(key)
	}
	// The optimistic lock makes a concurrent edit of the Secret fail the patch (retried) instead of
	// being overwritten.
	if err := r.Client.Patch(ctx, secret, patch); err != nil {
		return err
	}
	log.FromContext(ctx).Info("generated missing access keys", "secret", secret.Name)
	return nil
}

// keyOf returns a key of the Secret without surrounding white space (a key written with a trailing
// newline is the same key to the gateways).
func keyOf(secret *corev1.Secret, key string) string {
	return strings.TrimSpace(string(secret.Data[key]))
}

// missingKeys names the keys that are empty.
func missingKeys(k accessKeys) []string {
	var missing []string
	if k.primary == "" {
		missing = append(missing, v1alpha1.PrimaryKeyKey)
	}
	if k.secondary == "" {
		missing = append(missing, v1alpha1.SecondaryKeyKey)
	}
	return missing
}

// reconcileConnectionStrings publishes the connection strings of both keys, so that they follow a key
// edited in the keys Secret and a change of endpoint.
func (r *Reconciler) reconcileConnectionStrings(ctx context.Context, s *scope) (ctrl.Result, error) {
	if err := apply.Apply(ctx, r.Client, s.w, connectionStringsSecret(s.w, s.keys)); err != nil {
		return ctrl.Result{}, err
	}
	s.connectionStrings = true
	return ctrl.Result{}, nil
}

// connectionStringsSecret renders the connection-strings Secret.
func connectionStringsSecret(w *v1alpha1.WebPubSub, keys accessKeys) *corev1.Secret {
	endpoint := w.PublicEndpoint()
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: w.ConnectionStringsSecretName(), Namespace: w.Namespace, Labels: instanceLabels(w)},
		Type:       corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			v1alpha1.PrimaryConnectionStringKey:   []byte(auth.FormatConnectionString(endpoint, keys.primary)),
			v1alpha1.SecondaryConnectionStringKey: []byte(auth.FormatConnectionString(endpoint, keys.secondary)),
		},
	}
}

// forKeysSecret maps a Secret to the WebPubSubs whose access keys it holds.
func (r *Reconciler) forKeysSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.WebPubSubList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{index.WebPubSubKeysSecret: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "cannot list the WebPubSubs of a Secret", "secret", client.ObjectKeyFromObject(o))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}
