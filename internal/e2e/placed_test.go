//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/testenv"
)

// keyPlacements are what may sit where a key file should be, put there by
// the user, an older run, or another user (built as root with uid 65534).
// put makes one at path, in a folder of ours; good is a valid key for the
// placements that need its bytes.
var keyPlacements = []struct {
	name     string
	needRoot bool
	put      func(t *testing.T, path string, good []byte)
	// says is what every message about it says; forKeyFile and
	// forRecorded, when set, replace it for --key-file and for a key a
	// cache records.
	says, forKeyFile, forRecorded string
}{
	{name: "missing", put: func(*testing.T, string, []byte) {}, forRecorded: "which does not exist here"},
	{name: "dangling link", put: func(t *testing.T, p string, _ []byte) { must(t, os.Symlink(p+".nowhere", p)) }, says: "is a symbolic link"},
	{name: "link to another user's file", needRoot: true, put: func(t *testing.T, p string, good []byte) {
		other := filepath.Join(filepath.Dir(filepath.Dir(p)), "other.key")
		must(t, os.WriteFile(other, good, 0o600))
		must(t, os.Chown(other, 65534, 65534))
		must(t, os.Symlink(other, p))
	}, says: "is a symbolic link"},
	{name: "FIFO", put: func(t *testing.T, p string, _ []byte) { must(t, syscall.Mkfifo(p, 0o666)) }, says: "is not a regular file (a FIFO)"},
	{name: "directory", put: func(t *testing.T, p string, _ []byte) { must(t, os.Mkdir(p, 0o700)) }, says: "is a directory"},
	{name: "empty", put: func(t *testing.T, p string, _ []byte) { must(t, os.WriteFile(p, nil, 0o600)) }, says: "not a base64 32-byte key"},
	{name: "wrong length", put: func(t *testing.T, p string, good []byte) { must(t, os.WriteFile(p, good[:20], 0o600)) }, says: "not a base64 32-byte key"},
	{name: "not ours", needRoot: true, put: func(t *testing.T, p string, good []byte) {
		must(t, os.WriteFile(p, good, 0o600))
		must(t, os.Chown(p, 65534, 65534))
	}, says: "belongs to uid 65534"},
	{name: "mode 644", put: func(t *testing.T, p string, good []byte) {
		must(t, os.WriteFile(p, good, 0o600))
		must(t, os.Chmod(p, 0o644))
	}, says: "chmod 600 "},
	{name: "folder 777", put: func(t *testing.T, p string, good []byte) {
		must(t, os.WriteFile(p, good, 0o600))
		must(t, os.Chmod(filepath.Dir(p), 0o777))
	}, forKeyFile: "will not keep the cache key in ", forRecorded: "is open to other users (mode drwxrwxrwx)"},
}

