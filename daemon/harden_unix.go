//go:build unix

package daemon

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Harden makes the process hold its secrets closer: files it creates are
// private and no core file is ever written; on Linux it is also not
// dumpable (no ptrace or /proc/<pid>/mem by other processes of the user).
func Harden() error {
	unix.Umask(0o077)
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("disabling core files: %w", err)
	}
	return notDumpable()
}
