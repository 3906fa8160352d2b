//go:build unix

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestTheServiceWhereSystemdDoesNotRun runs the service commands with the
// real service manager code where no systemd runs for the user (this
// machine, CI, any container: systemctl --user cannot reach a manager
// without a session bus). Nothing they print is false: install writes the
// unit and leaves the daemon git started running, start says the service
// cannot run it, and uninstall --purge stops what runs and removes the
// unit, the cache, its key and the log, saying each.
func TestTheServiceWhereSystemdDoesNotRun(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the systemd user unit is Linux's")
	}
	e, _ := roleEnv(t)
	e.Extra = []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent"}
	unit := filepath.Join(e.Home, ".config", "systemd", "user", "codecommitd.service")
	exe := filepath.Join(bin, "codecommitd")
	run := func(args ...string) string {
		t.Helper()
		out, stderr, err := e.Run(ctx(t), "", "codecommitd", args...)
		if err != nil {
			t.Fatalf("codecommitd %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return regexp.MustCompile(`pid \d+`).ReplaceAllString(out, "pid N")
	}

	printed := run("install", "--print")
	if !strings.Contains(printed, "ExecStart="+exe+" run\n") || !strings.Contains(printed, "WantedBy=default.target") {
		t.Fatalf("install --print:\n%s", printed)
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Fatal("install --print wrote the unit")
	}

	run("start")
	pid := e.DaemonPID()
	noSystemd := "systemd does not run for this user here (systemctl --user: exit status 1)"
	if got, want := run("install"), "service: installed ("+unit+"), but it could not start now: "+noSystemd+
		". It starts at your next login where systemd runs (or: systemctl --user enable --now codecommitd); meanwhile the daemon that runs (pid N, started on demand) keeps running\n"; got != want {
		t.Errorf("install printed\n%s\nwant\n%s", got, want)
	}
	if e.DaemonPID() != pid {
		t.Errorf("install stopped the daemon git started (pid %d) for a service that cannot run", pid)
	}
	if written, err := os.ReadFile(unit); err != nil || string(written) != printed {
		t.Errorf("installed unit differs from install --print (%v):\n%s", err, written)
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(unit), "default.target.wants", "codecommitd.service")); err != nil {
		t.Errorf("the unit is not enabled for the next login: %v", err)
	}
	if got, want := run("start"), "codecommitd is already running (pid N, started on demand) on "+e.Socket+
		"; the service is installed, but "+noSystemd+", so it is left as it is\n"; got != want {
		t.Errorf("start printed\n%s\nwant\n%s", got, want)
	}
	run("stop")
	if got, want := run("start"), "the service is installed, but "+noSystemd+"; started codecommitd (pid N) on "+e.Socket+
		" instead; it runs until codecommitd stop, or 8h0m0s without a request (CODECOMMITD_IDLE_EXIT)\n"; got != want {
		t.Errorf("start printed\n%s\nwant\n%s", got, want)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")

	state := filepath.Join(e.Dir, "state", "codecommitd")
	runDir := filepath.Join(e.Dir, "run", "codecommitd")       // the runtime folder, where the key is
	gitCache := filepath.Join(e.Home, ".cache", "codecommitd") // the helper's, of git's version
	got := run("uninstall", "--purge")
	want := strings.Join([]string{
		"removed the service (" + unit + ")",
		"stopped codecommitd (pid N, started on demand)",
		"removed " + state + "/cache.db (the credential cache)",
		"removed " + runDir + "/cache.key (the cache's key)",
		"removed " + state + "/codecommitd.log (the daemon's log)",
		"removed " + gitCache + "/git-versions (the cache of git's version)",
		"removed " + state,
		"removed " + runDir,
		"removed " + gitCache,
		"",
	}, "\n")
	if got != want {
		t.Errorf("uninstall --purge printed\n%s\nwant\n%s", got, want)
	}
	for _, gone := range []string{unit, filepath.Join(filepath.Dir(unit), "default.target.wants", "codecommitd.service"), state, e.Socket, e.Socket + ".lock", runDir, gitCache} {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("uninstall --purge left %s", gone)
		}
	}
	if _, err := net.Dial("unix", e.Socket); err == nil {
		t.Error("a daemon still answers after uninstall")
	}
	if got := run("uninstall", "--purge"); got != "the service was not installed\nnothing of codecommitd's was left to remove\n" {
		t.Errorf("a second uninstall --purge printed\n%s", got)
	}
}

