package shell

import (
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

// OwnGroup starts cmd in a process group of its own; when its context
// ends the process is killed and pipes still held by children are closed a
// second later.
func OwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
	cmd.WaitDelay = time.Second
}
