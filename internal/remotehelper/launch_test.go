package remotehelper

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestInjectConfig(t *testing.T) {
	env := []string{"HOME=/h", "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=user.name", "GIT_CONFIG_VALUE_0=me"}
	got, err := injectConfig(env, "https://h/v1/repos/r", "!'/bin/x' --region 'us-east-1'", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"HOME=/h", "GIT_CONFIG_KEY_0=user.name", "GIT_CONFIG_VALUE_0=me",
		"GIT_CONFIG_KEY_1=credential.https://h/v1/repos/r.helper", "GIT_CONFIG_VALUE_1=",
		"GIT_CONFIG_KEY_2=credential.https://h/v1/repos/r.helper", "GIT_CONFIG_VALUE_2=!'/bin/x' --region 'us-east-1'",
		"GIT_CONFIG_KEY_3=credential.https://h/v1/repos/r.useHttpPath", "GIT_CONFIG_VALUE_3=true",
		"GIT_CONFIG_COUNT=4",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got, _ = injectConfig(nil, "https://h/v1/repos/r", "x", true)
	if !slices.Contains(got, "GIT_CONFIG_KEY_3=http.https://h/v1/repos/r.proactiveAuth") || !slices.Contains(got, "GIT_CONFIG_COUNT=4") {
		t.Errorf("proactiveAuth not injected: %v", got)
	}
	if _, err := injectConfig([]string{"GIT_CONFIG_COUNT=x"}, "u", "h", false); err == nil {
		t.Error("a malformed GIT_CONFIG_COUNT was accepted")
	}
}

func TestHelperCommandQuoting(t *testing.T) {
	// A fake helper that prints its arguments, at a path with a space.
	dir := filepath.Join(t.TempDir(), "my tools")
	os.MkdirAll(dir, 0o755)
	helper := filepath.Join(dir, "git-credential-codecommit")
	os.WriteFile(helper, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\"\n"), 0o755)
	cmd := strings.TrimPrefix(helperCommand(helper, "it's", "eu-west-1"), "!")
	// git runs "!" helpers as sh -c '<command> <action>'.
	shell := func(action string) []string {
		c := exec.Command("sh", "-c", cmd+" "+action)
		c.Stdin = strings.NewReader("protocol=https\n\n")
		out, err := c.Output()
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return strings.Fields(strings.ReplaceAll(string(out), " ", "\u00a0"))
	}
	want := []string{"--quiet-fallback", "--no-config-profile", "--profile", "it's", "--region", "eu-west-1", "get"}
	if got := shell("get"); !slices.Equal(got, want) {
		t.Fatalf("get runs the helper with %q, want %q", got, want)
	}
	for _, action := range []string{"store", "erase"} {
		if got := shell(action); len(got) != 0 {
			t.Errorf("%s started the helper: %q", action, got)
		}
	}
}

func TestGitVersion(t *testing.T) {
	for in, want := range map[string]gitVersion{
		"git version 2.39.5\n":                 {2, 39, 5},
		"git version 2.31.0.windows.1":         {2, 31, 0},
		"git version 2.46.0 (Apple Git-154)\n": {2, 46, 0},
		"git version 3.0":                      {3, 0, 0},
	} {
		got, err := parseGitVersion(in)
		if err != nil || got != want {
			t.Errorf("parseGitVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseGitVersion("hello"); err == nil {
		t.Error("nonsense parsed")
	}
	if !(gitVersion{2, 31, 0}).atLeast(configEnvGit) || (gitVersion{2, 30, 9}).atLeast(configEnvGit) || !(gitVersion{3, 0, 0}).atLeast(proactiveAuthGit) {
		t.Error("atLeast is wrong")
	}
}

func TestVersionIsCached(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "d.sock")
	os.MkdirAll(filepath.Dir(sock), 0o700)
	count := filepath.Join(dir, "runs")
	git := filepath.Join(dir, "git")
	os.WriteFile(git, []byte("#!/bin/sh\necho run >> "+count+"\necho 'git version 2.45.1'\n"), 0o755)
	getenv := func(k string) string {
		if k == "CODECOMMITD_SOCKET" {
			return sock
		}
		return ""
	}
	for range 3 {
		v, err := versionOf(git, getenv)
		if err != nil || v != (gitVersion{2, 45, 1}) {
			t.Fatalf("versionOf = %v, %v", v, err)
		}
	}
	if b, _ := os.ReadFile(count); strings.Count(string(b), "run") != 1 {
		t.Fatalf("git ran %d times for 3 lookups, want 1", strings.Count(string(b), "run"))
	}
	// A changed binary is asked again.
	os.WriteFile(git, []byte("#!/bin/sh\necho run >> "+count+"\necho 'git version 2.30.2'   \n"), 0o755)
	if v, _ := versionOf(git, getenv); v != (gitVersion{2, 30, 2}) {
		t.Fatalf("after the binary changed: %v", v)
	}
}
