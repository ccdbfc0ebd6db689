package webpubsub

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kwps/kwps/api/v1alpha1"
)

// deleteGatewayChild deletes obj's kind named after w's gateway, if w controls it: a child the spec no
// longer asks for. An object of that name that someone else created is left alone.
func deleteGatewayChild(ctx context.Context, c client.Client, w *v1alpha1.WebPubSub, obj client.Object) error {
	err := c.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: w.GatewayName()}, obj)
	if apierrors.IsNotFound(err) || (err == nil && !metav1.IsControlledBy(obj, w)) {
		return nil
	}
	if err != nil {
		return err
	}
	uid := obj.GetUID()
	return client.IgnoreNotFound(c.Delete(ctx, obj, client.Preconditions{UID: &uid}))
}
