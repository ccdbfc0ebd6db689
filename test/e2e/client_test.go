package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/golang-jwt/jwt/v5"
)

// jsonSubprotocol is the Azure Web PubSub JSON subprotocol.
const jsonSubprotocol = "json.webpubsub.azure.v1"

// connectionString is what an app reads from the connection-strings Secret.
type connectionString struct {
	Endpoint  *url.URL
	AccessKey string
}

// parseConnectionString parses Endpoint=...;AccessKey=...;Version=1.0; as the SDKs do (written here
// rather than taken from dataplane/auth, so that the test does not trust the code it tests).
func parseConnectionString(t *testing.T, s string) connectionString {
	t.Helper()
	var cs connectionString
	for _, part := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "endpoint":
			u, err := url.Parse(v)
			if err != nil {
				t.Fatalf("connection string endpoint: %v", err)
			}
			cs.Endpoint = u
		case "accesskey":
			cs.AccessKey = v
		}
	}
	if cs.Endpoint == nil || cs.AccessKey == "" {
		t.Fatal("connection string without Endpoint or AccessKey")
	}
	return cs
}

// clientToken signs a client access token for hub as the server SDKs do: HS256 with the access key,
// aud = <endpoint>/client/hubs/<hub>.
func clientToken(t *testing.T, cs connectionString, hub, user string) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"aud": strings.TrimRight(cs.Endpoint.String(), "/") + "/client/hubs/" + hub,
		"sub": user,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}).SignedString([]byte(cs.AccessKey))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// wsClient is a JSON-subprotocol client.
type wsClient struct {
	conn net.Conn
	r    io.Reader
	id   string // connectionId
}

// dialHub connects to hub through the gateway at addr. A refused handshake returns its HTTP status
// as a ws.StatusError.
func dialHub(ctx context.Context, addr, hub, token string) (*wsClient, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := "ws://" + addr + "/client/hubs/" + hub + "?access_token=" + url.QueryEscape(token)
	conn, br, _, err := ws.Dialer{Protocols: []string{jsonSubprotocol}}.Dial(ctx, u)
	if err != nil {
		return nil, err
	}
	c := &wsClient{conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	m, err := c.read(10 * time.Second)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if m["type"] != "system" || m["event"] != "connected" {
		conn.Close()
		return nil, fmt.Errorf("first message %v, want connected", m)
	}
	c.id, _ = m["connectionId"].(string)
	return c, nil
}

// mustDial connects or fails the test; the connection is closed on cleanup.
func mustDial(t *testing.T, addr, hub, token string) *wsClient {
	t.Helper()
	c, err := dialHub(t.Context(), addr, hub, token)
	if err != nil {
		t.Fatalf("connect to hub %s through %s: %v", hub, addr, err)
	}
	t.Cleanup(func() { c.conn.Close() })
	return c
}

// read returns the next JSON message (pings are answered and skipped).
func (c *wsClient) read(timeout time.Duration) (map[string]any, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.conn.SetReadDeadline(time.Time{}) }()
	b, _, err := wsutil.ReadServerData(struct {
		io.Reader
		io.Writer
	}{c.r, c.conn})
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("not JSON: %q", b)
	}
	return m, nil
}

// event sends a user event and waits for its ack; it returns the ack's success.
func (c *wsClient) event(name string, ackID int) error {
	b, _ := json.Marshal(map[string]any{"type": "event", "event": name, "dataType": "text", "data": "hello", "ackId": ackID})
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := wsutil.WriteClientText(c.conn, b); err != nil {
		return fmt.Errorf("send %s: %w", name, err)
	}
	for {
		m, err := c.read(15 * time.Second)
		if err != nil {
			return fmt.Errorf("ack of %s: %w", name, err)
		}
		if m["type"] != "ack" {
			continue
		}
		if id, _ := m["ackId"].(float64); int(id) != ackID {
			continue
		}
		if ok, _ := m["success"].(bool); !ok {
			return fmt.Errorf("ack of %s: %v", name, m)
		}
		return nil
	}
}

// handshakeStatus is the HTTP status of a refused handshake, 0 for another error.
func handshakeStatus(err error) int {
	var se ws.StatusError
	if errors.As(err, &se) {
		return int(se)
	}
	return 0
}
