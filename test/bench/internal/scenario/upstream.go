package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kwps/kwps/test/bench/internal/system"
)

// maxEventBody bounds a user event's body the upstream reads.
const maxEventBody = 1 << 20

// upstream is the app behind kwps in the echo scenario: a CloudEvents event handler that passes the
// abuse-protection check and answers every user event with its own body, which kwps sends back to
// the client. It runs in the load process, as an app server runs outside the service.
type upstream struct {
	srv  *http.Server
	addr string
}

func startUpstream(ctx context.Context) (*upstream, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{addr: ln.Addr().String()}
	u.srv = &http.Server{Handler: http.HandlerFunc(u.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = u.srv.Serve(ln) }() // ends when close shuts the server down
	return u, nil
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions: // abuse protection (CloudEvents webhook validation)
		if r.Header.Get("WebHook-Request-Origin") == "" {
			http.Error(w, "missing WebHook-Request-Origin", http.StatusBadRequest)
			return
		}
		w.Header().Set("WebHook-Allowed-Origin", "*")
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxEventBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// manifest writes a Hub manifest whose event handler is this upstream, for every user event.
func (u *upstream) manifest(dir string) (string, error) {
	path := filepath.Join(dir, "hub-echo.yaml")
	yaml := fmt.Sprintf(`apiVersion: webpubsub.kwps.io/v1alpha1
kind: Hub
metadata:
  name: %s
spec:
  webPubSubRef:
    name: bench
  eventHandlers:
  - urlTemplate: http://%s/upstream/{event}
    userEventPattern: "*"
`, system.Hub, u.addr)
	return path, os.WriteFile(path, []byte(yaml), 0o644)
}

func (u *upstream) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		_ = u.srv.Close()
	}
}
