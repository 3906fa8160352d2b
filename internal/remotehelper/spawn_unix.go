//go:build unix

package remotehelper

import (
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
