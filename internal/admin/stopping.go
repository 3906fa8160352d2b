package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/broker"
)

// statusTimeout bounds how long a command waits for the daemon to answer.
const statusTimeout = 5 * time.Second

// stopTimeout bounds how long stop waits for the daemon to exit.
const stopTimeout = 15 * time.Second

// daemonStatus asks the daemon on socket for its status, at most
// statusTimeout. A daemon that accepts the connection but does not answer
// is a *client.StuckError (wrapped with what to do).
func daemonStatus(ctx context.Context, socket string) (*broker.Status, error) {
	st, _, err := askStatus(ctx, socket)
	return st, err
}

// askStatus is daemonStatus, and also returns the process that listens on
// socket as the kernel says (0 when it did not say): not the pid the daemon
// reports, which in another pid namespace (a container) means something
// else here.
func askStatus(ctx context.Context, socket string) (*broker.Status, int, error) {
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

// stopDaemon stops the daemon on socket, whoever started it: it asks the
// process the kernel says listens there to stop (SIGTERM; on Windows it is
// killed, which the cache survives) and waits until that process is gone,
// the cache closed and the lock released, so a daemon started next finds
// everything free. It returns the pid stopped, or 0 when no daemon runs.
// A daemon that does not answer is stopped all the same.
func stopDaemon(ctx context.Context, socket string) (int, error) {
	_, pid, err := askStatus(ctx, socket)
	_, stuck := errors.AsType[*client.StuckError](err)
	switch {
	case stuck:
	case notRunning(err):
		return 0, nil
	case err != nil:
		return 0, err
	}
	if pid <= 0 {
		return 0, fmt.Errorf("cannot tell which process listens on %s (the kernel does not say); stop it with kill <pid>", socket)
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
