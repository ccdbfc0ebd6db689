package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/protocol"
)

const testKey = "test-access-key-0123456789abcdefghijklmnopq"

// env is a gateway on a real loopback listener.
type env struct {
	t    *testing.T
	gw   *Gateway
	hubs *hubconfig.Store
	srv  *httptest.Server
	base *url.URL
}

func newEnv(t *testing.T, mutate ...func(*Options)) *env {
	t.Helper()
	hubs := hubconfig.NewStore()
	keys := auth.NewKeySet(testKey, "")
	o := Options{Hubs: hubs, Verifier: &auth.Verifier{Keys: keys}, Keys: keys}
	for _, m := range mutate {
		m(&o)
	}
	gw := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	go gw.Run(ctx)
	mux := http.NewServeMux()
	mux.Handle("/client/", gw)
	mux.Handle("/client", gw)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		cancel()
		dctx, dcancel := context.WithTimeout(context.Background(), time.Second)
		defer dcancel()
		_ = gw.Drain(dctx)
		srv.Close()
	})
	u, _ := url.Parse(srv.URL)
	return &env{t: t, gw: gw, hubs: hubs, srv: srv, base: u}
}

// token issues a client token for hub as the JS SDK would.
func (e *env) token(hub, user string, roles, groups []string) string {
	e.t.Helper()
	tok, err := auth.IssueClientToken(testKey, auth.ClientTokenOptions{
		Audience: auth.ClientAudience(e.base, hub), UserID: user, Roles: roles, Groups: groups,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) url(hub, token string, query ...string) string {
	u := "ws://" + e.base.Host + "/client/hubs/" + hub + "?access_token=" + url.QueryEscape(token)
	for _, q := range query {
		u += "&" + q
	}
	return u
}

// client is a test WebSocket client.
type client struct {
	t    *testing.T
	conn net.Conn
	r    io.Reader // frames: what the dialer buffered, then the socket
	id   string
	// pending holds messages read past while waiting for an ack, in order.
	pending []map[string]any
}

// dial connects and fails the test on error.
func (e *env) dial(rawURL string, protocols ...string) *client {
	e.t.Helper()
	c, _, err := e.tryDial(rawURL, protocols...)
	if err != nil {
		e.t.Fatalf("dial %s: %v", rawURL, err)
	}
	return c
}

func (e *env) tryDial(rawURL string, protocols ...string) (*client, ws.Handshake, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, hs, err := ws.Dialer{Protocols: protocols}.Dial(ctx, rawURL)
	if err != nil {
		return nil, hs, err
	}
	c := &client{t: e.t, conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	e.t.Cleanup(func() { conn.Close() })
	return c, hs, nil
}

// dialJSON connects with json.webpubsub.azure.v1 and reads the connected message.
func (e *env) dialJSON(hub, user string, roles, groups []string) *client {
	e.t.Helper()
	c := e.dial(e.url(hub, e.token(hub, user, roles, groups)), protocol.JSONName)
	m := c.readJSON()
	if m["type"] != "system" || m["event"] != "connected" {
		e.t.Fatalf("first message = %v, want connected", m)
	}
	c.id = m["connectionId"].(string)
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendText(b)
}

func (c *client) sendText(b []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.conn, b); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next data frame (control frames are answered and skipped).
func (c *client) read() ([]byte, ws.OpCode) {
	c.t.Helper()
	b, op, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return b, op
}

func (c *client) tryRead(timeout time.Duration) ([]byte, ws.OpCode, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.conn.SetReadDeadline(time.Time{}) }()
	return wsutil.ReadServerData(struct {
		io.Reader
		io.Writer
	}{c.r, c.conn})
}

func (c *client) readJSON() map[string]any {
	c.t.Helper()
	if len(c.pending) > 0 {
		m := c.pending[0]
		c.pending = c.pending[1:]
		return m
	}
	b, _ := c.read()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("not JSON: %q", b)
	}
	return m
}

// expectClose reads until the server closes and returns the close code and reason.
func (c *client) expectClose() (ws.StatusCode, string) {
	c.t.Helper()
	for {
		_, _, err := c.tryRead(5 * time.Second)
		if err == nil {
			continue
		}
		var ce wsutil.ClosedError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		c.t.Fatalf("expected a close frame, got %v", err)
	}
}

// expectNothing asserts no data frame arrives within d.
func (c *client) expectNothing(d time.Duration) {
	c.t.Helper()
	if len(c.pending) > 0 {
		c.t.Fatalf("unexpected message %v", c.pending[0])
	}
	b, _, err := c.tryRead(d)
	if err == nil {
		c.t.Fatalf("unexpected message %q", b)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("unexpected error %v", err)
	}
}

// ackOf sends a request and returns its ack.
func (c *client) ack(v map[string]any) map[string]any {
	c.t.Helper()
	c.send(v)
	var skipped []map[string]any
	defer func() { c.pending = append(c.pending, skipped...) }()
	for {
		m := c.readJSON()
		if m["type"] == "ack" {
			return m
		}
		skipped = append(skipped, m)
	}
}

// httpStatus dials and returns the HTTP status of a refused upgrade, and its body.
func (e *env) refused(rawURL string, protocols ...string) (int, string) {
	e.t.Helper()
	_, _, err := e.tryDial(rawURL, protocols...)
	var se ws.StatusError
	if !errors.As(err, &se) {
		e.t.Fatalf("dial %s: want a refused upgrade, got %v", rawURL, err)
	}
	// The body is not exposed by the dialer; fetch it with a plain upgrade request.
	req, _ := http.NewRequest(http.MethodGet, strings.Replace(rawURL, "ws://", "http://", 1), nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	for _, p := range protocols {
		req.Header.Add("Sec-WebSocket-Protocol", p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	sb.Write(buf[:n])
	return int(se), sb.String()
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expectRawClose reads raw frames until a close frame and returns its code; unlike wsutil it accepts
// codes gobwas/ws does not know, such as 1012 (service restart).
func (c *client) expectRawClose() ws.StatusCode {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		h, err := ws.ReadHeader(c.r)
		if err != nil {
			c.t.Fatalf("expected a close frame, got %v", err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c.r, p); err != nil {
			c.t.Fatal(err)
		}
		if h.OpCode == ws.OpClose && len(p) >= 2 {
			return ws.StatusCode(int(p[0])<<8 | int(p[1]))
		}
	}
}

func decodeJSONMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %q", b)
	}
	return m
}
