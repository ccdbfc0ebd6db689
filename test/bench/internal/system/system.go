package system

import (
	"context"
	"net"
	"strconv"

	"github.com/kwps/kwps/test/bench/internal/wsclient"
)

// Names of the systems, as they appear in the results.
const (
	NameKwps = "kwps"
	NamePeer = "centrifuge"
	NameBare = "bare"
)

// Member says what a client is: a user (kwps only) in groups (channels for the peer).
type Member struct {
	User   string
	Groups []string
}

// System is a running system under test, one or more server processes acting as one service.
type System interface {
	// Name is one of NameKwps, NamePeer, NameBare.
	Name() string
	// Processes are the server processes (not Redis).
	Processes() []*Process
	// Dial opens a client on process node%len(Processes()) that is a member of m's groups, and returns
	// it once the server would deliver group messages to it. onFrame receives its data frames; nil
	// leaves the connection unread (a stalled consumer).
	Dial(ctx context.Context, node int, m Member, onFrame func([]byte)) (*wsclient.Conn, error)
	// Publish returns the frame a client sends to deliver payload to every member of group (the
	// sender included when it is one).
	Publish(group string, payload []byte) *wsclient.Template
	// Stop stops the processes.
	Stop()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(ctx context.Context) (string, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}
