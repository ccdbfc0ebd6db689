package gateway

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/protocol"
)

// discardConn is a socket that accepts every write at once, so a benchmark measures the gateway's
// fan-out work (routing, encoding, queueing, the writer) without the kernel's per-write cost, which
// the bench tool measures end to end.
type discardConn struct {
	net.Conn
	frames atomic.Int64
	closed chan struct{}
	once   sync.Once
}

func newDiscardConn() *discardConn { return &discardConn{closed: make(chan struct{})} }

func (d *discardConn) Write(b []byte) (int, error) { d.frames.Add(1); return len(b), nil }

func (d *discardConn) WriteBuffers(v *net.Buffers) (int64, error) { return v.WriteTo(discardWriter{d}) }

func (d *discardConn) Read([]byte) (int, error)         { <-d.closed; return 0, net.ErrClosed }
func (d *discardConn) Close() error                     { d.once.Do(func() { close(d.closed) }); return nil }
func (d *discardConn) SetWriteDeadline(time.Time) error { return nil }
func (d *discardConn) SetReadDeadline(time.Time) error  { return nil }

type discardWriter struct{ d *discardConn }

func (w discardWriter) Write(b []byte) (int, error) { w.d.frames.Add(1); return len(b), nil }

// benchGateway registers n connections of kind in group "g" of hub "bench".
func benchGateway(b *testing.B, n int, kind protocol.Kind) *Gateway {
	b.Helper()
	g := New(Options{Hubs: hubconfig.NewStore(), Verifier: &auth.Verifier{}, MaxQueueMessages: 1 << 20, MaxQueueBytes: 1 << 30})
	h := g.hubFor("bench")
	for i := range n {
		c := &Conn{g: g, hub: h, id: fmt.Sprintf("c%06d", i), kind: kind, perms: &perms{}}
		c.cur.Store(newTransport(c, newDiscardConn(), nil))
		g.register(c, []string{"g"})
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = g.Drain(ctx)
	})
	return g
}

// BenchmarkGroupFanout measures one sendToGroup to a group of n members: ns/op is per message, and
// ns/delivery is the cost per recipient.
func BenchmarkGroupFanout(b *testing.B) {
	payload := protocol.Payload{Type: protocol.Text, Data: make([]byte, 2048)}
	for _, n := range []int{10, 1000, 10000} {
		for _, kind := range []protocol.Kind{protocol.JSON, protocol.JSONReliable, protocol.Raw} {
			b.Run(fmt.Sprintf("members=%d/%s", n, protocolName(kind)), func(b *testing.B) {
				g := benchGateway(b, n, kind)
				b.ReportAllocs()
				for b.Loop() {
					_ = g.SendToGroup(context.Background(), "bench", "g", payload, SendOptions{})
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
			})
		}
	}
}

func protocolName(k protocol.Kind) string {
	if k == protocol.Raw {
		return "raw"
	}
	return k.Name()
}
