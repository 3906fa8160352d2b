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

// exited reports whether process pid is gone: no such process, or (Linux)
// a zombie that whoever inherited it has not reaped yet.
func exited(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, state, _ := strings.Cut(string(stat), ") ")
	return strings.HasPrefix(state, "Z")
}
