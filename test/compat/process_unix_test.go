//go:build unix

package compat

import (
	"os/exec"
	"syscall"
	"time"
)

// ownProcessGroup puts node in a process group of its own, which the kwps and express processes it
// starts join, so that a timeout or a crash of node cannot leave them running.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
}

// killProcessGroup kills what is left of node's process group after node exited.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
