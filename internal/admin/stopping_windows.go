package admin

import (
	"os"

	"golang.org/x/sys/windows"
)

// terminate stops process pid (Windows has no SIGTERM for a detached
// process; the cache survives a kill).
func terminate(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	defer p.Release()
	return p.Kill()
}

// kill stops process pid at once: on Windows, what terminate does.
func kill(pid int) error { return terminate(pid) }

// resume does nothing: Windows processes are not stopped by signals.
func resume(int) {}

// stopped reports false: see resume.
func stopped(int) bool { return false }

// exited reports whether process pid is gone.
func exited(pid int) bool {
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return true
	}
	defer windows.CloseHandle(h)
	ev, err := windows.WaitForSingleObject(h, 0)
	return err == nil && ev == windows.WAIT_OBJECT_0
}
