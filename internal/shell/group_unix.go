//go:build unix

package shell

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills p's process group: p and whatever it started that stayed
// in it. Once p is reaped its group's id stays taken while the group has
// members, so this never reaches another group.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }

// OwnGroup makes cmd the leader of a process group of its own and, when
// its context ends, kills the whole group: the shell and everything it
// started, so a hung program leaves nothing running behind. Pipes still held
// by a straggler are closed a second later.
func OwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
}
