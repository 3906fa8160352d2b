//go:build unix

package admin

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// terminate asks process pid to stop.
func terminate(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }

// kill ends process pid; a stopped one is resumed, so that it dies now.
func kill(pid int) error {
	err := syscall.Kill(pid, syscall.SIGKILL)
	resume(pid)
	return err
}

// resume continues a stopped process pid, so that a signal sent to it takes
// effect.
func resume(pid int) { _ = syscall.Kill(pid, syscall.SIGCONT) } // it may have exited

// exited reports whether process pid is gone: no such process, or (Linux)
// a zombie that whoever inherited it has not reaped yet.
func exited(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	return procState(pid) == 'Z'
}

// stopped reports whether process pid is stopped (Linux: its state in
// /proc is T, or t under a debugger); false where /proc does not say.
func stopped(pid int) bool {
	s := procState(pid)
	return s == 'T' || s == 't'
}

// procState is the state letter of process pid in /proc/<pid>/stat, or 0.
// The command name before it may hold spaces and parentheses: the state
// follows the last ")".
func procState(pid int) byte {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 >= len(stat) {
		return 0
	}
	return stat[i+2]
}
