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
