//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/codecommitd/codecommitd/internal/privdir"
)

// listenPrivate listens on path with a umask that makes the socket 0600.
func listenPrivate(path string) (net.Listener, error) {
	old := unix.Umask(0o177)
	l, err := net.Listen("unix", path)
	unix.Umask(old)
	return l, err
}

// lockFile takes an exclusive lock on path for the life of the process and
// writes our pid into it; a second daemon gets ErrAlreadyRunning with the
// holder's pid. The file is opened as privdir opens every file another user
// could have placed (no symlink followed, no blocking, a regular 0600 file
// of ours); after locking, the path must still name the file locked (a
// stopping daemon removes it), else the lock is taken again.
func lockFile(path string) (*os.File, error) {
	for range 10 {
		f, err := privdir.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		var fe *privdir.FileError
		switch {
		case errors.As(err, &fe):
			return nil, fmt.Errorf("lock file %w; %s", fe, fe.Fix("--socket"))
		case err != nil:
			return nil, fmt.Errorf("opening lock file %s: %w", path, err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				pid := strings.TrimSpace(string(b[:n]))
				return nil, fmt.Errorf("%w (pid %s holds %s)", ErrAlreadyRunning, pid, path)
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if now, err := os.Lstat(path); err != nil || !os.SameFile(fi, now) {
			f.Close() // removed or replaced by a daemon that was stopping
			continue
		}
		// The pid is only for the message a second daemon prints.
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		return f, nil
	}
	return nil, fmt.Errorf("%s keeps changing under codecommitd; is something removing it?", path)
}

// unlock removes the lock file if it is still the one f holds, then
// releases the lock.
func unlock(f *os.File) {
	held, err := f.Stat()
	if now, lerr := os.Lstat(f.Name()); err == nil && lerr == nil && os.SameFile(held, now) {
		os.Remove(f.Name())
	}
	f.Close()
}
