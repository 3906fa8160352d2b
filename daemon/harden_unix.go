//go:build unix && !linux

package daemon

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Harden disables core files and makes created files private.
func Harden() error {
	unix.Umask(0o077)
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("disabling core files: %w", err)
	}
	return nil
}
