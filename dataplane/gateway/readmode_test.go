package gateway

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// TestReaderModes runs the reader's essentials both ways: polled (idle connections have no goroutine)
// and with a reader goroutine per connection (TLS sockets, and platforms without epoll).
func TestReaderModes(t *testing.T) {
	for _, mode := range []struct {
		name     string
		noPoller bool
	}{{"polled", false}, {"goroutine", true}} {
		t.Run(mode.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.NoPoller = mode.noPoller })
			eventually(t, "gateway running", func() bool { return mode.noPoller || e.gw.poller.Load() != nil })
			c := e.dialJSON("chat", "u", nil, []string{"g"})
			if polled := e.gw.conn("chat", c.id).cur.Load().polled; polled == mode.noPoller {
				t.Fatalf("polled = %v in mode %s", polled, mode.name)
			}
			// Several messages in one write, and a message in fragments written apart.
			ping := ws.MaskFrame(ws.NewTextFrame([]byte(`{"type":"ping"}`)))
			var batch bytes.Buffer
			for range 3 {
				_ = ws.WriteFrame(&batch, ping)
			}
			if _, err := c.conn.Write(batch.Bytes()); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if m := c.readJSON(); m["type"] != "pong" {
					t.Fatalf("got %v", m)
				}
			}
			msg := []byte(`{"type":"ping"}`)
			_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpText, false, msg[:5])))
			if m, _, err := c.tryRead(100e6); err == nil {
				t.Fatalf("answered half a message: %s", m)
			}
			_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, msg[5:])))
			if m := c.readJSON(); m["type"] != "pong" {
				t.Fatalf("got %v", m)
			}
			// A server push reaches it, and a server close ends it.
			_ = e.gw.SendToGroup(t.Context(), "chat", "g", text("hi"), SendOptions{})
			if m := c.readJSON(); m["data"] != "hi" {
				t.Fatalf("got %v", m)
			}
			_ = e.gw.CloseConnection(t.Context(), "chat", c.id, "bye")
			c.readJSON() // disconnected
			if code, reason := c.expectClose(); code != ws.StatusNormalClosure || reason != "bye" {
				t.Fatalf("close %d %q", code, reason)
			}
			eventually(t, "gone", func() bool { return e.gw.Connections("chat") == 0 })
			// An idle connection whose peer vanishes is torn down.
			d := e.dialJSON("chat", "v", nil, nil)
			_ = d.conn.Close()
			eventually(t, "vanished peer removed", func() bool { return e.gw.Connections("chat") == 0 })
		})
	}
}
