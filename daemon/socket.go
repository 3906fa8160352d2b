package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/codecommitd/codecommitd/internal/privdir"
	"github.com/codecommitd/codecommitd/internal/sockpath"
)

// ErrAlreadyRunning is returned by Listen when a live daemon answers on the
// socket or holds its lock.
var ErrAlreadyRunning = errors.New("codecommitd is already running")

// socket is a listening Unix socket with its instance lock.
type socket struct {
	net.Listener
	path string
	lock *os.File
}

// listen claims path for this daemon: it makes the private directory,
// takes the instance lock, refuses if a live daemon answers, removes a stale
// socket file, and listens with a socket that is 0600 from birth (created
// under a temporary name in the 0700 directory, then renamed).
func listen(path string) (*socket, error) {
	if err := sockpath.Check(path); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := privdir.Ensure(dir); err != nil {
		var np *privdir.NotPrivateError
		if errors.As(err, &np) {
			return nil, fmt.Errorf("will not put the socket in %s: it %s; %s", dir, np.Reason, np.Fix("--socket or CODECOMMITD_SOCKET"))
		}
		return nil, fmt.Errorf("socket folder: %w", err)
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			lock.Close()
		}
	}()
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("%w: a daemon answers on %s; stop it first (codecommitd stop)", ErrAlreadyRunning, path)
	}
	switch fi, err := os.Lstat(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case fi.Mode()&fs.ModeSocket == 0:
		return nil, fmt.Errorf("%s exists and is not a socket; move it away or choose another --socket", path)
	default:
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale socket: %w", err)
		}
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".codecommitd-%d.sock", os.Getpid()))
	os.Remove(tmp)
	l, err := listenPrivate(tmp)
	if err != nil {
		return nil, err
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, err
	}
	ok = true
	return &socket{Listener: l, path: path, lock: lock}, nil
}

// Close stops listening, removes the socket file and the lock file, and
// releases the lock. The lock file goes while it is still locked, so a
// daemon starting meanwhile sees that the file it locked is no longer the
// lock and takes the new one.
func (s *socket) Close() error {
	err := s.Listener.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil // the gRPC server closed it first
	}
	if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	unlock(s.lock)
	return err
}
