//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// TestTheOneShotIsHardened is row 11 of issue #17: `codecommitd oneshot`
// holds the same secrets as the daemon, so it hardens itself as the daemon
// does, before it reads its request: no core file, umask 077, and not
// dumpable.
//
// Dumpability shows in /proc: the kernel gives the /proc/<pid> files of a
// process that is not dumpable to root (fs/proc/base.c, task_dump_owner).
// To see that change when the test itself runs as root, the one-shot runs
// as uid 65534. A shell raises the soft core limit to the hard one first,
// so a limit of 0 is the one-shot's doing.
func TestTheOneShotIsHardened(t *testing.T) {
	dir := testprobe.ShortDir(t)
	must(t, os.Chmod(dir, 0o755)) // the one-shot may run as another user
	if os.Getuid() == 0 {
		testprobe.RequireOthersCanEnter(t, dir)
	}
	b, err := os.ReadFile(filepath.Join(bin, "codecommitd"))
	must(t, err)
	exe := filepath.Join(dir, "codecommitd")
	must(t, os.WriteFile(exe, b, 0o755))

	var hard syscall.Rlimit
	must(t, syscall.Getrlimit(syscall.RLIMIT_CORE, &hard))
	if hard.Max == 0 {
		t.Skip("the hard core limit is 0 here: a one-shot that did not disable core files could not be told apart")
	}
	cmd := exec.Command("/bin/sh", "-c", `ulimit -S -c "$(ulimit -H -c)" && exec "$0" oneshot`, exe)
	cmd.Dir, cmd.Env = dir, []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	stdin, err := cmd.StdinPipe() // held open: the one-shot waits for its request
	must(t, err)
	must(t, cmd.Start())
	defer func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	proc := fmt.Sprintf("/proc/%d", cmd.Process.Pid)
	waitUntil(t, "the one-shot becomes non-dumpable (its "+proc+" files root's)", func() bool {
		fi, err := os.Stat(proc + "/status")
		return err == nil && fi.Sys().(*syscall.Stat_t).Uid == 0
	})
	limits, _ := os.ReadFile(proc + "/limits")
	if !regexp.MustCompile(`Max core file size\s+0\s+0`).Match(limits) {
		t.Errorf("the one-shot's core files are not disabled:\n%s", limits)
	}
	status, _ := os.ReadFile(proc + "/status")
	if m := regexp.MustCompile(`Umask:\s+(\d+)`).FindSubmatch(status); m == nil || string(m[1]) != "0077" {
		t.Errorf("the one-shot's umask: %q, want 0077", m)
	}
}
