//go:build unix

package shell

import (
	"os/exec"
	"syscall"
	"time"
)

// OwnGroup makes cmd the leader of a process group of its own and, when
// its context ends, kills the whole group: the shell and everything it
// started, so a hung program leaves nothing running behind. Pipes still held
// by a straggler are closed a second later.
func OwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
}
