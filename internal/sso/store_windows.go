package sso

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// dirPolicy accepts the folder: on Windows it lives in the user's profile,
// whose ACL keeps other users out.
func dirPolicy(string, fs.FileInfo) error { return nil }

// openNoFollow opens path and checks that it is a regular file; Windows
// has no O_NOFOLLOW, and the profile's ACL decides who may put files there.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &problem{what: "it is a symbolic link, which codecommitd does not follow here"}
	}
	f, err := os.OpenFile(path, flag, perm)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, &problem{what: "it cannot be opened (" + errnoText(err) + ")", err: err}
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, &problem{what: "it is not a regular file"}
	}
	return f, nil
}

var errLocked = errors.New("locked by another process")

func tryLock(f *os.File) error {
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, new(windows.Overlapped))
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return errLocked
	}
	return err
}

func unlockFile(f *os.File) {
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
}

// syncDir does nothing: Windows makes a rename durable without it.
func syncDir(string) {}
