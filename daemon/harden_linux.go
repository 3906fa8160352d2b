package daemon

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Harden makes the process hold its secrets closer: not dumpable (no core
// file, no ptrace or /proc/<pid>/mem by other processes of the user), no
// core files at all, and files created private.
func Harden() error {
	unix.Umask(0o077)
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("disabling core files: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	return nil
}
