//go:build unix

package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codecommitd/codecommitd/internal/testenv"
)

// runRaw runs git in the world with extra appended to its environment as
// is: unlike os/exec, which keeps the last of two variables of the same
// name, it hands git duplicates, as a parent written in C can.
func runRaw(t *testing.T, e *testenv.Env, dir string, extra []string, args ...string) (stderr string, err error) {
	t.Helper()
	path, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	errFile, err := os.CreateTemp(e.Dir, "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(errFile.Name())
	defer errFile.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	p, err := os.StartProcess(path, append([]string{"git"}, args...), &os.ProcAttr{
		Dir: filepath.Join(e.Dir, dir), Env: append(e.Environ(), extra...), Files: []*os.File{null, null, errFile},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(errFile.Name())
	if !st.Success() {
		return string(b), &exec.ExitError{ProcessState: st}
	}
	return string(b), nil
}

// secretsOnDisk walks dir and names every file that holds a signed password
// or a session token the fake STS issued.
func secretsOnDisk(t *testing.T, e *testenv.Env, dir string) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if signedPassword.Match(b) {
			found = append(found, p+" (a signed password)")
		}
		for _, id := range e.STS.Issued() {
			if id.SessionToken != "" && bytes.Contains(b, []byte(id.SessionToken)) {
				found = append(found, p+" (a session token)")
			}
		}
		return nil
	})
	return found
}

// TestNoStorageHelperSeesThePassword runs git through the helper in
// environments and configurations that try to put a storage helper in
// front of ours or shadow the helper's settings, with a server that asks
// for credentials once whatever the request carries, so git runs its
// credential helpers and then tells them the password worked (which is
// when a storage helper stores it). No helper of the user's may be asked
// or told anything, no file may hold the password or the session token,
// and the user's own valid settings (an extra header) must still apply.
func TestNoStorageHelperSeesThePassword(t *testing.T) {
	e, _ := roleEnv(t)
	direct(e) // the password's path: through the transport git holds no password to store
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(e.Dir, "tmp")
	os.Mkdir(tmp, 0o700)
	e.Extra = append(e.Extra, "TMPDIR="+tmp)
	spyLog := filepath.Join(e.Dir, "spy-helper.log")
	spy := filepath.Join(e.Dir, "spy-helper")
	// A credential helper records its action and everything git tells it.
	if err := os.WriteFile(spy, []byte("#!/bin/sh\n{ echo \"action $1\"; cat; } >> "+spyLog+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(e.Home, ".git-credentials")
	git(t, e, "", "clone", "--quiet", "codecommit://dev@repo", "w")

	for _, tc := range []struct {
		name string
		env  []string // appended as is, duplicates included
		args []string
		// header is an extra header of the user's that must arrive.
		header, value string
		setup         func(t *testing.T)
	}{
		{name: "stale GIT_CONFIG_KEY_n without a count (the issue)",
			env:  []string{"GIT_CONFIG_KEY_3=core.x", "GIT_CONFIG_KEY_0=credential.helper", "GIT_CONFIG_VALUE_0=store"},
			args: []string{"ls-remote", "codecommit://dev@repo"}},
		{name: "git -c credential.helper and -c http.extraHeader",
			args:   []string{"-c", "credential.helper=store", "-c", "credential.helper=" + spy, "-c", "http.extraHeader=X-Cmdline: from -c", "ls-remote", "codecommit://dev@repo"},
			header: "X-Cmdline", value: "from -c"},
		{name: "GIT_CONFIG_PARAMETERS set by a parent",
			env:  []string{"GIT_CONFIG_PARAMETERS='credential.helper'='" + spy + "' 'credential.usehttppath'='false'"},
			args: []string{"ls-remote", "codecommit://dev@repo"}},
		{name: "a count lower than the keys present",
			env: []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=X-Env: below the count",
				"GIT_CONFIG_KEY_1=credential.helper", "GIT_CONFIG_VALUE_1=" + spy, "GIT_CONFIG_KEY_2=core.x", "GIT_CONFIG_VALUE_2=y",
				"GIT_CONFIG_KEY_3=credential.helper", "GIT_CONFIG_VALUE_3=store", "GIT_CONFIG_KEY_4=core.y", "GIT_CONFIG_KEY_5=core.z"},
			args:   []string{"ls-remote", "codecommit://dev@repo"},
			header: "X-Env", value: "below the count"},
		{name: "duplicate variables (git reads the first)",
			env: []string{"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=X-Env: the first",
				"GIT_CONFIG_KEY_1=credential.helper", "GIT_CONFIG_VALUE_1=" + spy,
				"GIT_CONFIG_COUNT=0", "GIT_CONFIG_VALUE_0=X-Env: the second", "GIT_CONFIG_KEY_1=core.x",
				"GIT_CONFIG_PARAMETERS='credential.helper'='store'", "GIT_CONFIG_PARAMETERS='core.x'='y'"},
			args:   []string{"ls-remote", "codecommit://dev@repo"},
			header: "X-Env", value: "the first"},
		{name: "credential.helper in ~/.gitconfig and .git/config",
			setup: func(t *testing.T) {
				git(t, e, "", "config", "--global", "--add", "credential.helper", "store")
				git(t, e, "", "config", "--global", "--add", "credential.helper", spy)
				git(t, e, "", "config", "--global", "http.extraHeader", "X-Global: from ~/.gitconfig")
				git(t, e, "w", "config", "--add", "credential.helper", spy)
			},
			args:   []string{"-C", "w", "fetch", "--quiet", "origin"},
			header: "X-Global", value: "from ~/.gitconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(filepath.Join(e.Home, ".gitconfig"))
			if tc.setup != nil {
				tc.setup(t)
			}
			before := len(e.Git.Requests())
			e.Git.Challenge(1)
			stderr, err := runRaw(t, e, "", tc.env, tc.args...)
			if err != nil {
				t.Errorf("git %s: %v\n%s", strings.Join(tc.args, " "), err, stderr)
			}
			reqs := since(e, before)
			if len(reqs) == 0 || reqs[0].Status != 401 {
				t.Fatalf("the server did not ask for credentials first; the test proves nothing: %+v", reqs)
			}
			if b, _ := os.ReadFile(spyLog); len(b) > 0 {
				t.Errorf("the user's credential helper was asked or told something:\n%s", b)
			}
			if b, _ := os.ReadFile(store); len(b) > 0 {
				t.Errorf("git credential-store wrote %s:\n%s", store, b)
			}
			for _, f := range secretsOnDisk(t, e, e.Dir) {
				t.Errorf("a credential in %s", f)
			}
			if tc.header != "" {
				for _, r := range reqs[1:] {
					if got := r.Extra.Get(tc.header); got != tc.value {
						t.Errorf("%s %s: %s = %q, want the user's %q", r.Method, r.Path, tc.header, got, tc.value)
					}
				}
			}
			os.Remove(spyLog)
			os.Remove(store)
		})
	}
}

