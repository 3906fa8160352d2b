package client

import (
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// startAndWait starts the daemon and polls its socket: Windows cannot
// hand the child a pipe on a known descriptor (no ExtraFiles), so readiness
// is the socket answering, and failure is the process ending first.
func startAndWait(cmd *exec.Cmd, socket string, timeout time.Duration) error {
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot run %s: %w", cmd.Path, startCause(err))
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(timeout)
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		if err := waitListening(socket, time.Now().Add(delay)); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			if err == nil {
				err = errors.New("exit status 0")
			}
			return fmt.Errorf("the daemon exited before listening (%v); run `codecommitd run` to see why", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon did not start within %s", timeout)
		}
	}
}
