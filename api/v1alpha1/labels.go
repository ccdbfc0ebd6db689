package v1alpha1

// InstanceLabel is set, with the WebPubSub's name as its value, on every object the operator creates for
// an instance (Deployment, pods, Service, Secrets, rendered hub ConfigMaps), so they can be selected
// together: kubectl get all -l webpubsub.kwps.io/instance=<name>.
const InstanceLabel = "webpubsub.kwps.io/instance"
