package hub

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/internal/apply"
	"github.com/kwps/kwps/dataplane/hubconfig"
)

// Annotations of a hub ConfigMap that record the latest check (see checkState); hub.json holds its
// outcome. They name no secret.
const (
	annotationCheckedInputs = "webpubsub.kwps.io/checked-inputs"
	annotationCheckedAt     = "webpubsub.kwps.io/checked-at"
	annotationCheckFailures = "webpubsub.kwps.io/check-failures"
)

// reconcileConfigMap renders the hub, with the outcome of its checks, into the ConfigMap the gateways
// of its instance serve, and removes the ConfigMaps this Hub had for another instance.
func (r *Reconciler) reconcileConfigMap(ctx context.Context, s *scope) (ctrl.Result, error) {
	cm, err := hubConfigMap(s.hub, s.w.Name, s.cfg, s.check)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := apply.Apply(ctx, r.Client, s.hub, cm); err != nil {
		return ctrl.Result{}, err
	}
	s.configMap = cm.Name
	return ctrl.Result{}, r.deleteConfigMaps(ctx, s.hub, cm.Name)
}

// hubConfigMap renders the ConfigMap of hub for the WebPubSub named webPubSub: cfg with the readiness
// of st, and st's bookkeeping in annotations.
func hubConfigMap(hub *v1alpha1.Hub, webPubSub string, cfg *hubconfig.Hub, st checkState) (*corev1.ConfigMap, error) {
	out := *cfg
	out.Ready = st.ready
	switch {
	case st.ready:
		out.NotReadyMessage = ""
	case st.message != "":
		out.NotReadyMessage = st.message
	}
	data, err := out.Marshal()
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      v1alpha1.HubConfigMapName(webPubSub, hub.Name),
			Namespace: hub.Namespace,
			Labels:    map[string]string{v1alpha1.InstanceLabel: webPubSub, v1alpha1.ComponentLabel: v1alpha1.ComponentHubConfig},
		},
		Data: map[string]string{hubconfig.DataKey: string(data)},
	}
	if !st.at.IsZero() {
		cm.Annotations = map[string]string{
			annotationCheckedInputs: st.inputs,
			annotationCheckedAt:     st.at.UTC().Format(time.RFC3339Nano),
			annotationCheckFailures: strconv.Itoa(st.failures),
		}
	}
	return cm, nil
}

// lastCheck reads the latest check from the hub's ConfigMap. Anything missing or unreadable counts as
// no check, so one is made.
func (r *Reconciler) lastCheck(ctx context.Context, s *scope) (checkState, error) {
	cm := &corev1.ConfigMap{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: s.hub.Namespace, Name: v1alpha1.HubConfigMapName(s.w.Name, s.hub.Name)}, cm)
	if apierrors.IsNotFound(err) {
		return checkState{}, nil
	}
	if err != nil {
		return checkState{}, err
	}
	return checkStateOf(cm), nil
}

// checkStateOf parses what hubConfigMap wrote.
func checkStateOf(cm *corev1.ConfigMap) checkState {
	var h hubconfig.Hub
	at, errAt := time.Parse(time.RFC3339Nano, cm.Annotations[annotationCheckedAt])
	failures, errFailures := strconv.Atoi(cm.Annotations[annotationCheckFailures])
	if errAt != nil || errFailures != nil || json.Unmarshal([]byte(cm.Data[hubconfig.DataKey]), &h) != nil {
		return checkState{}
	}
	st := checkState{inputs: cm.Annotations[annotationCheckedInputs], at: at, failures: failures, ready: h.Ready}
	if !h.Ready {
		st.message = h.NotReadyMessage
	}
	return st
}

// deleteConfigMaps deletes the hub ConfigMaps hub controls, except the one named keep.
func (r *Reconciler) deleteConfigMaps(ctx context.Context, hub *v1alpha1.Hub, keep string) error {
	var list corev1.ConfigMapList
	if err := r.Client.List(ctx, &list, client.InNamespace(hub.Namespace),
		client.MatchingLabels{v1alpha1.ComponentLabel: v1alpha1.ComponentHubConfig}); err != nil {
		return err
	}
	for i := range list.Items {
		cm := &list.Items[i]
		if cm.Name == keep || !metav1.IsControlledBy(cm, hub) {
			continue
		}
		if err := r.Client.Delete(ctx, cm, client.Preconditions{UID: &cm.UID}); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}
