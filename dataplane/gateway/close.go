package gateway

import (
	"errors"
	"net"

	"github.com/gobwas/ws"
)

// Close categories, as Azure's connection-close metric names them.
const (
	CategoryNormal              = "Normal"
	CategoryThrottled           = "Throttled"
	CategoryPingTimeout         = "PingTimeout"
	CategoryNotAllowed          = "NotAllowed"
	CategoryInternalServerError = "InternalServerError"
	CategoryUserError           = "UserError"
)

// closeCause is why a connection ends: the close frame's status and reason (which the client sees,
// and the upstream disconnected event carries) and the metric category.
type closeCause struct {
	code     ws.StatusCode
	reason   string
	category string
}

// statusServiceRestart (1012) tells clients the server is restarting and a reconnect will work.
const statusServiceRestart ws.StatusCode = 1012

var (
	closeClientClosed = closeCause{ws.StatusNormalClosure, "The client closed the connection.", CategoryNormal}
	closeSocketLost   = closeCause{ws.StatusAbnormalClosure, "The connection was lost.", CategoryNormal}
	closeSlowConsumer = closeCause{ws.StatusPolicyViolation, "The client is too slow to receive messages.", CategoryThrottled}
	closePingTimeout  = closeCause{ws.StatusGoingAway, "The client did not answer keepalive pings.", CategoryPingTimeout}
	closeTooBig       = closeCause{ws.StatusMessageTooBig, "The message is larger than 1 MB.", CategoryUserError}
	closeShutdown     = closeCause{statusServiceRestart, "The service is restarting; reconnect.", CategoryNormal}
)

func protocolError(reason string) closeCause {
	return closeCause{ws.StatusProtocolError, reason, CategoryUserError}
}

func invalidMessage(reason string) closeCause {
	return closeCause{ws.StatusInvalidFramePayloadData, reason, CategoryUserError}
}

func serverClose(reason string) closeCause {
	return closeCause{ws.StatusNormalClosure, reason, CategoryNormal}
}

func asNetError(err error, target *net.Error) bool { return errors.As(err, target) }