// TestMakeInstallAndUninstall runs make install's and make uninstall's
// scripts on a copy of the tree, into a PREFIX of their own, where no
// systemd runs: install puts down the binaries, man pages and completions
// and says in its summary what the service does; uninstall (with --purge)
// removes every file install put down, the unit, the cache and the log,
// and stops the daemon.
func TestMakeInstallAndUninstall(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the systemd user unit is Linux's")
	}
	e, _ := roleEnv(t)
	e.Extra = []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent", "SHELL=/bin/bash"}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	tree := filepath.Join(e.Dir, "tree")
	for _, d := range []string{"scripts", "bin/man"} {
		os.MkdirAll(filepath.Join(tree, d), 0o755)
	}
	for _, s := range []string{"install.sh", "uninstall.sh", "installed.sh"} {
		b, err := os.ReadFile(filepath.Join(root, "scripts", s))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(tree, "scripts", s), b, 0o755)
	}
	for _, b := range []string{"codecommitd", "git-remote-codecommit", "git-credential-codecommit"} {
		data, _ := os.ReadFile(filepath.Join(bin, b))
		os.WriteFile(filepath.Join(tree, "bin", b), data, 0o755)
	}
	if out, stderr, err := e.Run(ctx(t), "", filepath.Join(bin, "gendocs"), filepath.Join(tree, "bin", "man")); err != nil {
		t.Fatalf("gendocs: %v\n%s%s", err, out, stderr)
	}
	prefix := filepath.Join(e.Dir, "prefix")
	out, stderr, err := e.Run(ctx(t), "", filepath.Join(tree, "scripts", "install.sh"), prefix)
	if err != nil {
		t.Fatalf("install.sh: %v\n%s%s", err, out, stderr)
	}
	unit := filepath.Join(e.Home, ".config", "systemd", "user", "codecommitd.service")
	for _, want := range []string{
		"\n  binaries: " + prefix + "/bin/codecommitd, git-remote-codecommit, git-credential-codecommit\n",
		"\n  manuals:  " + prefix + "/share/man/man1 (man codecommitd, man git-remote-codecommit, man git-credential-codecommit)\n",
		"\n  PATH:     " + prefix + "/bin is NOT on your PATH, so git will not find git-remote-codecommit; add this line to ~/.bashrc and open a new shell:\n",
		"\n  service: installed (" + unit + "), but it could not start now: systemd does not run for this user here (systemctl --user: exit status 1). It starts at your next login where systemd runs (or: systemctl --user enable --now codecommitd); meanwhile git starts the daemon when it needs it\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("install.sh's summary lacks %q:\n%s", want, out)
		}
	}
	var installed []string
	filepath.WalkDir(prefix, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			installed = append(installed, strings.TrimPrefix(p, prefix+"/"))
		}
		return nil
	})
	for _, want := range []string{"bin/git-remote-codecommit", "share/man/man1/codecommitd-uninstall.1", "share/man/man1/git-credential-codecommit.1",
		"share/bash-completion/completions/codecommitd", "share/zsh/site-functions/_codecommitd", "share/fish/vendor_completions.d/codecommitd.fish"} {
		if !slices.Contains(installed, want) {
			t.Errorf("install.sh did not put down %s (it did: %v)", want, installed)
		}
	}
	// A file of someone else's in a shared folder stays.
	theirs := filepath.Join(prefix, "share", "man", "man1", "git.1")
	os.WriteFile(theirs, []byte(".TH GIT 1\n"), 0o644)

	if out, stderr, err := e.Run(ctx(t), "", filepath.Join(prefix, "bin", "codecommitd"), "start"); err != nil {
		t.Fatalf("start: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = e.Run(ctx(t), "", filepath.Join(tree, "scripts", "uninstall.sh"), prefix, "--purge")
	if err != nil {
		t.Fatalf("uninstall.sh: %v\n%s%s", err, out, stderr)
	}
	for _, want := range []string{"removed the service (" + unit + ")\n", "stopped codecommitd (pid ", "removed " + prefix + "/bin/codecommitd\n", "(the credential cache)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("uninstall.sh printed no %q:\n%s", want, out)
		}
	}
	var left []string
	filepath.WalkDir(prefix, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != theirs {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("uninstall.sh left %v", left)
	}
	for _, gone := range []string{unit, filepath.Join(e.Dir, "state", "codecommitd")} {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("uninstall.sh left %s", gone)
		}
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("uninstall.sh removed a file make install did not put down: %v", err)
	}
	if _, err := net.Dial("unix", e.Socket); err == nil {
		t.Error("a daemon still answers after uninstall.sh")
	}
}
