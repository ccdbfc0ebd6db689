//go:build !linux

package system

import "syscall"

// dieWithParent has no portable equivalent outside Linux: Stop must run.
func dieWithParent() *syscall.SysProcAttr { return nil }
