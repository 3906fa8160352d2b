//go:build unix

package client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
)

// startAndWait starts the daemon with a pipe on descriptor 3 and reads its
// verdict: "ready" once it listens, or why it stopped.
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
	r.SetReadDeadline(time.Now().Add(timeout))
	msg, err := io.ReadAll(io.LimitReader(r, 4096))
	line := strings.TrimSpace(string(msg))
	switch {
	case line == "ready":
		return nil
	case strings.Contains(line, "already running"):
		// Another client started it first; it may still be binding.
		return waitListening(socket, time.Now().Add(timeout))
	case line != "":
		return errors.New(line)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("the daemon did not start within %s", timeout)
	}
	return errors.New("the daemon exited before listening")
}
