package shell

import (
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// killGroup kills p, the shell; Windows has no kill of a process group.
func killGroup(p *os.Process) { _ = p.Kill() }

// OwnGroup starts cmd in a process group of its own; when its context
// ends the process is killed and pipes still held by children are closed a
// second later.
func OwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
	cmd.WaitDelay = time.Second
}
