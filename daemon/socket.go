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

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/privdir"
	"github.com/codecommitd/codecommitd/internal/sockpath"
)

// ErrAlreadyRunning is returned by Run when a live daemon answers on the
// socket or holds its lock.
var ErrAlreadyRunning = errors.New("a daemon is already running")

// heldError is the instance lock held by another daemon: pid, as its lock
// file says, and whether it says it is starting (it holds the lock, and
// listens once its parts are built).
type heldError struct {
	path, pid string
	starting  bool
}

func (e *heldError) Error() string {
	if e.starting {
		return fmt.Sprintf("%v (pid %s holds %s and is starting)", ErrAlreadyRunning, e.pid, e.path)
	}
	return fmt.Sprintf("%v (pid %s holds %s)", ErrAlreadyRunning, e.pid, e.path)
}

func (e *heldError) Unwrap() error { return ErrAlreadyRunning }

// starting reports whether err is the lock of a daemon that is starting.
func starting(err error) bool {
	var h *heldError
	return errors.As(err, &h) && h.starting
}

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

// instance is the socket's instance lock, held for the life of the daemon:
// taken before anything else (so a second daemon fails on it at once,
// rather than wait for the cache), and released last, once the daemon is
// done with everything it holds, the cache included. Its lock file says
// "starting" until the daemon listens.
type instance struct {
	path    string // the socket's
	lock    *os.File
	release func()
}

// claim takes the instance lock of the daemon on path: it makes the
// private directory, takes the lock and refuses if a live daemon answers.
// A daemon that holds the lock and does not answer is either starting
// (refused at once: it listens soon) or finishing its shutdown (it closes
// the socket first, the cache last): that one is waited for, at most
// stoppingWait, rather than leave the caller without a daemon.
func claim(path string) (*instance, error) {
	if err := sockpath.Check(path); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := privdir.Refusal(privdir.Ensure(dir), "put the socket", "--socket or "+envvar.Socket); err != nil {
		return nil, err
	}
	lock, err := lockFile(LockPath(path))
	for deadline := time.Now().Add(stoppingWait); errors.Is(err, ErrAlreadyRunning) && !starting(err) && !answers(path) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		lock, err = lockFile(LockPath(path))
	}
	if err != nil {
		return nil, err
	}
	if answers(path) {
		unlock(lock) // a daemon that refuses to start leaves no lock file
		return nil, fmt.Errorf("%w on %s; stop it first (codecommitd stop)", ErrAlreadyRunning, path)
	}
	note(lock, "starting")
	return &instance{path: path, lock: lock, release: sync.OnceFunc(func() { unlock(lock) })}, nil
}

// socket is a listening Unix socket of an instance. The gRPC server closes
// it when it starts to drain (Close: the socket file goes, so no new
// request comes); the instance's lock is released only when the daemon is
// done with everything it holds (instance.release). Both remove only what
// is still theirs, so a stopping daemon never takes away the socket or the
// lock of the daemon that follows it.
type socket struct {
	net.Listener
	in        *instance
	file      fs.FileInfo // the socket file as created, to know it is still ours
	closeOnce sync.Once
	closeErr  error
}

// listen removes a stale socket file and listens with a socket that is
// 0600 from birth (created under a temporary name in the 0700 directory,
// then renamed); the lock file no longer says "starting".
func (in *instance) listen() (*socket, error) {
	path := in.path
	switch fi, err := os.Lstat(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case fi.Mode()&fs.ModeSocket == 0:
		return nil, sockpath.NotASocket(path, fi.Mode())
	default:
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale socket: %w", err)
		}
	}
	// The temporary name is short: it must fit where the path does.
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%d.sock", os.Getpid()))
	if len(tmp) > sockpath.MaxLen {
		return nil, fmt.Errorf("socket path %s leaves no room for the name the daemon binds first (%s, %d bytes; the limit here is %d): choose a shorter path with --socket or %s", path, tmp, len(tmp), sockpath.MaxLen, envvar.Socket)
	}
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
	note(in.lock, "")
	return &socket{Listener: l, in: in, file: fi}, nil
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
		if now, lerr := os.Lstat(s.in.path); lerr == nil && os.SameFile(now, s.file) {
			if rerr := os.Remove(s.in.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
				err = rerr
			}
		}
		s.closeErr = err
	})
	return s.closeErr
}
