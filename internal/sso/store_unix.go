//go:build unix

package sso

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// dirPolicy refuses a cache folder that is another user's, or that users
// other than its owner may write to.
func dirPolicy(dir string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case ok && int(st.Uid) != os.Getuid():
		return &problem{what: fmt.Sprintf("%s belongs to uid %d, not to this user (uid %d), so its files may not be yours; use your own ~/.aws", dir, st.Uid, os.Getuid())}
	case fi.Mode().Perm()&0o022 != 0:
		return &problem{what: fmt.Sprintf("%s may be written by other users (mode %v), who could put a token file there; make it yours alone: chmod go-w %s", dir, fi.Mode().Perm(), dir)}
	}
	return nil
}

// openNoFollow opens path without following a symlink there and without
// blocking on a FIFO, and checks what it opened: a regular file of this
// user's. A missing file gives the fs.ErrNotExist error.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, &problem{what: "it is a symbolic link, which codecommitd does not follow here", err: err}
		}
		return nil, &problem{what: "it cannot be opened (" + errnoText(err) + ")", err: err}
	}
	fi, err := f.Stat()
	if err == nil {
		err = filePolicy(fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func filePolicy(fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return &problem{what: "it is not a regular file (mode " + fi.Mode().String() + ")"}
	case ok && int(st.Uid) != os.Getuid():
		return &problem{what: fmt.Sprintf("it belongs to uid %d, not to this user (uid %d)", st.Uid, os.Getuid())}
	}
	return nil
}

var errLocked = errors.New("locked by another process")

func tryLock(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

// unlockFile lets go of the lock; closing the file would too.
func unlockFile(f *os.File) { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: the rename is done either way
		d.Close()
	}
}
