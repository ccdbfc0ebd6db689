//go:build !unix

package compat

import (
	"os/exec"
	"time"
)

// ownProcessGroup: without Unix process groups only node itself is killed on a timeout; the test files
// kill the kwps processes they start when they exit.
func ownProcessGroup(cmd *exec.Cmd) { cmd.WaitDelay = 5 * time.Second }

func killProcessGroup(*exec.Cmd) {}
