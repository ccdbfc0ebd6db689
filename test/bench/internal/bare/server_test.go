package bare_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/kwps/kwps/test/bench/internal/bare"
	"github.com/kwps/kwps/test/bench/internal/wsclient"
)

// serve runs a bare server on a loopback port for the test.
func serve(t *testing.T, keepalive time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bare.New(keepalive).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "ws://" + ln.Addr().String() + "/"
}

// inbox collects a client's frames.
type inbox chan []byte

func (in inbox) receive(p []byte) { in <- bytes.Clone(p) }

func (in inbox) next(t *testing.T) []byte {
	t.Helper()
	select {
	case p := <-in:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no frame within 5 s")
		return nil
	}
}

func (in inbox) none(t *testing.T) {
	t.Helper()
	select {
	case p := <-in:
		t.Fatalf("unexpected frame %q", p)
	case <-time.After(100 * time.Millisecond):
	}
}

func dial(t *testing.T, url string) (*wsclient.Conn, inbox) {
	t.Helper()
	c, err := wsclient.Dial(t.Context(), url, wsclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	in := make(inbox, 16)
	c.Start(in.receive)
	return c, in
}

func TestEcho(t *testing.T) {
	c, in := dial(t, serve(t, 0))
	if err := c.Write(wsclient.Frame([]byte("Ehello"))); err != nil {
		t.Fatal(err)
	}
	if got := in.next(t); string(got) != "Ehello" {
		t.Errorf("echo %q, want %q", got, "Ehello")
	}
}

func TestBroadcastReachesEveryMemberOnce(t *testing.T) {
	url := serve(t, 0)
	var members []inbox
	for range 3 {
		_, in := dial(t, url+"?g=room&g=other")
		members = append(members, in)
	}
	_, outsider := dial(t, url+"?g=elsewhere")
	sender, senderIn := dial(t, url)
	if err := sender.Write(wsclient.Frame([]byte("Broom\nhi all"))); err != nil {
		t.Fatal(err)
	}
	for i, in := range members {
		if got := in.next(t); string(got) != "hi all" {
			t.Errorf("member %d got %q, want %q", i, got, "hi all")
		}
		in.none(t)
	}
	outsider.none(t)
	senderIn.none(t)
}

func TestLargeFrame(t *testing.T) {
	c, in := dial(t, serve(t, 0))
	big := append([]byte("E"), bytes.Repeat([]byte("z"), 100_000)...) // over the client's read buffer
	if err := c.Write(wsclient.Frame(big)); err != nil {
		t.Fatal(err)
	}
	if got := in.next(t); !bytes.Equal(got, big) {
		t.Errorf("echo of %d bytes came back as %d bytes", len(big), len(got))
	}
}

func TestKeepalivePingsAreAnswered(t *testing.T) {
	c, in := dial(t, serve(t, 20*time.Millisecond))
	time.Sleep(100 * time.Millisecond) // several pings, each answered by the client
	if err := c.Write(wsclient.Frame([]byte("Estill here"))); err != nil {
		t.Fatal(err)
	}
	if got := in.next(t); string(got) != "Estill here" {
		t.Errorf("after pings: %q", got)
	}
	if !c.Alive() {
		t.Error("the connection died under keepalive")
	}
}
