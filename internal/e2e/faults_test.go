//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/testenv"
)

func cacheFile(e *testenv.Env) string {
	return filepath.Join(e.Dir, "state", "codecommitd", "cache.db")
}

// assertNoCrash fails if any output shows a Go runtime's crash report.
func assertNoCrash(t *testing.T, what, out string) {
	t.Helper()
	for _, bad := range []string{"fatal error", "SIGBUS", "SIGSEGV", "goroutine ", "panic:"} {
		if strings.Contains(out, bad) {
			t.Fatalf("%s shows a crash (%q):\n%s", what, bad, out)
		}
	}
}

// TestDamagedCacheFilesNeverCrash damages a cache file the daemon wrote in
// the ways a full disk, a crash of the machine or a stray tool can, and
// runs the three things that read it: the daemon, the one-shot fallback,
// and forget without a daemon. Each must work, or fail in one clean line,
// and git must work.
func TestDamagedCacheFilesNeverCrash(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	e.StopDaemon()
	golden, err := os.ReadFile(cacheFile(e))
	if err != nil {
		t.Fatal(err)
	}
	page := os.Getpagesize()
	damages := map[string][]byte{}
	for _, cut := range []int{0, 100, page - 1, page, page + 512, 2*page + 1, 3 * page, len(golden)/2 + 7, len(golden) - page, len(golden) - 1} {
		if cut >= 0 && cut < len(golden) {
			damages[fmt.Sprintf("truncated to %d", cut)] = golden[:cut]
		}
	}
	for _, at := range []int{0, page, 2*page + 16, 3*page + 40, len(golden) - page/2} {
		if at+64 <= len(golden) {
			d := append([]byte(nil), golden...)
			copy(d[at:], bytes.Repeat([]byte{0xa5}, 64))
			damages[fmt.Sprintf("scribbled at %d", at)] = d
		}
	}
	for name, data := range damages {
		t.Run(name, func(t *testing.T) {
			reset := func() {
				os.WriteFile(cacheFile(e), data, 0o600)
				files, _ := filepath.Glob(cacheFile(e) + ".unreadable-*")
				for _, f := range files {
					os.Remove(f)
				}
			}
			// The daemon.
			reset()
			if err := e.StartDaemon(ctx(t)); err != nil {
				t.Fatalf("daemon with a damaged cache: %v", err)
			}
			_, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
			assertNoCrash(t, "git through the daemon", stderr+e.DaemonLog())
			if err != nil {
				t.Fatalf("git through the daemon: %v\n%s", err, stderr)
			}
			e.StopDaemon()
			// The one-shot fallback.
			reset()
			e.Extra = []string{"CODECOMMITD_AUTOSTART=0"}
			_, stderr, err = e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
			e.Extra = nil
			assertNoCrash(t, "git through the one-shot fallback", stderr)
			if err != nil {
				t.Fatalf("git through the one-shot fallback: %v\n%s", err, stderr)
			}
			// forget without a daemon.
			reset()
			out, stderr, _ := e.Run(ctx(t), "", "codecommitd", "forget", "--all")
			assertNoCrash(t, "forget", out+stderr)
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Fatalf("forget printed %d lines:\n%s", n+1, stderr)
			}
		})
	}
}

