//go:build unix

package sockpath

import (
	"os"
	"syscall"
)

// ownDir reports whether d is a directory owned by this user.
func ownDir(d string) bool {
	fi, err := os.Stat(d)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
