//go:build !linux

package gateway

import (
	"errors"
	"net"
)

// poller is Linux-only; elsewhere every connection has a reader goroutine.
type poller struct{}

func newPoller() (*poller, error)     { return nil, errNoPoller }
func (p *poller) add(*transport) bool { return false }
func (p *poller) remove(*transport)   {}
func (p *poller) run()                {}
func (p *poller) close()              {}
func (t *transport) arm()             {}

// writeNow is not called without a poller (transports have no raw connection).
func (t *transport) writeNow(net.Buffers) (int, error) { return 0, errNoPoller }

var errNoPoller = errors.New("no epoll on this platform")
