package daemon

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHarden runs Harden in a child (it changes the whole process) and
// checks from there that the process is no longer dumpable.
func TestHarden(t *testing.T) {
	if os.Getenv("HARDEN_CHILD") == "1" {
		if err := Harden(); err != nil {
			t.Fatal(err)
		}
		if d, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); d != 0 {
			t.Fatalf("PR_GET_DUMPABLE = %d after Harden", d)
		}
		var lim unix.Rlimit
		unix.Getrlimit(unix.RLIMIT_CORE, &lim)
		if lim.Cur != 0 || lim.Max != 0 {
			t.Fatalf("core limit = %+v", lim)
		}
		if old := unix.Umask(0o022); old != 0o077 {
			t.Fatalf("umask = %o", old)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHarden$", "-test.v")
	cmd.Env = append(os.Environ(), "HARDEN_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
