//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
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
// holder's pid. The file is opened without following symlinks and must be
// a regular file of ours; after locking, the path must still name the file
// locked (a stopping daemon removes it), else the lock is taken again.
func lockFile(path string) (*os.File, error) {
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("opening lock file %s: %w (if it is a symlink, remove it)", path, err)
		}
		fi, err := f.Stat()
		if err == nil && (!fi.Mode().IsRegular() || checkOwner(fi) != nil) {
			err = fmt.Errorf("%s is not a regular file of yours; remove it", path)
		}
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

func checkOwner(fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("owned by uid %d, not by us (uid %d); choose another --socket", st.Uid, os.Getuid())
	}
	return nil
}
