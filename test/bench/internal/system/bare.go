package system

import (
	"context"
	"net/url"
	"strings"

	"github.com/kwps/kwps/test/bench/internal/wsclient"
)

// BareListening is the line the bare server prints with its address once it accepts connections.
const BareListening = "LISTENING "

// BareOptions start the bare baseline server.
type BareOptions struct {
	// Argv runs the bare server (the benchmark re-executing itself); "-addr 127.0.0.1:0" is appended.
	Argv []string
	// CPU pins the process (taskset -c), LogDir receives its log.
	CPU, LogDir string
}

// Bare is the bare baseline server (package bare) in a process of its own.
type Bare struct {
	proc *Process
	addr string
}

var _ System = (*Bare)(nil)

// StartBare starts the bare server and waits until it listens.
func StartBare(ctx context.Context, o BareOptions) (*Bare, error) {
	argv := append(append([]string(nil), o.Argv...), "-addr", "127.0.0.1:0")
	p, err := Start(ctx, Launch{Name: "bare", Argv: argv, CPU: o.CPU, LogDir: o.LogDir})
	if err != nil {
		return nil, err
	}
	addr, err := p.WaitLine(BareListening, readyTimeout)
	if err != nil {
		p.Stop()
		return nil, err
	}
	return &Bare{proc: p, addr: strings.TrimSpace(addr)}, nil
}

// Name implements System.
func (b *Bare) Name() string { return NameBare }

// Processes implements System.
func (b *Bare) Processes() []*Process { return []*Process{b.proc} }

// Stop implements System.
func (b *Bare) Stop() { b.proc.Stop() }

// Dial implements System: groups go in the query.
func (b *Bare) Dial(ctx context.Context, _ int, m Member, onFrame func([]byte)) (*wsclient.Conn, error) {
	u := "ws://" + b.addr + "/"
	if len(m.Groups) > 0 {
		u += "?" + url.Values{"g": m.Groups}.Encode()
	}
	c, err := wsclient.Dial(ctx, u, wsclient.Options{ReceiveBuffer: receiveBufferFor(onFrame)})
	if err != nil {
		return nil, err
	}
	if onFrame != nil {
		c.Start(onFrame)
	}
	return c, nil
}

// Publish implements System: the broadcast command.
func (b *Bare) Publish(group string, payload []byte) *wsclient.Template {
	return wsclient.NewTemplate([]byte("B"+group+"\n"), payload, nil)
}

// Echo returns the echo command: the server sends the frame back.
func (b *Bare) Echo(payload []byte) *wsclient.Template {
	return wsclient.NewTemplate([]byte("E"), payload, nil)
}
