package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/windows"
)

// listenPrivate listens on path; the directory's ACL (the user's profile)
// keeps other users out.
func listenPrivate(path string) (net.Listener, error) {
	return net.Listen("unix", path)
}

// lockFile takes an exclusive lock on path for the life of the process.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		f.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return nil, fmt.Errorf("%w (%s is locked)", ErrAlreadyRunning, path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// note does nothing: a locked file cannot be read by another process on
// Windows, so a second daemon learns nothing from it.
func note(*os.File, string) {}

// unlock releases the lock; the file stays (Windows cannot remove an open
// file, and removing it after closing would race with a starting daemon).
func unlock(f *os.File) { f.Close() }
