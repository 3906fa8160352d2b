package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/peercred"
)

// statusTimeout bounds how long a command waits for the daemon to answer.
const statusTimeout = 5 * time.Second

// stopTimeout bounds how long stop waits for the daemon to exit.
const stopTimeout = 15 * time.Second

// daemonStatus asks the daemon on socket for its status, at most
// statusTimeout. A daemon that accepts the connection but does not answer
// is a *hungError.
func daemonStatus(ctx context.Context, socket string) (*broker.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	c, err := client.Dial(socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		pid, _ := listenerPID(socket)
		return nil, &hungError{socket: socket, pid: pid}
	}
	return st, err
}

// notRunning reports whether err says that no daemon listens on the
// socket, rather than that one cannot be trusted or does not answer.
func notRunning(err error) bool {
	var h *hungError
	return errors.Is(err, broker.ErrUnavailable) && !errors.Is(err, broker.ErrUntrustedDaemon) && !errors.As(err, &h)
}

// hungError is a daemon that accepts connections but does not answer.
type hungError struct {
	socket string
	pid    int // 0 when the kernel did not say
}

func (e *hungError) Error() string {
	if e.pid == 0 {
		return fmt.Sprintf("a process listens on %s but does not answer within %s; it may be stuck: find it with ps and stop it with kill", e.socket, statusTimeout)
	}
	return fmt.Sprintf("the daemon on %s (pid %d) does not answer within %s; it may be stuck: codecommitd restart, or kill %d", e.socket, e.pid, statusTimeout, e.pid)
}

// listenerPID is the process that listens on socket, as the kernel says
// (not as the daemon reports: in another pid namespace, a container, its
// own pid means something else here). It must run as this user.
func listenerPID(socket string) (int, error) {
	conn, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0, errors.New("not a socket")
	}
	peer, err := peercred.Of(sc)
	if err := peercred.Check(peercred.Current(), peer, err); err != nil {
		return 0, err
	}
	if peer.PID <= 0 {
		return 0, errors.New("the kernel does not say which process listens")
	}
	return peer.PID, nil
}

// stopDaemon stops the daemon on socket, whoever started it: it asks the
// process the kernel says listens there to stop (SIGTERM; on Windows it is
// killed, which the cache survives) and waits until that process is gone,
// the cache closed and the lock released, so a daemon started next finds
// everything free. It returns the pid stopped, or 0 when no daemon runs.
// A daemon that does not answer is stopped all the same.
func stopDaemon(ctx context.Context, socket string) (int, error) {
	_, err := daemonStatus(ctx, socket)
	var h *hungError
	switch {
	case errors.As(err, &h):
	case notRunning(err):
		return 0, nil
	case err != nil:
		return 0, err
	}
	pid, err := listenerPID(socket)
	if err != nil {
		if notRunning(err) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrNotExist) {
			return 0, nil // it stopped meanwhile
		}
		return 0, fmt.Errorf("cannot tell which process listens on %s (%w); stop it with kill <pid>", socket, err)
	}
	lock, _ := os.Lstat(daemon.LockPath(socket))
	if err := terminate(pid); err != nil {
		return pid, fmt.Errorf("the daemon on %s (pid %d) cannot be stopped (%w); stop it with kill %d", socket, pid, err, pid)
	}
	for deadline := time.Now().Add(stopTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if exited(pid) {
			return pid, nil
		}
	}
	// Removing the lock file is the daemon's last act before it exits;
	// where exited cannot tell a zombie nobody reaps (no /proc), that is
	// as good as gone.
	if released(lock, daemon.LockPath(socket)) {
		return pid, nil
	}
	return pid, fmt.Errorf("the daemon on %s (pid %d) did not stop within %s; stop it with kill -9 %d", socket, pid, stopTimeout, pid)
}

// released reports whether the lock file that was held (held: as it was
// before the stop) is gone or replaced: the daemon's last act.
func released(held os.FileInfo, path string) bool {
	if held == nil {
		return false
	}
	now, err := os.Lstat(path)
	return err != nil || !os.SameFile(held, now)
}
