//go:build unix

package client

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// startAndWait starts the daemon with a pipe on descriptor 3 and reads its
// readiness report (package wire): it listens, another daemon holds the
// socket, or why it stopped.
func startAndWait(cmd *exec.Cmd, socket string, timeout time.Duration) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = append(cmd.Env, envvar.ReadyFD+"=3")
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("cannot run %s: %w", cmd.Path, startCause(err))
	}
	cmd.Process.Release()
	report, readErr := readReport(r, timeout)
	outcome, why, err := wire.DecodeReadyReport(report)
	switch {
	case readErr != nil && !errors.Is(readErr, os.ErrDeadlineExceeded):
		return readErr
	case errors.Is(err, wire.ErrNoReport) && errors.Is(readErr, os.ErrDeadlineExceeded):
		return fmt.Errorf("the daemon did not start within %s", timeout)
	case err != nil:
		return err
	case outcome == wire.Ready:
		return nil
	case outcome == wire.AlreadyRunning:
		// Another client started it first; it may still be binding.
		return waitListening(socket, time.Now().Add(timeout))
	}
	return errors.New(cmp.Or(why, "the daemon stopped before listening"))
}

// readReport reads the readiness report from r until the daemon closes its
// end, at most timeout. A pipe that cannot be given a deadline is not read
// at all: the read could wait as long as the daemon runs.
func readReport(r interface {
	io.Reader
	SetReadDeadline(time.Time) error
}, timeout time.Duration) ([]byte, error) {
	if err := r.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, fmt.Errorf("cannot wait for the daemon's readiness report (%w); it may still start: run codecommitd status to see", err)
	}
	return io.ReadAll(io.LimitReader(r, wire.MaxReadyReport))
}
