package system

import "syscall"

// dieWithParent makes the kernel kill the child when the benchmark dies.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
