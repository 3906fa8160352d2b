package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/internal/privdir"
	"github.com/codecommitd/codecommitd/internal/sockpath"
)

// ErrAlreadyRunning is returned by Run when a live daemon answers on the
// socket or holds its lock.
var ErrAlreadyRunning = errors.New("codecommitd is already running")

// LockPath is the instance lock of the daemon on socket. On Unix a daemon
// removes it as the last thing it does.
func LockPath(socket string) string { return socket + ".lock" }

// stoppingWait is how long a daemon waits for one that is stopping to
// release the instance lock.
const stoppingWait = 3 * time.Second

// answers reports whether something accepts connections on path.
func answers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// socket is a listening Unix socket with its instance lock. The gRPC
// server closes it when it starts to drain (Close: the socket file goes, so
// no new request comes); the lock is released only when the daemon is done
// with everything it holds, the cache included (release). Both remove only
// what is still theirs, so a stopping daemon never takes away the socket
// or the lock of the daemon that follows it.
type socket struct {
	net.Listener
	path      string
	file      fs.FileInfo // the socket file as created, to know it is still ours
	lock      *os.File
	closeOnce sync.Once
	closeErr  error
	release   func()
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
	if err := privdir.Refusal(privdir.Ensure(dir), "put the socket", "--socket or CODECOMMITD_SOCKET"); err != nil {
		return nil, err
	}
	lock, err := lockFile(LockPath(path))
	// A daemon that holds the lock but no longer answers is finishing its
	// shutdown (it closes the socket first, the cache last): wait for it
	// rather than leave the caller without a daemon.
	for deadline := time.Now().Add(stoppingWait); errors.Is(err, ErrAlreadyRunning) && !answers(path) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		lock, err = lockFile(LockPath(path))
	}
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			lock.Close()
		}
	}()
	if answers(path) {
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
	fi, err := os.Lstat(path)
	if err != nil {
		l.Close()
		return nil, err
	}
	ok = true
	return &socket{Listener: l, path: path, file: fi, lock: lock, release: sync.OnceFunc(func() { unlock(lock) })}, nil
}

// Close stops listening and removes the socket file if it is still the one
// this daemon created; it keeps the instance lock. Only the first call
// does anything.
func (s *socket) Close() error {
	s.closeOnce.Do(func() {
		err := s.Listener.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		if now, lerr := os.Lstat(s.path); lerr == nil && os.SameFile(now, s.file) {
			if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
				err = rerr
			}
		}
		s.closeErr = err
	})
	return s.closeErr
}

// closeAndRelease closes the socket if it is open, then removes the lock
// file (if still this daemon's) and releases the lock: the last thing a
// daemon does.
func (s *socket) closeAndRelease() error {
	err := s.Close()
	s.release()
	return err
}
