//go:build unix

package privdir

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Check reports whether dir is a real directory (not a symlink) owned by
// this user and closed to everyone else, so that whatever is in it was put
// there by this user. It returns a *NotPrivateError when it is not, and the
// fs.ErrNotExist error of a missing dir.
func Check(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	mode := fi.Mode()
	st, _ := fi.Sys().(*syscall.Stat_t)
	e := &NotPrivateError{Dir: dir, Ours: st == nil || int(st.Uid) == os.Getuid(),
		Shared: mode&fs.ModeSticky != 0 || mode.Perm()&0o002 != 0}
	switch {
	case !fi.IsDir():
		e.Reason = "is not a directory (a symlink or a file)"
	case !e.Ours:
		e.Reason = fmt.Sprintf("belongs to uid %d, not to this user (uid %d): another user may be listening there", st.Uid, os.Getuid())
	case mode.Perm()&0o077 != 0:
		e.Reason = fmt.Sprintf("is open to other users (mode %v)", mode)
	default:
		return nil
	}
	return e
}