// TestAnEnvironmentGitCannotReadStopsGitFirst: git itself refuses a
// GIT_CONFIG_COUNT that is not a number, a GIT_CONFIG_KEY_n missing below
// it, or a malformed GIT_CONFIG_PARAMETERS, naming the variable, before it
// runs any remote helper; so nothing is signed, nothing is sent, and the
// helper has nothing to repair.
func TestAnEnvironmentGitCannotReadStopsGitFirst(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  []string
		says string
	}{
		{[]string{"GIT_CONFIG_COUNT=two"}, "error: bogus count in GIT_CONFIG_COUNT"},
		{[]string{"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=X-Env: 1"}, "error: missing config key GIT_CONFIG_KEY_1"},
		{[]string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader"}, "error: missing config value GIT_CONFIG_VALUE_0"},
		{[]string{"GIT_CONFIG_PARAMETERS='credential.helper'='store"}, "error: bogus format in GIT_CONFIG_PARAMETERS"},
	} {
		t.Run(tc.says, func(t *testing.T) {
			requests, rpcs := len(e.Git.Requests()), strings.Count(e.DaemonLog(), "msg=request ")
			stderr, err := runRaw(t, e, "", tc.env, "ls-remote", "codecommit://dev@repo")
			if err == nil || !strings.Contains(stderr, tc.says+"\nfatal: unable to parse command-line config") {
				t.Errorf("git: %v, stderr:\n%s\nwant git's own %q", err, stderr, tc.says)
			}
			if n := len(e.Git.Requests()) - requests; n != 0 {
				t.Errorf("%d requests reached the server", n)
			}
			if n := strings.Count(e.DaemonLog(), "msg=request ") - rpcs; n != 0 {
				t.Errorf("the helper ran and asked the daemon %d times", n)
			}
		})
	}
}
