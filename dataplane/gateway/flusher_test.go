package gateway

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/protocol"
)

// A consumer that stops reading for a while fills its socket: the flusher's non-blocking write then
// takes part of a frame, and a writer goroutine writes the rest. The consumer still gets every
// message whole and in order, and the writer's deadline does not outlive it: a message sent after
// a quiet spell longer than the write timeout still goes out.
func TestFullSocketLosesNothing(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.MaxQueueBytes = 32 << 20
		o.WriteTimeout = time.Second
	})
	c := e.dial(e.url("chat", e.token("chat", "u", nil, []string{"g"}))) // a simple client in group g
	const n, size = 64, 128 << 10                                        // 8 MiB: more than loopback's socket buffers
	for i := range n {
		payload := protocol.Payload{Type: protocol.Binary, Data: bytes.Repeat([]byte{byte(i)}, size)}
		if err := e.gw.SendToGroup(t.Context(), "chat", "g", payload, SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the socket stays full a while
	for i := range n {
		data, _, err := c.tryRead(10 * time.Second)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := bytes.Repeat([]byte{byte(i)}, size); !bytes.Equal(data, want) {
			t.Fatalf("message %d: %d bytes, first %v; want %d bytes of %d", i, len(data), data[:min(4, len(data))], size, i)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	if err := e.gw.SendToGroup(t.Context(), "chat", "g", protocol.Payload{Type: protocol.Text, Data: []byte("later")}, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if data, _, err := c.tryRead(5 * time.Second); err != nil || string(data) != "later" {
		t.Fatalf("after a quiet spell: %q, %v", data, err)
	}
}

// A client whose socket is open is already in its groups: a send right after the handshake reaches
// it. (The upgrade response is held until the connection is registered; a simple client gets no
// connected message to wait for.)
func TestOpenSocketIsReachable(t *testing.T) {
	e := newEnv(t)
	for i := range 50 {
		group := fmt.Sprintf("g%d", i)
		c := e.dial(e.url("chat", e.token("chat", "u", nil, []string{group})))
		if err := e.gw.SendToGroup(t.Context(), "chat", group, protocol.Payload{Type: protocol.Text, Data: []byte(group)}, SendOptions{}); err != nil {
			t.Fatal(err)
		}
		if data, _, err := c.tryRead(5 * time.Second); err != nil || string(data) != group {
			t.Fatalf("client %d: %q, %v", i, data, err)
		}
		_ = c.conn.Close()
	}
}
