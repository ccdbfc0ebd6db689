package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gobwas/ws"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/protocol"
	"github.com/kwps/kwps/dataplane/upstream"
)

// ServeHTTP serves the client endpoints /client/hubs/{hub} and /client/?hub={hub}: it authenticates
// the client, runs the hub's connect event, negotiates the subprotocol, upgrades to WebSocket and
// registers the connection. Failures before the upgrade are plain HTTP errors with a reason.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hubName, problem := hubFromRequest(r)
	if problem != "" {
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodGet || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "This endpoint accepts WebSocket connections only.", http.StatusBadRequest)
		return
	}
	if id := r.URL.Query().Get("awps_connection_id"); id != "" {
		// A reliable client recovering its session: the URL still carries its original, possibly
		// expired, access token, which recovery ignores.
		g.recoverSession(w, r, hubName, id)
		return
	}
	cfg := g.opts.Hubs.Get(hubName)
	if !cfg.Ready {
		msg := "The hub is not ready: its event handlers have not passed validation."
		if cfg.NotReadyMessage != "" {
			msg += " " + cfg.NotReadyMessage
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	a, status, msg := g.admit(r, cfg)
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	g.accept(w, r, cfg, a)
}

// hubFromRequest returns the canonical hub of a client request, or what is wrong with the request.
func hubFromRequest(r *http.Request) (hub, problem string) {
	var name string
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/client/hubs/"):
		name = p[len("/client/hubs/"):]
		name = strings.TrimSuffix(name, "/")
	case p == "/client" || p == "/client/":
		name = r.URL.Query().Get("hub")
		if name == "" {
			return "", "The hub is required: use /client/hubs/{hub} or /client/?hub={hub}."
		}
	default:
		return "", "Unknown client endpoint."
	}
	if !hubconfig.ValidHubName(name) {
		return "", fmt.Sprintf("Invalid hub name %q: it must start with a letter and hold at most 128 letters, digits or _`,.[].", truncate(name, 140))
	}
	return hubconfig.CanonicalHub(name), ""
}

// admission is an authenticated client's identity and choices, before the upgrade.
type admission struct {
	hub         string
	id          string
	userID      string
	hasUser     bool
	roles       []string
	groups      []string
	perms       *perms
	state       string
	kind        protocol.Kind
	subprotocol string
	mode        rawMode
	rawGroup    string
	rawNoEcho   bool
}

// admit authenticates the request and runs the connect event. A non-zero status rejects the client.
func (g *Gateway) admit(r *http.Request, cfg *hubconfig.Hub) (a admission, status int, msg string) {
	a.hub, a.id = cfg.Name, newConnectionID()
	claims := &auth.Claims{}
	if token := auth.TokenFromRequest(r); token != "" {
		c, err := g.opts.Verifier.VerifyClient(token, cfg.Name, r)
		if err != nil {
			return a, http.StatusUnauthorized, "Unauthorized: " + err.Error()
		}
		claims = c
	} else if cfg.AnonymousConnectPolicy != hubconfig.AnonymousAllow {
		return a, http.StatusUnauthorized, "Unauthorized: an access token is required (access_token query parameter or Authorization: Bearer header)."
	}
	a.userID, a.hasUser = claims.UserID, claims.HasUserID
	a.roles, a.groups = claims.Roles, claims.Groups
	offered := offeredProtocols(r.Header)

	if g.hasHandler(cfg, hubconfig.EventConnect, true) {
		if status, msg := g.connect(r, cfg, claims, offered, &a); status != 0 {
			return a, status, msg
		}
	}
	if a.subprotocol == "" {
		a.kind, a.subprotocol = choosePredefined(offered)
	}
	var err error
	if a.perms, err = permsFromRoles(a.roles); err != nil {
		return a, http.StatusBadRequest, "Invalid role: " + err.Error()
	}
	if len(a.groups) > g.opts.MaxGroupsPerConnection {
		return a, http.StatusBadRequest, fmt.Sprintf("Too many groups: a connection may join at most %d.", g.opts.MaxGroupsPerConnection)
	}
	for _, group := range a.groups {
		if !protocol.ValidGroupName(group) {
			return a, http.StatusBadRequest, "Invalid group name: it must be 1 to 1024 characters and not only whitespace."
		}
	}
	if a.kind == protocol.Raw {
		if status, msg := rawModeFromQuery(r.URL.Query(), &a); status != 0 {
			return a, status, msg
		}
	}
	return a, 0, ""
}