// TestOneCachePerUser switches XDG_RUNTIME_DIR between daemon runs, as su,
// cron and a desktop session do, and runs two daemons of one user at once:
// the cache is never set aside for it, the key is found where the file
// says, and a second daemon serves from memory and says who holds the file.
func TestOneCachePerUser(t *testing.T) {
	e, _ := roleEnv(t)
	runA, runB := filepath.Join(e.Dir, "run"), filepath.Join(e.Dir, "runB")
	env := func(run, socket string) []string {
		return []string{"XDG_RUNTIME_DIR=" + run, "CODECOMMITD_SOCKET=" + socket}
	}
	sockA, sockB := e.Socket, filepath.Join(runB, "d.sock")
	os.MkdirAll(runB, 0o700)

	e.Extra = env(runA, sockA)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")

	// A second daemon of the same user, another runtime folder, while the
	// first runs: it serves from memory and names the one that holds the
	// file.
	e.Extra = env(runB, sockB)
	b, err := e.SpawnDaemon(ctx(t), filepath.Join(e.Dir, "b.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.Process.Signal(syscall.SIGTERM); b.Wait() }()
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	out, _, _ := e.Run(ctx(t), "", "codecommitd", "status", "--json")
	var st struct {
		CacheProblem string `json:"cache_problem"`
	}
	json.Unmarshal([]byte(out), &st)
	if !strings.Contains(st.CacheProblem, "held by another daemon") || !strings.Contains(st.CacheProblem, sockA) {
		t.Errorf("the second daemon's status says %q, want it held by the daemon on %s", st.CacheProblem, sockA)
	}
	b.Process.Signal(syscall.SIGTERM)
	b.Wait()
	e.Extra = env(runA, sockA)
	e.StopDaemon()

	// The same user in another environment (runtime folder B) opens the
	// same cache with the same key: warm, no STS call, nothing set aside.
	calls := e.STS.Calls("AssumeRole")
	e.Extra = env(runB, sockB)
	e.Socket = sockB
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	if n := e.STS.Calls("AssumeRole"); n != calls {
		t.Errorf("AssumeRole calls went from %d to %d after switching the runtime folder: the cache was lost", calls, n)
	}
	e.StopDaemon()

	// Where the key is out of reach (runtime folder A is gone), the
	// daemon keeps credentials in memory and leaves the file alone.
	os.RemoveAll(filepath.Join(runA, "codecommitd"))
	os.Remove(runA)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	if aside, _ := filepath.Glob(cacheFile(e) + ".unreadable-*"); len(aside) != 0 {
		t.Errorf("the cache was set aside: %v", aside)
	}
	if !strings.Contains(e.DaemonLog(), "cannot reach") {
		t.Errorf("the daemon did not say why it keeps credentials in memory:\n%s", e.DaemonLog())
	}
	e.StopDaemon()
	e.Socket = sockA
}

// TestOneShotReadsTheCacheAfterADaemonDied kills the daemon (leaving its
// socket behind) and resolves without one: the credentials it had saved
// are used, without a call to STS.
func TestOneShotReadsTheCacheAfterADaemonDied(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	pid := e.DaemonPID()
	syscall.Kill(pid, syscall.SIGKILL)
	e.StopDaemon() // waits for the lock to be released
	if _, err := os.Stat(e.Socket); err != nil {
		t.Fatalf("the killed daemon's socket is gone (%v); the test needs it stale", err)
	}
	calls := e.STS.Calls("AssumeRole")
	e.Extra = []string{"CODECOMMITD_AUTOSTART=0"}
	_, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if n := e.STS.Calls("AssumeRole"); n != calls {
		t.Errorf("the one-shot fallback called STS (%d → %d) although the cache held valid credentials", calls, n)
	}
}

// mountTmpfs mounts a tmpfs of size at dir for the test, or skips.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a small or read-only file system")
	}
	os.MkdirAll(dir, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// TestCacheFolderReadOnlyOrFull puts the cache folder on a read-only file
// system, then on a full one: the daemon reads what the cache holds, keeps
// new credentials in memory, and says so once.
func TestCacheFolderReadOnlyOrFull(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		// stsCalls is how many more AssumeRole calls the daemon needs.
		stsCalls int
		spoil    func(t *testing.T, dir string)
	}{
		{"read-only", "read-only", 0, func(t *testing.T, dir string) {
			if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
				t.Skipf("cannot remount read-only: %v %s", err, out)
			}
		}},
		{"full before the first start", "no space left", 1, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "cache.db"))
			f, _ := os.Create(filepath.Join(dir, "filler"))
			f.Write(make([]byte, 1<<20)) // fails when the file system is full, as wanted
			f.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := roleEnv(t)
			if err := e.StartDaemon(ctx(t)); err != nil {
				t.Fatal(err)
			}
			git(t, e, "", "ls-remote", "codecommit://dev@repo")
			e.StopDaemon()
			saved, err := os.ReadFile(cacheFile(e))
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Dir(cacheFile(e))
			mountTmpfs(t, dir, "256k")
			os.WriteFile(cacheFile(e), saved, 0o600)
			tc.spoil(t, dir)
			calls := e.STS.Calls("AssumeRole")
			if err := e.StartDaemon(ctx(t)); err != nil {
				t.Fatalf("daemon with a %s cache folder: %v", tc.name, err)
			}
			git(t, e, "", "ls-remote", "codecommit://dev@repo")
			git(t, e, "", "ls-remote", "codecommit://dev@repo")
			if n := e.STS.Calls("AssumeRole"); n != calls+tc.stsCalls {
				t.Errorf("AssumeRole calls %d → %d, want %d more", calls, n, tc.stsCalls)
			}
			out, _, _ := e.Run(ctx(t), "", "codecommitd", "status", "--json")
			var st struct {
				CacheProblem string `json:"cache_problem"`
			}
			json.Unmarshal([]byte(out), &st)
			if !strings.Contains(st.CacheProblem, tc.want) {
				t.Errorf("status cache_problem = %q, want %q", st.CacheProblem, tc.want)
			}
			if n := strings.Count(e.DaemonLog(), "level=WARN"); n != 1 {
				t.Errorf("%d warnings, want the cache's one:\n%s", n, e.DaemonLog())
			}
			e.StopDaemon()
		})
	}
}

// TestShutdownLetsRequestsUnderWayFinish stops the daemon while a cold
// request waits on STS: the request still gets its answer.
func TestShutdownLetsRequestsUnderWayFinish(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	e.STS.SetLatency(time.Second)
	pid := e.DaemonPID()
	var once sync.Once
	e.STS.OnCall(func(action string) {
		if action == "AssumeRole" {
			once.Do(func() { syscall.Kill(pid, syscall.SIGTERM) })
		}
	})
	e.Extra = []string{"CODECOMMITD_AUTOSTART=0"}
	_, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	if err != nil || strings.Contains(stderr, "resolving in this process") {
		t.Fatalf("a request under way at shutdown: %v\n%s", err, stderr)
	}
	if log := e.DaemonLog(); strings.Contains(log, "credential refresh failed") || strings.Contains(log, "level=WARN") {
		t.Errorf("shutdown cut the refresh short or warned:\n%s", log)
	}
}
