//go:build !unix

package wsclient

import (
	"errors"
	"syscall"
)

func receiveBuffer(int) func(network, address string, c syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error {
		return errors.New("wsclient: ReceiveBuffer needs a unix system")
	}
}
