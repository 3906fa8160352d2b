//go:build unix

package privdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Check reports whether dir, if it exists, is a real directory
// owned by this user and closed to everyone else, so that whatever listens
// in it was put there by this user. A missing dir is fine (ErrNotExist is
// returned wrapped, for callers who care).
func Check(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory (a symlink?); refusing to use it: set %s to a path of yours", dir, "CODECOMMITD_SOCKET")
	case ok && int(st.Uid) != os.Getuid():
		return fmt.Errorf("%s belongs to uid %d, not to you (uid %d), so another user may be listening there; refusing to use it: set %s or XDG_RUNTIME_DIR", dir, st.Uid, os.Getuid(), "CODECOMMITD_SOCKET")
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s is open to other users (mode %v); refusing to use it: chmod 700 %s", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// IsNotExist reports whether err says the directory does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
