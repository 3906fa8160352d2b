package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/broker"
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
// statusTimeout. A socket path that cannot be one is said at once. A daemon
// that accepts the connection but does not answer (stopped with Ctrl-Z, kill
// -STOP or a debugger, or stuck) is a *client.StuckError (wrapped with what
// to do).
func daemonStatus(ctx context.Context, socket string) (*broker.Status, error) {
	st, _, err := askStatus(ctx, socket)
	return st, err
}

// askStatus is daemonStatus, and also returns the process that listens on
// socket as the kernel says (0 when it did not say): not the pid the daemon
// reports, which in another pid namespace (a container) means something
// else here.
func askStatus(ctx context.Context, socket string) (*broker.Status, int, error) {
	if err := sockpath.Check(socket); err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	c, err := client.Dial(socket)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	st, err := c.Status(ctx)
	stuck, ok := errors.AsType[*client.StuckError](err)
	if !ok && errors.Is(err, context.DeadlineExceeded) {
		// It answers health checks, but not this, within statusTimeout.
		stuck, ok = &client.StuckError{Socket: socket, PID: c.PID()}, true
	}
	if ok {
		return nil, stuck.PID, fmt.Errorf("%w; %s", stuck, stuck.Fix())
	}
	return st, c.PID(), err
}

// notRunning reports whether err says that no daemon listens on the
// socket, rather than that one cannot be trusted or does not answer.
func notRunning(err error) bool {
	_, stuck := errors.AsType[*client.StuckError](err)
	return errors.Is(err, broker.ErrUnavailable) && !errors.Is(err, broker.ErrUntrustedDaemon) && !stuck
}

// stopPID stops process pid, which the kernel said listens on socket (0:
// it did not say): it asks it to stop (SIGTERM; on Windows it is killed,
// which the cache survives) and waits until that process is gone, the cache
// closed and the lock released, so a daemon started next finds everything
// free. A stopped process (Ctrl-Z, kill -STOP) is resumed so it can stop;
// one that is still there after grace is killed (SIGKILL). Each of these is
// said in one line on out. It returns pid.
func stopPID(socket string, pid int, grace time.Duration, out io.Writer) (int, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("cannot tell which process listens on %s (the kernel does not say); stop it with kill <pid>", socket)
	}
	lock, _ := os.Lstat(daemon.LockPath(socket))
	if err := terminate(pid); err != nil {
		if exited(pid) {
			return pid, nil // it stopped meanwhile
		}
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