// connect runs the blocking connect event and applies its answer (DESIGN.md decisions 6 and 11).
func (g *Gateway) connect(r *http.Request, cfg *hubconfig.Hub, claims *auth.Claims, offered []string, a *admission) (int, string) {
	req := upstream.ConnectRequest{
		Claims:       claims.All,
		Query:        r.URL.Query(),
		Headers:      r.Header,
		Subprotocols: offered,
	}
	conn := upstream.Conn{Hub: cfg.Name, ConnectionID: a.id, UserID: a.userID, EventID: func() uint64 { return 0 }}
	resp, err := g.opts.Events.Connect(r.Context(), cfg, conn, req)
	if err != nil {
		status, body := connectError(err)
		g.log.Info("connect rejected", "hub", cfg.Name, "connectionId", a.id, "status", status, "error", err)
		return status, body
	}
	if resp.UserID != nil {
		a.userID, a.hasUser = *resp.UserID, *resp.UserID != ""
	}
	if resp.Groups != nil {
		a.groups = *resp.Groups
	}
	if resp.Roles != nil {
		a.roles = *resp.Roles
	}
	if resp.State != nil {
		a.state = *resp.State
	}
	if resp.Subprotocol != "" {
		chosen := ""
		for _, p := range offered {
			if strings.EqualFold(p, resp.Subprotocol) {
				chosen = p
			}
		}
		if chosen == "" {
			return http.StatusInternalServerError, fmt.Sprintf("The connect event handler selected subprotocol %q, which the client did not offer.", truncate(resp.Subprotocol, 64))
		}
		kind, predefined := protocol.KindOf(chosen)
		if predefined && !supported(kind) {
			return http.StatusBadRequest, fmt.Sprintf("Subprotocol %q is not supported.", chosen)
		}
		a.kind, a.subprotocol = kind, chosen
	}
	return 0, ""
}

// offeredProtocols lists the Sec-WebSocket-Protocol values of the request, bounded.
func offeredProtocols(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" && len(out) < 16 {
				out = append(out, p)
			}
		}
	}
	return out
}

// choosePredefined picks the first predefined subprotocol the client offered that the gateway speaks;
// a client offering none is a raw client and no subprotocol is echoed.
func choosePredefined(offered []string) (protocol.Kind, string) {
	for _, p := range offered {
		if kind, ok := protocol.KindOf(p); ok && supported(kind) {
			return kind, p
		}
	}
	return protocol.Raw, ""
}

// rawModeFromQuery reads webpubsub_mode, group and noEcho for a simple WebSocket client.
func rawModeFromQuery(q url.Values, a *admission) (int, string) {
	switch mode := q.Get("webpubsub_mode"); {
	case mode == "" || strings.EqualFold(mode, "sendEvent"):
		a.mode = rawSendEvent
		return 0, ""
	case strings.EqualFold(mode, "sendToGroup"):
	default:
		return http.StatusBadRequest, fmt.Sprintf("Invalid webpubsub_mode %q: use sendEvent or sendToGroup.", truncate(mode, 64))
	}
	groups := q["group"]
	if len(groups) != 1 || !protocol.ValidGroupName(groups[0]) {
		return http.StatusBadRequest, "webpubsub_mode=sendToGroup needs exactly one valid group query parameter."
	}
	if !a.perms.send.allows(groups[0]) {
		return http.StatusForbidden, fmt.Sprintf("The client does not have permission to send to group '%s'.", truncate(groups[0], 128))
	}
	a.mode, a.rawGroup = rawSendToGroup, groups[0]
	a.rawNoEcho = strings.EqualFold(q.Get("noEcho"), "true")
	return 0, ""
}

