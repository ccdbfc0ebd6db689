package gateway

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gobwas/ws"

	"github.com/kwps/kwps/dataplane/auth"
)

// reconnectionTokenTTL is how long a reconnection token is valid; the session itself lasts only
// ReliableSessionTimeout after a drop.
const reconnectionTokenTTL = 24 * time.Hour

// closeNotRecovered tells a reliable client its session is gone: it must start a new connection.
var closeNotRecovered = closeFrame(ws.StatusPolicyViolation, "The connection could not be recovered.")

func (g *Gateway) reconnectionToken(c *Conn) string {
	if g.opts.Keys == nil {
		return ""
	}
	tok, err := auth.IssueReconnectionToken(g.opts.Keys.Primary(), c.id, reconnectionTokenTTL, time.Time{})
	if err != nil {
		g.log.Error("cannot issue a reconnection token", "error", err)
		return ""
	}
	return tok
}

// recoverSession serves a reliable client's recovery (awps_connection_id, awps_reconnection_token):
// the session continues on the new socket with its groups, unacknowledged messages and ackIds, and
// no second connected event goes upstream. A session that cannot be recovered is answered, as the
// client libraries expect, with an upgrade followed by close 1008.
func (g *Gateway) recoverSession(w http.ResponseWriter, r *http.Request, hubName, id string) {
	offered := offeredProtocols(r.Header)
	c := g.recoverable(r, hubName, id)
	subprotocol := ""
	if c != nil {
		for _, p := range offered {
			if strings.EqualFold(p, c.subprotocol) {
				subprotocol = p
			}
		}
		if subprotocol == "" {
			c = nil // a recovery must speak the session's protocol
		}
	}
	if c == nil {
		_, subprotocol = choosePredefined(offered)
	}
	nc, reader, ok := g.upgrade(w, r, subprotocol)
	if !ok {
		return
	}
	if c != nil {
		t := newTransport(c, nc, reader)
		if c.attach(t) {
			g.log.Debug("connection recovered", "hub", hubName, "connectionId", id, "userId", c.userID)
			t.startReading()
			return
		}
	}
	refuseUpgraded(nc)
}

// recoverable returns the local session a recovery request names, when its token is valid.
func (g *Gateway) recoverable(r *http.Request, hubName, id string) *Conn {
	if err := g.opts.Verifier.VerifyReconnectionToken(r.URL.Query().Get("awps_reconnection_token"), id); err != nil {
		g.log.Info("recovery refused", "hub", hubName, "connectionId", id, "error", err)
		return nil
	}
	c := g.conn(hubName, id)
	if c == nil && g.bp != nil {
		// Not here: the session may live in another process, which hands it over.
		moved, err := g.handoverFrom(r.Context(), hubName, id)
		if err != nil {
			g.log.Info("recovery refused", "hub", hubName, "connectionId", id, "error", err)
			return nil
		}
		return moved
	}
	if c == nil || !c.kind.Reliable() || c.isMoving() {
		return nil
	}
	return c
}

// refuseUpgraded closes an upgraded socket with 1008, giving the peer a moment to read the frame.
func refuseUpgraded(nc net.Conn) {
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write(closeNotRecovered)
	if hc, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	go func() {
		_ = nc.SetReadDeadline(time.Now().Add(closeWait))
		buf := make([]byte, 512)
		for {
			if _, err := nc.Read(buf); err != nil {
				break
			}
		}
		_ = nc.Close()
	}()
}
