//go:build unix

package remotehelper

import (
	"fmt"
	"syscall"
)

// execGit replaces this process with git, so git's remote-helper protocol
// talks to it directly.
func execGit(argv0 string, argv, env []string) error {
	err := syscall.Exec(argv0, argv, env)
	return fmt.Errorf("running %s: %w", argv0, err)
}
