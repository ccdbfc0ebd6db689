package system

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kwps/kwps/test/bench/internal/wsclient"
)

// publishID is the command ID of every publish: replies are not awaited, so one ID serves.
const publishID = 1_000_000

// PeerOptions start Centrifuge peer processes.
type PeerOptions struct {
	// Bin is the peer binary (BuildPeer).
	Bin string
	// RedisAddr (host:port) makes the peers one cluster over Centrifuge's Redis broker.
	RedisAddr string
	// CPU pins the processes (taskset -c), LogDir receives their logs.
	CPU, LogDir string
}

// Peer is one or more Centrifuge peer processes.
type Peer struct {
	procs []*Process
	addrs []string
}

var _ System = (*Peer)(nil)

// BuildPeer builds the Centrifuge peer from its source directory (a module of its own) into dir.
func BuildPeer(ctx context.Context, src, dir string) (string, error) {
	bin := filepath.Join(dir, "centrifuge-peer")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %w\n%s", src, err, out)
	}
	return bin, nil
}

// StartPeer starts n peers and waits until each accepts connections.
func StartPeer(ctx context.Context, o PeerOptions, n int) (*Peer, error) {
	pr := &Peer{}
	for i := range n {
		port, err := freePort(ctx)
		if err != nil {
			pr.Stop()
			return nil, err
		}
		addr := "127.0.0.1:" + port
		argv := []string{o.Bin, "-addr", addr}
		if o.RedisAddr != "" {
			argv = append(argv, "-redis", o.RedisAddr)
		}
		p, err := Start(ctx, Launch{Name: "centrifuge-" + strconv.Itoa(i), Argv: argv, CPU: o.CPU, LogDir: o.LogDir})
		if err != nil {
			pr.Stop()
			return nil, err
		}
		pr.procs = append(pr.procs, p)
		pr.addrs = append(pr.addrs, addr)
		err = waitReady(ctx, readyTimeout, func(ctx context.Context) error {
			if !p.Alive() {
				return p.failure("exited")
			}
			d := net.Dialer{Timeout: time.Second}
			c, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err != nil {
			pr.Stop()
			return nil, err
		}
	}
	return pr, nil
}

// Name implements System.
func (pr *Peer) Name() string { return NamePeer }

// Processes implements System.
func (pr *Peer) Processes() []*Process { return pr.procs }

// Stop implements System.
func (pr *Peer) Stop() { stopAll(pr.procs) }

// Dial implements System: Centrifuge's JSON protocol, connect then one subscribe per group, each
// awaiting its reply.
func (pr *Peer) Dial(ctx context.Context, node int, m Member, onFrame func([]byte)) (*wsclient.Conn, error) {
	u := "ws://" + pr.addrs[node%len(pr.addrs)] + "/connection/websocket"
	c, err := wsclient.Dial(ctx, u, wsclient.Options{ReceiveBuffer: receiveBufferFor(onFrame)})
	if err != nil {
		return nil, err
	}
	cmds := []string{`{"id":1,"connect":{}}`}
	for i, g := range m.Groups {
		cmds = append(cmds, fmt.Sprintf(`{"id":%d,"subscribe":{"channel":%q}}`, i+2, g))
	}
	for i, cmd := range cmds {
		if err := pr.command(c, i+1, cmd); err != nil {
			c.Close()
			return nil, err
		}
	}
	if onFrame != nil {
		c.Start(func(p []byte) {
			answerPing(c, p)
			onFrame(p)
		})
	}
	return c, nil
}

// command sends cmd and waits for the reply with its id.
func (pr *Peer) command(c *wsclient.Conn, id int, cmd string) error {
	if err := c.Write(wsclient.Frame([]byte(cmd))); err != nil {
		return err
	}
	want := []byte(`"id":` + strconv.Itoa(id) + `,`)
	return awaitFrame(c, connectedTimeout, func(p []byte) (bool, error) {
		if !bytes.Contains(p, want) {
			return false, nil
		}
		if bytes.Contains(p, []byte(`"error"`)) {
			return false, fmt.Errorf("centrifuge refused %s: %.200s", cmd, p)
		}
		return true, nil
	})
}

var (
	pingFrame = []byte("{}")
	pongFrame = wsclient.Frame([]byte("{}"))
)

// answerPing answers the server's ping, an empty command ({}), which may share a frame with pushes
// (one JSON value per line).
func answerPing(c *wsclient.Conn, p []byte) {
	if bytes.HasPrefix(p, pingFrame) && (len(p) == 2 || p[2] == '\n') || bytes.Contains(p, []byte("\n{}")) {
		_ = c.Write(pongFrame)
	}
}

// Publish implements System: a publish command with the payload as a JSON string.
func (pr *Peer) Publish(group string, payload []byte) *wsclient.Template {
	prefix := fmt.Sprintf(`{"id":%d,"publish":{"channel":%q,"data":"`, publishID, group)
	return wsclient.NewTemplate([]byte(prefix), payload, []byte(`"}}`))
}