// TestKeyPlacementsNeverStallOrCrash is rows 2 and 3 of issue #17 with the
// real binaries: a cache sealed with a key file, and that key file then in
// each placement. With --key-file, run and forget fail in one line at once;
// with the key only recorded in the cache, run serves from memory and says
// why in status, the one-shot fallback serves, and forget fails in one
// line. Nothing waits on a FIFO, follows a link, or recurses into a crash.
func TestKeyPlacementsNeverStallOrCrash(t *testing.T) {
	e, _ := roleEnv(t)
	keyDir := filepath.Join(e.Dir, "keys", "codecommitd")
	keyFile := filepath.Join(keyDir, "cache.key")
	if err := e.StartDaemon(ctx(t), "--key-file", keyFile); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	e.StopDaemon()
	goodKey, err1 := os.ReadFile(keyFile)
	sealed, err2 := os.ReadFile(cacheFile(e))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for _, pl := range keyPlacements {
		t.Run(pl.name, func(t *testing.T) {
			if pl.needRoot && os.Getuid() != 0 {
				t.Skip("needs root to make a file of another user (uid 65534)")
			}
			reset := func() {
				os.Chmod(keyDir, 0o700)
				must(t, os.RemoveAll(filepath.Dir(keyDir)))
				must(t, os.MkdirAll(keyDir, 0o700))
				pl.put(t, keyFile, goodKey)
				must(t, os.WriteFile(cacheFile(e), sealed, 0o600))
			}
			says := func(forWhat string) string {
				if forWhat != "" {
					return forWhat
				}
				return pl.says
			}

			// run and forget with --key-file: one line, at once.
			if pl.name != "missing" {
				reset()
				_, stderr, err := runBounded(t, e, "codecommitd", "run", "--key-file", keyFile, "--log-file", filepath.Join(e.Dir, "daemon.log"))
				assertOneLineFailure(t, "run --key-file", err, stderr, says(pl.forKeyFile))
				reset()
				_, stderr, err = runBounded(t, e, "codecommitd", "forget", "--all", "--key-file", keyFile)
				assertOneLineFailure(t, "forget --key-file", err, stderr, says(pl.forKeyFile))
			}

			// run with the key only recorded: memory only, said once.
			reset()
			c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := e.StartDaemon(c); err != nil {
				t.Fatalf("the daemon did not start: %v", err)
			}
			git(t, e, "", "ls-remote", "codecommit://dev@repo")
			out, _, _ := e.Run(ctx(t), "", "codecommitd", "status", "--json")
			var st struct {
				CacheProblem string `json:"cache_problem"`
			}
			json.Unmarshal([]byte(out), &st)
			if !strings.Contains(st.CacheProblem, says(pl.forRecorded)) {
				t.Errorf("status cache_problem = %q, want it to say %q", st.CacheProblem, says(pl.forRecorded))
			}
			e.StopDaemon()
			log := e.DaemonLog()
			assertNoCrash(t, "the daemon's log", log)
			if n := strings.Count(log, "no credential cache"); n != 1 {
				t.Errorf("the daemon said %d times why it has no cache, want once:\n%s", n, log)
			}
			os.Remove(filepath.Join(e.Dir, "daemon.log"))

			// The one-shot fallback, no daemon: served.
			e.Extra = []string{"CODECOMMITD_AUTOSTART=0"}
			_, stderr, err := runBounded(t, e, "git", "ls-remote", "codecommit://dev@repo")
			e.Extra = nil
			if err != nil || !strings.Contains(stderr, "resolving in this process") {
				t.Errorf("git through the one-shot: %v\n%s", err, stderr)
			}
			assertNoCrash(t, "git through the one-shot", stderr)

			// forget without a daemon: the cache cannot be used here.
			_, stderr, err = runBounded(t, e, "codecommitd", "forget", "--all")
			assertOneLineFailure(t, "forget", err, stderr, says(pl.forRecorded))
		})
	}
}

// TestASquattedKeyFolderCostsNothing is row 2 of issue #17 as reproduced:
// the cache recorded its key in a runtime folder of an environment without
// XDG_RUNTIME_DIR (here tmprun/codecommitd); that folder was emptied, and
// another user made it again (0755, theirs) with a FIFO (0666) as
// cache.key. Every git operation of the victim, with the daemon started
// on demand and with the one-shot fallback, works at once, and the daemon
// started on demand stops on SIGTERM.
func TestASquattedKeyFolderCostsNothing(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make a folder of another user (uid 65534)")
	}
	e, _ := roleEnv(t)
	tmpRun := filepath.Join(e.Dir, "tmprun")
	e.Extra = []string{"XDG_RUNTIME_DIR=" + tmpRun}
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	e.StopDaemon()
	squatted := filepath.Join(tmpRun, "codecommitd")
	if _, err := os.Stat(filepath.Join(squatted, "cache.key")); err != nil {
		t.Fatalf("the key was not where the test expects it: %v", err)
	}
	squat(t, squatted)

	for _, extra := range [][]string{nil, {"CODECOMMITD_AUTOSTART=0"}} {
		e.Extra = extra
		for range 2 {
			start := time.Now()
			_, stderr, err := runBounded(t, e, "git", "ls-remote", "codecommit://dev@repo")
			if err != nil {
				t.Fatalf("git with %v: %v\n%s", extra, err, stderr)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("git with %v took %v", extra, d)
			}
		}
		if extra == nil {
			pid := e.DaemonPID()
			if pid == 0 {
				t.Fatal("no daemon was started on demand")
			}
			out, _, _ := e.Run(ctx(t), "", "codecommitd", "status", "--json")
			if !strings.Contains(out, "belongs to uid 65534") {
				t.Errorf("status does not say why the cache is not used:\n%s", out)
			}
			syscall.Kill(pid, syscall.SIGTERM)
			waitUntil(t, "the daemon started on demand stops on SIGTERM", func() bool { return !alive(pid) })
		}
	}
}

// squat makes dir what another user (uid 65534) would: their folder, 0755,
// with a FIFO open to all as cache.key.
func squat(t *testing.T, dir string) {
	t.Helper()
	must(t, os.RemoveAll(dir))
	must(t, os.Mkdir(dir, 0o755))
	fifo := filepath.Join(dir, "cache.key")
	must(t, syscall.Mkfifo(fifo, 0o666))
	must(t, os.Chmod(fifo, 0o666))
	must(t, os.Chown(fifo, 65534, 65534))
	must(t, os.Chown(dir, 65534, 65534))
}

