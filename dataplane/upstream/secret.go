package upstream

import (
	"context"
	"fmt"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

// SecretResolver returns the value of a Secret key in the hub's namespace: the `code` of a handler with
// a CodeSecretRef. It is called for every event to such a handler, so implementations should answer
// from a cache (an informer), and must be safe for concurrent use. Errors must not contain the value.
type SecretResolver interface {
	Resolve(ctx context.Context, ref hubconfig.SecretKeyRef) (string, error)
}

// SecretResolverFunc adapts a function to SecretResolver.
type SecretResolverFunc func(ctx context.Context, ref hubconfig.SecretKeyRef) (string, error)

// Resolve calls f.
func (f SecretResolverFunc) Resolve(ctx context.Context, ref hubconfig.SecretKeyRef) (string, error) {
	return f(ctx, ref)
}

// handlerURL is the URL of one event to one handler: the expanded template plus the resolved code.
// Only redacted goes into errors and logs.
type handlerURL struct {
	raw, redacted string
}

// resolveURL expands eh's template for hub and event and adds its code secret, if any.
func resolveURL(ctx context.Context, secrets SecretResolver, eh *hubconfig.EventHandler, hub, event string) (handlerURL, error) {
	raw := ExpandURL(eh.URLTemplate, hub, event)
	if ref := eh.CodeSecretRef; ref != nil {
		if secrets == nil {
			return handlerURL{}, fmt.Errorf("event handler %s: codeSecretRef %s/%s cannot be resolved (no secret resolver configured)", RedactURL(raw), ref.Name, ref.Key)
		}
		code, err := secrets.Resolve(ctx, *ref)
		if err != nil {
			return handlerURL{}, fmt.Errorf("event handler %s: codeSecretRef %s/%s: %w", RedactURL(raw), ref.Name, ref.Key, err)
		}
		raw = SetCode(raw, code)
	}
	return handlerURL{raw: raw, redacted: RedactURL(raw)}, nil
}
