//go:build unix

package client

import (
	"os/exec"
	"syscall"
)

// detach puts the daemon in its own session, so it outlives git and
// ignores the terminal's signals.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
