package gateway

import (
	"bytes"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/protocol"
)

func TestOversizeMessageCloses1009(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		write func(c *client) error
	}{
		{"one frame over 1 MB", func(c *client) error {
			return wsutil.WriteClientText(c.conn, bytes.Repeat([]byte("a"), 1<<20+1))
		}},
		{"fragments adding up to over 1 MB", func(c *client) error {
			half := bytes.Repeat([]byte("a"), 600<<10)
			if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpText, false, half))); err != nil {
				return err
			}
			return ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, half)))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dialJSON("chat", "u", nil, nil)
			_ = tc.write(c)
			if code, reason := c.expectClose(); code != ws.StatusMessageTooBig || !strings.Contains(reason, "1 MB") {
				t.Fatalf("close %d %q", code, reason)
			}
		})
	}
	// Exactly 1 MB is fine: a fragmented JSON ping padded with whitespace.
	c := e.dialJSON("chat", "u", nil, nil)
	msg := append([]byte(`{"type":"ping"}`), bytes.Repeat([]byte(" "), 1<<20-15)...)
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpText, false, msg[:1000]))); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, msg[1000:]))); err != nil {
		t.Fatal(err)
	}
	if m := c.readJSON(); m["type"] != "pong" {
		t.Fatalf("got %v", m)
	}
}

func TestWrongFramesClose(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		frame ws.Frame
		code  ws.StatusCode
	}{
		{"unmasked", ws.NewTextFrame([]byte(`{"type":"ping"}`)), ws.StatusProtocolError},
		{"continuation first", ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, []byte("x"))), ws.StatusProtocolError},
		{"invalid UTF-8 text", ws.MaskFrame(ws.NewTextFrame([]byte{0xff, 0xfe})), ws.StatusInvalidFramePayloadData},
		{"reserved opcode", ws.MaskFrame(ws.NewFrame(ws.OpCode(3), true, []byte("x"))), ws.StatusProtocolError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dialJSON("chat", "u", nil, nil)
			if err := ws.WriteFrame(c.conn, tc.frame); err != nil {
				t.Fatal(err)
			}
			if code, _ := c.expectClose(); code != tc.code {
				t.Fatalf("close %d, want %d", code, tc.code)
			}
		})
	}
}

// A consumer that stops reading is disconnected; the fan-out to healthy members goes on.
func TestSlowConsumerDisconnectedFanoutContinues(t *testing.T) {
	// The message bound is the one under test: 64 messages of 64 KiB fit the byte bound.
	e := newEnv(t, func(o *Options) {
		o.MaxQueueMessages = 64
		o.MaxQueueBytes = 64 << 20
		o.WriteTimeout = time.Second
	})
	slow := e.dialJSON("chat", "slow", nil, []string{"g"})
	fast := e.dialJSON("chat", "fast", nil, []string{"g"})
	_ = slow // never reads again
	done := make(chan struct{})
	var received atomic.Int64
	go func() {
		defer close(done)
		for received.Load() < 400 {
			if _, _, err := fast.tryRead(10 * time.Second); err != nil {
				return
			}
			received.Add(1)
		}
	}()
	payload := protocol.Payload{Type: protocol.Binary, Data: bytes.Repeat([]byte{7}, 64<<10)}
	// A fan-out that waited on the slow consumer's socket would take at least the write timeout.
	// The sender stays within 32 messages of the fast consumer, which a reader that keeps up does
	// (under -race a burst of 400 could outrun it and make it a slow consumer too).
	var slowest time.Duration
	for i := range 400 {
		for int64(i)-received.Load() > 32 {
			select {
			case <-done:
				t.Fatalf("fast consumer stopped after %d of 400", received.Load())
			case <-time.After(time.Millisecond):
			}
		}
		start := time.Now()
		if err := e.gw.SendToGroup(t.Context(), "chat", "g", payload, SendOptions{}); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(start))
	}
	if slowest >= time.Second {
		t.Fatalf("one fan-out took %v: it waited for the slow consumer", slowest)
	}
	<-done
	if n := received.Load(); n != 400 {
		t.Fatalf("fast consumer received %d of 400", n)
	}
	eventually(t, "slow consumer disconnected", func() bool { return e.gw.Connections("chat") == 1 })
}

func TestKeepalivePingsAndDeadPeers(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.KeepAliveGrace = time.Second })
	h := hubconfig.Default("chat")
	h.KeepAliveSeconds = 1
	e.hubs.Set(h)
	c := e.dialJSON("chat", "u", nil, nil)
	// Read raw frames: a ping arrives within about a second.
	_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		h, err := readFrameHeader(c.r)
		if err != nil {
			t.Fatalf("no ping: %v", err)
		}
		if h.OpCode == ws.OpPing {
			break
		}
	}
	// Never answer: the gateway gives up after 2 intervals + grace.
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	for {
		if _, err := readFrameHeader(c.r); err != nil {
			break
		}
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("dead peer kept for %v", d)
	}
	eventually(t, "dead peer removed", func() bool { return e.gw.Connections("chat") == 0 })
}

func TestClientCloseHandshake(t *testing.T) {
	e := newEnv(t)
	c := e.dialJSON("chat", "u", nil, nil)
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")))); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.expectClose(); code != ws.StatusNormalClosure {
		t.Fatalf("echoed close %d", code)
	}
	eventually(t, "gone", func() bool { return e.gw.Connections("chat") == 0 })
}

// readFrameHeader reads one frame and discards its payload.
func readFrameHeader(r io.Reader) (ws.Header, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return h, err
	}
	_, err = io.CopyN(io.Discard, r, h.Length)
	return h, err
}

// A message bigger than the queue's byte bound (a 1 MB payload is about 1.4 MB as base64 JSON) still
// reaches a connection that keeps up: an empty queue takes any one frame.
func TestLargestMessageFitsTheQueue(t *testing.T) {
	e := newEnv(t)
	c := e.dialJSON("chat", "u", nil, nil)
	big := protocol.Payload{Type: protocol.Binary, Data: bytes.Repeat([]byte{9}, 1<<20)}
	if err := e.gw.SendToConnection(t.Context(), "chat", c.id, big, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if m := c.readJSON(); m["dataType"] != "binary" || len(m["data"].(string)) < 1<<20 {
		t.Fatalf("got %v bytes of %v", len(m["data"].(string)), m["dataType"])
	}
}
