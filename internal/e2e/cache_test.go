//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codecommitd/codecommitd/internal/fakests"
)

func TestCacheSurvivesRestartWithoutSTS(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	if n := e.STS.Calls("AssumeRole"); n != 1 {
		t.Fatalf("AssumeRole calls = %d, want 1", n)
	}
	e.StopDaemon()
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	if n := e.STS.Calls("AssumeRole"); n != 1 {
		t.Fatalf("AssumeRole calls after a restart = %d, want still 1 (served from the encrypted cache)", n)
	}
	out, _, _ := e.Run(ctx(t), "", "codecommitd", "status", "--json")
	var st struct {
		CachePath string `json:"cache_path"`
		KeySource string `json:"key_source"`
	}
	json.Unmarshal([]byte(out), &st)
	if !strings.HasSuffix(st.CachePath, filepath.Join("codecommitd", "cache.db")) || !strings.Contains(st.KeySource, "key file") {
		t.Errorf("status cache fields = %+v", st)
	}

	// forget reaches the cache too: after it and a restart, STS is asked.
	if _, stderr, err := e.Run(ctx(t), "", "codecommitd", "forget", "--all"); err != nil {
		t.Fatal(stderr)
	}
	e.StopDaemon()
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	if n := e.STS.Calls("AssumeRole"); n != 2 {
		t.Fatalf("AssumeRole calls after forget --all and a restart = %d, want 2", n)
	}
	e.StopDaemon()

	// No file the daemon wrote holds an issued credential in the clear.
	assertNoSecretsOnDisk(t, e.Dir, e.STS.Issued(), filepath.Join(e.Home, ".aws"), e.Git.Root)
}

func TestCorruptCacheIsReplaced(t *testing.T) {
	e, _ := roleEnv(t)
	cacheFile := filepath.Join(e.Dir, "state", "codecommitd", "cache.db")
	if err := os.MkdirAll(filepath.Dir(cacheFile), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cacheFile, bytes.Repeat([]byte("garbage!"), 1000), 0o600)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatalf("daemon did not start with a corrupt cache: %v", err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	aside, _ := filepath.Glob(cacheFile + ".unreadable-*")
	if len(aside) != 1 {
		t.Errorf("corrupt cache moved aside: %v, want one file", aside)
	}
	if !strings.Contains(e.DaemonLog(), "moved it aside") {
		t.Errorf("the daemon did not log the replacement:\n%s", e.DaemonLog())
	}
	// status says so as long as this daemon runs, in text and in JSON.
	if len(aside) != 1 {
		return
	}
	said := "moved it aside to " + aside[0] + " and started an empty one"
	text, _, err := e.Run(ctx(t), "", "codecommitd", "status")
	if err != nil || !strings.Contains(text, "cache:  "+cacheFile+" (could not be read at start (") || !strings.Contains(text, said+")\n") {
		t.Errorf("status does not say the cache was set aside (%v):\n%s", err, text)
	}
	out, _, err := e.Run(ctx(t), "", "codecommitd", "status", "--json")
	var st struct {
		CacheProblem string `json:"cache_problem"`
	}
	if jerr := json.Unmarshal([]byte(out), &st); err != nil || jerr != nil || !strings.HasSuffix(st.CacheProblem, said) {
		t.Errorf("status --json: cache_problem = %q (%v, %v), want it to end %q", st.CacheProblem, err, jerr, said)
	}
}

// assertNoSecretsOnDisk greps every file under dir, except the skipped
// trees (the user's own AWS files, the git server), for issued access key
// ids, secrets and session tokens.
func assertNoSecretsOnDisk(t *testing.T, dir string, issued []fakests.Identity, skip ...string) {
	t.Helper()
	if len(issued) == 0 {
		t.Fatal("nothing was issued; the check would prove nothing")
	}
	checked := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		for _, s := range skip {
			if p == s {
				return filepath.SkipDir
			}
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		checked++
		for _, id := range issued {
			for _, secret := range []string{id.AccessKeyID, id.SecretAccessKey, id.SessionToken} {
				if bytes.Contains(data, []byte(secret)) {
					t.Errorf("%s contains an issued credential (%.8s…) in the clear", p, secret)
				}
			}
		}
		return nil
	})
	if checked < 3 {
		t.Fatalf("only %d files checked under %s", checked, dir)
	}
}

func TestForgetWithoutDaemonEditsTheCache(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	e.StopDaemon()
	out, stderr, err := e.Run(ctx(t), "", "codecommitd", "forget", "dev")
	if err != nil || !strings.Contains(out, "forgot 1") {
		t.Fatalf("forget with the daemon down: %q %v %s", out, err, stderr)
	}
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	if n := e.STS.Calls("AssumeRole"); n != 2 {
		t.Fatalf("AssumeRole calls = %d, want 2: the forgotten credentials came back from the cache", n)
	}
}
