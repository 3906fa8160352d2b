package shell

import (
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// killGroup kills p, the shell; Windows has no kill of a process group.
func killGroup(p *os.Process) { _ = p.Kill() }
