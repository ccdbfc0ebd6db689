//go:build !unix

package scaleout

import "os/exec"

// ownProcessGroup: without Unix process groups the process itself is what gets killed.
func ownProcessGroup(*exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
