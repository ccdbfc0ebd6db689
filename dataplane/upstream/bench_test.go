package upstream

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kwps/kwps/dataplane/auth"
)

// BenchmarkUserEvent measures one user event round trip over loopback: build and sign the CloudEvent,
// POST it on a kept-alive connection, read the handler's answer.
func BenchmarkUserEvent(b *testing.B) {
	answers := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }},
		{"200-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("pong"))
		}},
	}
	for _, a := range answers {
		b.Run(a.name, func(b *testing.B) {
			srv := httptest.NewServer(a.h)
			defer srv.Close()
			c := New(Options{Keys: auth.NewKeySet(testPrimaryKey, testSecondaryKey), Origin: func() string { return testOrigin }})
			defer func() { _ = c.Close(b.Context()) }()
			hub := testHub(allEvents(srv.URL + "/api/{hub}/{event}"))
			conn := testConn()
			body := []byte(`{"text":"hello"}`)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.UserEvent(b.Context(), hub, conn, "message", ContentTypeJSON, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