// accept upgrades the request and starts the connection.
func (g *Gateway) accept(w http.ResponseWriter, r *http.Request, cfg *hubconfig.Hub, a admission) {
	h := g.hubFor(a.hub)
	if h == nil {
		http.Error(w, "The service is shutting down; reconnect.", http.StatusServiceUnavailable)
		return
	}
	nc, reader, resp, ok := g.upgradeHeld(w, r, a.subprotocol)
	if !ok {
		return
	}
	c := &Conn{
		g: g, hub: h, id: a.id, userID: a.userID, hasUser: a.hasUser, kind: a.kind,
		subprotocol: a.subprotocol, mode: a.mode, rawGroup: a.rawGroup, rawNoEcho: a.rawNoEcho,
		perms: a.perms, state: a.state,
	}
	t := newTransport(c, nc, reader)
	t.hold() // frames queue up behind the upgrade response, which is sent once the connection is in place
	c.cur.Store(t)
	now := time.Now()
	c.lastRead.Store(now.UnixNano())
	c.nextPing = now.Add(time.Duration(cfg.KeepAliveSeconds) * time.Second).UnixNano()

	g.register(c, a.groups)
	// Before the client or the upstream hears of the connection, make sure that what other processes
	// send to it (its ID, user, groups) reaches it.
	g.syncSubscriptions(r.Context())
	if c.kind != protocol.Raw {
		c.send(outFrame{head: c.connectedFrame()})
	}
	t.sendHeld(resp)
	g.metrics.opened(c)
	if g.log.Enabled(r.Context(), slog.LevelDebug) {
		g.log.Debug("connection opened", "hub", c.hub.name, "connectionId", c.id, "userId", c.userID, "protocol", protocolLabel(c))
	}
	g.connected(c, cfg)
	t.startReading()
}

// upgrade completes the WebSocket handshake, echoing subprotocol when not empty, and returns the socket
// and a reader that first replays what the HTTP server had buffered.
func (g *Gateway) upgrade(w http.ResponseWriter, r *http.Request, subprotocol string) (net.Conn, *prefixedConn, bool) {
	nc, reader, resp, ok := g.upgradeHeld(w, r, subprotocol)
	if ok && !writeUpgradeResponse(nc, resp) {
		_ = nc.Close()
		return nil, nil, false
	}
	return nc, reader, ok
}

// upgradeHeld is upgrade without sending the upgrade response: the caller sends resp
// (writeUpgradeResponse) once the connection is in place, so that a client that sees its socket open
// is already reachable.
func (g *Gateway) upgradeHeld(w http.ResponseWriter, r *http.Request, subprotocol string) (net.Conn, *prefixedConn, []byte, bool) {
	u := ws.HTTPUpgrader{
		Protocol: func(p string) bool { return subprotocol != "" && p == subprotocol },
		Timeout:  10 * time.Second,
	}
	hw := &heldResponse{ResponseWriter: w}
	nc, rw, _, err := u.Upgrade(r, hw)
	if err != nil {
		g.log.Debug("upgrade failed", "error", err)
		if nc != nil { // hijacked: the error response is held too
			_ = writeUpgradeResponse(nc, hw.resp.Bytes())
			_ = nc.Close()
		}
		return nil, nil, nil, false
	}
	reader := &prefixedConn{Conn: nc}
	if n := rw.Reader.Buffered(); n > 0 {
		buffered, _ := rw.Peek(n)
		reader.buffered = append([]byte(nil), buffered...)
	}
	return nc, reader, hw.resp.Bytes(), true
}

// writeUpgradeResponse sends a held upgrade response, bounded by a deadline.
func writeUpgradeResponse(nc net.Conn, resp []byte) bool {
	_ = nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := nc.Write(resp)
	_ = nc.SetWriteDeadline(time.Time{})
	return err == nil
}

// heldResponse is a ResponseWriter whose hijacked connection writes into resp instead of the socket:
// the upgrader writes its response there, to be sent later.
type heldResponse struct {
	http.ResponseWriter
	resp bytes.Buffer
}

// Hijack implements http.Hijacker.
func (h *heldResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	rw.Writer = bufio.NewWriterSize(&h.resp, 512)
	return nc, rw, nil
}

// register makes the connection reachable by ID, user and group.
func (g *Gateway) register(c *Conn, groups []string) {
	g.live.Add(1)
	g.addLive(c.hub)
	g.subscribe(chConn(c.hub.name, c.id))
	c.hub.conns.put(c)
	if c.hasUser {
		c.hub.users.add(c.userID, c)
	}
	for _, group := range groups {
		_ = c.join(group)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
