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
// writes our pid into it (note adds what the daemon is doing); a second
// daemon gets a *heldError with the holder's pid and note. The file is opened as privdir opens every file another user
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
			b := make([]byte, 64)
			n, _ := f.ReadAt(b, 0)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				pid, what, _ := strings.Cut(strings.TrimSpace(string(b[:n])), " ")
				return nil, &heldError{path: path, pid: pid, starting: what == "starting"}
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if now, err := os.Lstat(path); err != nil || !os.SameFile(fi, now) {
			f.Close() // removed or replaced by a daemon that was stopping
			continue
		}
		note(f, "")
		return f, nil
	}
	return nil, fmt.Errorf("%s keeps changing under codecommitd; is something removing it?", path)
}

// note writes our pid into the lock file f, followed by what the daemon is
// doing ("starting"; "" once it listens), for a second daemon to read.
func note(f *os.File, what string) {
	line := strconv.Itoa(os.Getpid())
	if what != "" {
		line += " " + what
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(line+"\n"), 0)
	}
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
