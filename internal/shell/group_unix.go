//go:build unix

package shell

import (
	"os"
	"syscall"
)

func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills p's process group: p and whatever it started that stayed
// in it. Once p is reaped its group's id stays taken while the group has
// members, so this never reaches another group.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
