package gitversion

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGitVersion(t *testing.T) {
	for in, want := range map[string]Version{
		"git version 2.39.5\n":                 {2, 39, 5},
		"git version 2.31.0.windows.1":         {2, 31, 0},
		"git version 2.46.0 (Apple Git-154)\n": {2, 46, 0},
		"git version 3.0":                      {3, 0, 0},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := Parse("hello"); err == nil {
		t.Error("nonsense parsed")
	}
	if !(Version{2, 31, 0}).AtLeast(ConfigEnv) || (Version{2, 30, 9}).AtLeast(ConfigEnv) || !(Version{3, 0, 0}).AtLeast(ProactiveAuth) {
		t.Error("atLeast is wrong")
	}
}

func TestVersionIsCached(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	count := filepath.Join(dir, "runs")
	git := filepath.Join(dir, "git")
	os.WriteFile(git, []byte("#!/bin/sh\necho run >> "+count+"\necho 'git version 2.45.1'\n"), 0o755)
	for range 3 {
		v, err := Of(git, cache)
		if err != nil || v != (Version{2, 45, 1}) {
			t.Fatalf("versionOf = %v, %v", v, err)
		}
	}
	if b, _ := os.ReadFile(count); strings.Count(string(b), "run") != 1 {
		t.Fatalf("git ran %d times for 3 lookups, want 1", strings.Count(string(b), "run"))
	}
	// A changed binary is asked again.
	os.WriteFile(git, []byte("#!/bin/sh\necho run >> "+count+"\necho 'git version 2.30.2'   \n"), 0o755)
	if v, _ := Of(git, cache); v != (Version{2, 30, 2}) {
		t.Fatalf("after the binary changed: %v", v)
	}
}
