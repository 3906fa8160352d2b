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
	uid, known := owner(fi)
	e := &NotPrivateError{Dir: dir, Ours: !known || uid == os.Getuid(),
		Shared: mode&fs.ModeSticky != 0 || mode.Perm()&0o002 != 0}
	switch {
	case !fi.IsDir():
		e.Reason = "is not a directory (a symlink or a file)"
	case !e.Ours:
		e.Reason = fmt.Sprintf("belongs to uid %d, not to this user (uid %d): another user may be listening there", uid, os.Getuid())
	case mode.Perm()&0o077 != 0:
		e.Reason = fmt.Sprintf("is open to other users (mode %v)", mode)
	default:
		return nil
	}
	return e
}

// owner is the uid that owns the file fi describes.
func owner(fi fs.FileInfo) (uid int, known bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// openFlags keep OpenFile from following a symlink at the path and from
// blocking on a FIFO or a device.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
