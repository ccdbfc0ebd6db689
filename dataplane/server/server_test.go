package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/protocol"
)

const testKey = "server-test-key"

type running struct {
	srv    *Server
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T) *running {
	t.Helper()
	srv, err := New(Options{
		Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
		Keys: auth.NewKeySet(testKey, ""), Hubs: hubconfig.NewStore(), DrainTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Log(err)
		}
	})
	return r
}

func (r *running) admin(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + r.srv.AdminAddr().String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (r *running) dial(t *testing.T, hub string) (*wsConn, string) {
	t.Helper()
	ep := r.srv.Endpoint()
	tok, err := auth.IssueClientToken(testKey, auth.ClientTokenOptions{Audience: auth.ClientAudience(ep, hub), UserID: "u", Groups: []string{"g"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dialer{Protocols: []string{protocol.JSONName}}.Dial(ctx, auth.ClientURL(ep, hub, tok))
	if err != nil {
		t.Fatal(err)
	}
	c := &wsConn{conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	t.Cleanup(func() { conn.Close() })
	first := c.read(t)
	return c, first
}

type wsConn struct {
	conn io.ReadWriteCloser
	r    io.Reader
}

func (c *wsConn) read(t *testing.T) string {
	t.Helper()
	b, _, err := wsutil.ReadServerData(struct {
		io.Reader
		io.Writer
	}{c.r, c.conn})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func metricValue(body, series string) string {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" ")
		}
	}
	return ""
}

func TestMetrics(t *testing.T) {
	r := start(t)
	c, connected := r.dial(t, "chat")
	if !strings.Contains(connected, `"event":"connected"`) {
		t.Fatalf("connected = %s", connected)
	}
	if err := wsutil.WriteClientText(c.conn, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	c.read(t) // pong
	// A REST call, for the REST histogram.
	ep := r.srv.Endpoint()
	target := ep.String() + "/api/hubs/chat/:send?api-version=2024-12-01"
	tok, _ := auth.IssueRESTToken(testKey, target, time.Minute)
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader("hi"))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("send status %d", resp.StatusCode)
	}
	c.read(t) // the REST message
	r.srv.opts.Hubs.Set(hubconfig.Default("other"))

	_, body := r.admin(t, "/metrics")
	checks := map[string]string{
		`kwps_connections{hub="chat"}`: "1",
		`kwps_connections_opened_total{hub="chat",protocol="json.webpubsub.azure.v1"}`: "1",
		`kwps_inbound_messages_total{hub="chat"}`:                                      "1",
		`kwps_rest_request_duration_seconds_count{code="202",operation="sendToAll"}`:   "1",
		`kwps_config_reloads_total`:                                                    "1",
	}
	for series, want := range checks {
		if got := metricValue(body, series); got != want {
			t.Errorf("%s = %q, want %q", series, got, want)
		}
	}
	if got := metricValue(body, `kwps_outbound_messages_total{hub="chat"}`); got == "" || got == "0" {
		t.Errorf("outbound messages = %q", got)
	}
}

// On shutdown readiness fails and clients get a close that advises them to reconnect elsewhere.
func TestDrain(t *testing.T) {
	r := start(t)
	if code, _ := r.admin(t, "/readyz"); code != http.StatusOK {
		t.Fatalf("readyz %d before drain", code)
	}
	c, _ := r.dial(t, "chat")
	r.cancel()
	// Read raw frames: 1012 is registered with IANA and accepted by browsers and the ws package, but
	// gobwas/ws's reader refuses codes above 1011.
	for {
		h, err := ws.ReadHeader(c.r)
		if err != nil {
			t.Fatalf("want a close frame, got %v", err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c.r, p); err != nil {
			t.Fatal(err)
		}
		if h.OpCode == ws.OpClose {
			if code := int(p[0])<<8 | int(p[1]); code != 1012 {
				t.Fatalf("close code %d, want 1012 (service restart)", code)
			}
			break
		}
	}
	if code, _ := r.admin(t, "/readyz"); code == http.StatusOK {
		t.Fatal("readyz still OK while draining")
	}
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
	r.done <- nil // for the cleanup
}

// Every network input has a bound: a header block over the limit is refused before any handler runs,
// and an oversized token is refused without being parsed.
func TestOversizedHeadersAndTokens(t *testing.T) {
	r := start(t)
	base := r.srv.Endpoint().String()
	cases := []struct {
		name   string
		header string
		value  string
		path   string
		status int
	}{
		{"header block over 256 KiB", "X-Padding", strings.Repeat("a", 300<<10), "/api/health", http.StatusRequestHeaderFieldsTooLarge},
		{"client token over 8 KiB", "Authorization", "Bearer " + strings.Repeat("a", 9<<10), "/client/hubs/chat", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, base+tc.path, nil)
			req.Header.Set(tc.header, tc.value)
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status == http.StatusUnauthorized && !strings.Contains(string(body), "8 KiB") {
				t.Fatalf("body %q does not say why", body)
			}
		})
	}
}
