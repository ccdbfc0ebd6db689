package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/upstream"
)

// ValidateHubs keeps the event handlers of hubs validated (abuse protection) for as long as ctx lives,
// publishing each hub into store with Ready and NotReadyMessage from its latest result, so no event
// reaches an unvalidated URL and clients of a failing hub are refused with the reason. It returns once
// every hub has a first result, or after wait.
func ValidateHubs(ctx context.Context, store *hubconfig.Store, hubs []*hubconfig.Hub, origin func() string,
	secrets upstream.SecretResolver, log *slog.Logger, wait time.Duration) {
	first := make(chan struct{}, len(hubs))
	v := upstream.NewValidator(upstream.ValidatorOptions{
		Origin:  origin,
		Secrets: secrets,
		Logger:  log,
		Report: func(r upstream.ValidationResult) {
			h := *r.Hub
			h.Ready, h.NotReadyMessage = r.Ready, r.Message
			store.Set(&h)
			if r.Pending {
				return
			}
			select {
			case first <- struct{}{}:
			default:
			}
		},
	})
	for _, h := range hubs {
		store.Set(h) // not ready until validated
		v.Set(h)
	}
	go func() { _ = v.Run(ctx) }()
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for range hubs {
		select {
		case <-first:
		case <-timeout.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// DirSecrets resolves a code secret reference from files laid out as Kubernetes mounts a Secret:
// DIR/<secret name>/<key>. An empty dir resolves nothing.
func DirSecrets(dir string) upstream.SecretResolver {
	return upstream.SecretResolverFunc(func(_ context.Context, ref hubconfig.SecretKeyRef) (string, error) {
		if dir == "" {
			return "", os.ErrNotExist
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(ref.Name), filepath.Base(ref.Key)))
		if err != nil {
			return "", err
		}
		return string(trimNewline(b)), nil
	})
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
