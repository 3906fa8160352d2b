package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/peercred"
	"github.com/codecommitd/codecommitd/internal/sockpath"
)

// statusTimeout bounds how long a command waits for the daemon to answer.
const statusTimeout = 5 * time.Second

// stopGrace is how long stop waits for the daemon to exit after SIGTERM
// before it kills it.
const stopGrace = 15 * time.Second

// killWait is how long stop waits for a killed daemon to be gone.
const killWait = 5 * time.Second

// daemonStatus asks the daemon on socket for its status, at most
// statusTimeout. A socket path that cannot be one is said at once; so is a
// daemon whose process is stopped (Ctrl-Z, kill -STOP, a debugger), which
// could not answer. A daemon that accepts the connection but does not answer
// is a *hungError.
func daemonStatus(ctx context.Context, socket string) (*broker.Status, error) {
	if err := sockpath.Check(socket); err != nil {
		return nil, err
	}
	if pid, err := listenerPID(socket); err == nil && stopped(pid) {
		return nil, &hungError{socket: socket, pid: pid, stopped: true}
	}
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
	socket  string
	pid     int  // 0 when the kernel did not say
	stopped bool // its process is stopped
}

func (e *hungError) Error() string {
	switch {
	case e.stopped:
		return fmt.Sprintf("the daemon on %s (pid %d) is stopped (Ctrl-Z, kill -STOP or a debugger), so it cannot answer: codecommitd restart, or kill -CONT %d", e.socket, e.pid, e.pid)
	case e.pid == 0:
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
// everything free. A stopped process (Ctrl-Z, kill -STOP) is resumed so it
// can stop; one that is still there after grace is killed (SIGKILL). Each
// of these is said in one line on out. It returns the pid stopped, or 0
// when no daemon runs.
func stopDaemon(socket string, grace time.Duration, out io.Writer) (int, error) {
	pid, err := listenerPID(socket)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOENT) {
			return 0, nil // nothing listens, or it stopped meanwhile
		}
		return 0, fmt.Errorf("cannot tell which process listens on %s (%w); stop it with kill <pid>", socket, err)
	}
	lock, _ := os.Lstat(daemon.LockPath(socket))
	if err := terminate(pid); err != nil {
		return pid, fmt.Errorf("the daemon on %s (pid %d) cannot be stopped (%w); stop it with kill %d", socket, pid, err, pid)
	}
	if stopped(pid) {
		resume(pid)
		fmt.Fprintf(out, "codecommitd (pid %d) was stopped (Ctrl-Z, kill -STOP or a debugger); resumed it so it could stop\n", pid)
	}
	if gone(pid, lock, socket, grace) {
		return pid, nil
	}
	if err := kill(pid); err != nil {
		return pid, fmt.Errorf("the daemon on %s (pid %d) did not stop within %s of SIGTERM and cannot be killed (%w); kill -9 %d", socket, pid, grace, err, pid)
	}
	fmt.Fprintf(out, "codecommitd (pid %d) did not stop within %s of SIGTERM; killed it (SIGKILL): requests under way were cut off, the cache file is kept\n", pid, grace)
	if gone(pid, nil, socket, killWait) {
		return pid, nil
	}
	return pid, fmt.Errorf("the daemon on %s (pid %d) is still there %s after SIGKILL; see what holds it with ps -o stat,wchan -p %d", socket, pid, killWait, pid)
}

// gone waits up to d for process pid to exit, and reports whether it did.
// Removing the lock file is the daemon's last act before it exits; where
// exited cannot tell a zombie nobody reaps (no /proc), a released lock (held:
// the lock file as it was before the stop) is as good as gone.
func gone(pid int, held os.FileInfo, socket string, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if exited(pid) {
			return true
		}
	}
	return released(held, daemon.LockPath(socket))
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
