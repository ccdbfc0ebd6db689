// Package controllers wires the operator's reconcilers into a controller-runtime manager: the WebPubSub
// controller (package webpubsub), the Hub controller (package hub) and the field indexes they share
// (package index).
package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/hub"
	"github.com/kwps/kwps/controllers/index"
	"github.com/kwps/kwps/controllers/webpubsub"
)

// EventSource is the reporting controller of the operator's Events.
const EventSource = "kwps-operator"

// Options configure the controllers.
type Options struct {
	// GatewayImage is the gateway image of WebPubSubs that do not set spec.image.
	GatewayImage string
	// HubChecks says when Hub event handler URLs are checked; zero fields take their defaults.
	HubChecks hub.Schedule
}

// CacheOptions restrict the manager's cache to the objects the operator creates (they carry the
// instance label; hub ConfigMaps also the hub-config component label), so that it does not hold every
// Deployment and ConfigMap of the cluster. Secrets are watched as metadata only by the controllers.
func CacheOptions() cache.Options {
	instance, err := labels.NewRequirement(v1alpha1.InstanceLabel, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant label key
	}
	ours := cache.ByObject{Label: labels.NewSelector().Add(*instance)}
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&appsv1.Deployment{}:                     ours,
		&corev1.Service{}:                        ours,
		&corev1.ServiceAccount{}:                 ours,
		&rbacv1.Role{}:                           ours,
		&rbacv1.RoleBinding{}:                    ours,
		&policyv1.PodDisruptionBudget{}:          ours,
		&autoscalingv2.HorizontalPodAutoscaler{}: ours,
		&corev1.ConfigMap{}:                      {Label: labels.SelectorFromSet(labels.Set{v1alpha1.ComponentLabel: v1alpha1.ComponentHubConfig})},
	}}
}

// Setup registers the field indexes and both controllers with mgr, whose cache should have been
// built with CacheOptions.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	if err := index.Register(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	if err := (&webpubsub.Reconciler{
		Client:       mgr.GetClient(),
		APIReader:    mgr.GetAPIReader(),
		GatewayImage: o.GatewayImage,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("webpubsub controller: %w", err)
	}
	if err := (&hub.Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder(EventSource),
		Schedule:  o.HubChecks,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("hub controller: %w", err)
	}
	return nil
}