// TestASharedCacheFolderIsRefused is row 6 of issue #17: --cache in a
// folder open to all, where another user has put cache.db.owner as a link
// to a file of the victim's. The daemon serves from memory and says so once,
// naming the folder and the fix; nothing is written in the folder or
// through the link, and the folder is not changed; forget says the same
// and fails.
func TestASharedCacheFolderIsRefused(t *testing.T) {
	e, _ := roleEnv(t)
	shared := filepath.Join(e.Dir, "shared777")
	must(t, os.Mkdir(shared, 0o777))
	must(t, os.Chmod(shared, 0o777))
	victim := filepath.Join(e.Dir, "victim")
	must(t, os.WriteFile(victim, []byte("the victim's own file\n"), 0o600))
	owner := filepath.Join(shared, "cache.db.owner")
	must(t, os.Symlink(victim, owner))
	if os.Getuid() == 0 {
		must(t, os.Lchown(owner, 65534, 65534))
	}
	cache := filepath.Join(shared, "cache.db")
	want := "will not keep the cache in " + shared + ": it is open to other users (mode drwxrwxrwx); choose a path in a private folder of your own with --cache"

	if err := e.StartDaemon(ctx(t), "--cache", cache); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	out, _, _ := e.Run(ctx(t), "", "codecommitd", "status", "--json")
	var st struct {
		CacheProblem string `json:"cache_problem"`
	}
	json.Unmarshal([]byte(out), &st)
	if !strings.Contains(st.CacheProblem, want) {
		t.Errorf("status cache_problem = %q, want %q", st.CacheProblem, want)
	}
	e.StopDaemon()
	if n := strings.Count(e.DaemonLog(), want); n != 1 {
		t.Errorf("the log says %d times why the cache is not used, want once:\n%s", n, e.DaemonLog())
	}
	_, stderr, err := runBounded(t, e, "codecommitd", "forget", "--all", "--cache", cache)
	assertOneLineFailure(t, "forget --cache", err, stderr, want)

	if b, _ := os.ReadFile(victim); string(b) != "the victim's own file\n" {
		t.Errorf("the file behind cache.db.owner was written: %q", b)
	}
	entries, _ := os.ReadDir(shared)
	if fi, _ := os.Stat(shared); len(entries) != 1 || fi.Mode().Perm() != 0o777 {
		t.Errorf("the shared folder was changed: mode %v, %d entries", fi.Mode().Perm(), len(entries))
	}
}

// TestTheAutostartedDaemonsLogIsNotFollowed: a link where the log of a
// daemon started on demand goes keeps that daemon from starting (it says
// why) rather than writing through the link; git still works, through the
// one-shot fallback.
func TestTheAutostartedDaemonsLogIsNotFollowed(t *testing.T) {
	e, _ := roleEnv(t)
	victim := filepath.Join(e.Dir, "victim")
	must(t, os.WriteFile(victim, []byte("the victim's own file\n"), 0o600))
	logDir := filepath.Join(e.Dir, "state", "codecommitd")
	must(t, os.MkdirAll(logDir, 0o700))
	must(t, os.Symlink(victim, filepath.Join(logDir, "codecommitd.log")))
	_, stderr, err := runBounded(t, e, "git", "ls-remote", "codecommit://dev@repo")
	if err != nil {
		t.Fatalf("git: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "starting it failed: log file "+filepath.Join(logDir, "codecommitd.log")+" is a symbolic link") {
		t.Errorf("the helper does not say why the daemon did not start:\n%s", stderr)
	}
	if b, _ := os.ReadFile(victim); string(b) != "the victim's own file\n" {
		t.Errorf("the daemon wrote through the link: %q", b)
	}
}

// runBounded runs a command in the world with a deadline that only a hang
// reaches, and fails the test if it is reached.
func runBounded(t *testing.T, e *testenv.Env, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stdout, stderr, err = e.Run(c, "", name, args...)
	if c.Err() != nil {
		t.Fatalf("%s %s still ran after 30s (a FIFO waited on?)\n%s", name, strings.Join(args, " "), stderr)
	}
	return stdout, stderr, err
}

// assertOneLineFailure checks that a command failed with one line that
// says want, and no crash.
func assertOneLineFailure(t *testing.T, what string, err error, stderr, want string) {
	t.Helper()
	assertNoCrash(t, what, stderr)
	if err == nil || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, want) {
		t.Errorf("%s: %v, stderr %q; want a failure in one line saying %q", what, err, stderr, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
