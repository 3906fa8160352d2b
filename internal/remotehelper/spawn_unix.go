//go:build unix

package remotehelper

import (
	"io"
	"os"
	"syscall"
)

// spawnAndWait starts argv0 with this process's stdio and waits for it.
// It uses the fork and wait system calls directly: os/exec first probes the
// kernel for pidfd support with a throw-away child, a cost every git
// operation would pay.
func spawnAndWait(argv0 string, argv, env []string) (int, error) {
	pid, err := syscall.ForkExec(argv0, argv, &syscall.ProcAttr{Env: env, Files: []uintptr{0, 1, 2}})
	if err != nil {
		return 0, err
	}
	return wait(pid)
}

// gitOutput runs argv0 with this process's stdin and stderr, and returns
// its stdout and exit status; with fork and wait, as spawnAndWait.
func gitOutput(argv0 string, argv, env []string) ([]byte, int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	pid, err := syscall.ForkExec(argv0, argv, &syscall.ProcAttr{Env: env, Files: []uintptr{0, w.Fd(), 2}})
	w.Close()
	if err != nil {
		return nil, 0, err
	}
	out, readErr := io.ReadAll(io.LimitReader(r, 1<<20))
	_, _ = io.Copy(io.Discard, r) // so that it never blocks on a full pipe
	code, err := wait(pid)
	if err == nil {
		err = readErr
	}
	return out, code, err
}

// wait waits for pid and returns its exit status (128 and the signal for
// one a signal ended).
func wait(pid int) (int, error) {
	var status syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &status, 0, nil)
		if err != syscall.EINTR {
			if err != nil {
				return 0, err
			}
			break
		}
	}
	switch {
	case status.Exited():
		return status.ExitStatus(), nil
	case status.Signaled():
		return 128 + int(status.Signal()), nil
	}
	return 1, nil
}
