package wsclient_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwps/kwps/test/bench/internal/bare"
	"github.com/kwps/kwps/test/bench/internal/latency"
	"github.com/kwps/kwps/test/bench/internal/wsclient"
)

// serve runs a bare server (package bare) on a loopback port for the test.
func serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bare.New(0).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "ws://" + ln.Addr().String() + "/"
}

func TestPoolHealsDroppedConnections(t *testing.T) {
	url := serve(t)
	var dials atomic.Int32
	pool, err := wsclient.Open(t.Context(), 4, 2, func(ctx context.Context, i int) (*wsclient.Conn, error) {
		dials.Add(1)
		c, err := wsclient.Dial(ctx, url+"?g=g"+strconv.Itoa(i), wsclient.Options{})
		if err == nil {
			c.Start(func([]byte) {})
		}
		return c, err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pool.Conn(1).Close()
	pool.Conn(3).Close()
	if alive := pool.Alive(); alive != 2 {
		t.Fatalf("alive %d after closing two of four", alive)
	}
	n, err := pool.Heal(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("Heal = %d, %v; want 2, nil", n, err)
	}
	if alive := pool.Alive(); alive != 4 || dials.Load() != 6 {
		t.Errorf("alive %d after dials %d; want 4 and 6", alive, dials.Load())
	}
}

func TestOpenFailsOnRefusedDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there now
	_, err = wsclient.Open(t.Context(), 3, 3, func(ctx context.Context, _ int) (*wsclient.Conn, error) {
		return wsclient.Dial(ctx, url, wsclient.Options{Timeout: time.Second})
	})
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
}

func TestSendStampsEachFrame(t *testing.T) {
	url := serve(t)
	c, err := wsclient.Dial(t.Context(), url, wsclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type head struct {
		step uint32
		sent int64
	}
	heads := make(chan head, 4)
	c.Start(func(p []byte) {
		latency.Scan(p, func(step uint32, sent int64) { heads <- head{step, sent} })
	})
	p, err := latency.Payload(2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := wsclient.NewTemplate([]byte("E{"), p, []byte("}"))
	before := latency.Now()
	for step := uint32(1); step <= 2; step++ {
		if err := c.Send(tmpl, step); err != nil {
			t.Fatal(err)
		}
	}
	for want := uint32(1); want <= 2; want++ {
		select {
		case h := <-heads:
			if h.step != want || h.sent < before || h.sent > latency.Now() {
				t.Errorf("head %+v: want step %d sent after %d", h, want, before)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the echo did not come back")
		}
	}
}

func TestLargeFrameIsCopiedWhole(t *testing.T) {
	c, err := wsclient.Dial(t.Context(), serve(t), wsclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan []byte, 1)
	c.Start(func(p []byte) { got <- bytes.Clone(p) })
	big := append([]byte("E"), bytes.Repeat([]byte("z"), 100_000)...) // over the read buffer
	if err := c.Write(wsclient.Frame(big)); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if !bytes.Equal(p, big) {
			t.Errorf("echo of %d bytes came back as %d bytes", len(big), len(p))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no echo")
	}
}

func TestDialReportsRejection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "hub not ready", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, err := wsclient.Dial(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/", wsclient.Options{})
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "hub not ready") {
		t.Fatalf("Dial = %v, want an error with the status and the server's reason", err)
	}
}

func TestDialWantsTheOfferedProtocol(t *testing.T) {
	// The bare server selects no subprotocol; a client that needs one must not proceed without it.
	_, err := wsclient.Dial(t.Context(), serve(t), wsclient.Options{Protocols: []string{"json.webpubsub.azure.v1"}})
	if err == nil {
		t.Fatal("dialed without the subprotocol it offered")
	}
}

func BenchmarkSend(b *testing.B) {
	url := ""
	{
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = bare.New(0).Serve(ctx, ln) }()
		url = "ws://" + ln.Addr().String() + "/"
	}
	c, err := wsclient.Dial(context.Background(), url, wsclient.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.Start(func([]byte) {})
	p, _ := latency.Payload(2048)
	tmpl := wsclient.NewTemplate([]byte("Bnobody\n"), p, nil) // a group without members: nothing comes back
	b.ReportAllocs()
	b.SetBytes(2048)
	for b.Loop() {
		if err := c.Send(tmpl, 1); err != nil {
			b.Fatal(err)
		}
	}
}
