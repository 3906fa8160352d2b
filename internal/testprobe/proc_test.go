//go:build unix

package testprobe

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestDying(t *testing.T) {
	const (
		running = "123 (sleep) R 1 122 0 0 -1 4194560 95 0 1 0"
		exiting = "123 (sleep) R 1 122 0 0 -1 4195340 95 0 1 0" // CI: flags 0x40040c
		zombie  = "123 (a) b) Z) Z 1 122 0 0 -1 4194560 95 0 1 0"
		quiet   = "SigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"
	)
	for _, tc := range []struct {
		name, stat, status string
		want               bool
	}{
		{"running", running, quiet, false},
		{"SIGTERM pending only", running, "SigPnd:\t0000000000000000\nShdPnd:\t0000000000004000\n", false},
		{"SIGKILL pending", running, "SigPnd:\t0000000000000100\nShdPnd:\t0000000000000000\n", true},
		{"SIGKILL pending for the group", running, "SigPnd:\t0000000000000000\nShdPnd:\t0000000000000100\n", true},
		{"exiting", exiting, quiet, true},
		{"zombie with parentheses in its name", zombie, quiet, true},
	} {
		if got := Dying(tc.stat, tc.status); got != tc.want {
			t.Errorf("%s: Dying = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestThisProcessIsNotKilled(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	if ok, why := Killed(os.Getpid()); ok {
		t.Fatalf("Killed says the test process itself is dying:\n%s", why)
	}
}

func TestStopped(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc here")
	}
	if Stopped(os.Getpid()) {
		t.Fatal("Stopped says the running test process is stopped")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	cmd.Process.Signal(syscall.SIGSTOP)
	// SIGSTOP takes effect when the process is next scheduled; a
	// generous deadline, not a sleep, bounds the wait.
	for deadline := time.Now().Add(30 * time.Second); !Stopped(cmd.Process.Pid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a process sent SIGSTOP never showed as stopped")
		}
	}
}
