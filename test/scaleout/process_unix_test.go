//go:build unix

package scaleout

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts kwps in a process group of its own, so that killing the group ends it and
// anything it started, whatever state it is in.
func ownProcessGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killProcessGroup sends SIGKILL to the process group, as `kill -9` would.
func killProcessGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
