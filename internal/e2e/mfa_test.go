//go:build unix

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

const serial = "arn:aws:iam::123456789012:mfa/alice"

// mfaEnv is a world with two roles that demand MFA, reached from one user's
// keys through profiles that share one mfa_serial. codeScript prints the
// code and counts its runs in the returned file.
func mfaEnv(t *testing.T, profileExtra string) (e *testenv.Env, codeScript, runs string) {
	e = newEnv(t)
	u := e.STS.AddUser("alice")
	a := e.STS.AddRole(fakests.Role{ARN: "A", RequireMFA: true})
	b := e.STS.AddRole(fakests.Role{ARN: "B", RequireMFA: true})
	e.STS.SetMFACode(serial, "123456")
	runs = filepath.Join(e.Dir, "code-runs")
	codeScript = filepath.Join(e.Dir, "code.sh")
	os.WriteFile(codeScript, []byte("#!/bin/sh\necho \"$*\" >> "+runs+"\ncat "+filepath.Join(e.Dir, "code")+"\n"), 0o755)
	os.WriteFile(filepath.Join(e.Dir, "code"), []byte("123456\n"), 0o600)
	cfg := fmt.Sprintf(`[profile base]
[profile ra]
role_arn = %s
source_profile = base
mfa_serial = %s
region = us-east-1
%s
[profile rb]
role_arn = %s
source_profile = base
mfa_serial = %s
region = us-east-1
%s
`, a, serial, profileExtra, b, serial, profileExtra)
	if err := e.WriteAWS(strings.ReplaceAll(cfg, "CODE_SCRIPT", codeScript),
		"[base]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx(t), "repo"); err != nil {
		t.Fatal(err)
	}
	return e, codeScript, runs
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

func TestMFAOnceForParallelCallers(t *testing.T) {
	e, _, runs := mfaEnv(t, "mfa_process = CODE_SCRIPT")
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	e.STS.SetLatency(100 * time.Millisecond) // let the 16 overlap
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 16 {
		profile := []string{"ra", "rb"}[i%2]
		wg.Go(func() {
			if _, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://"+profile+"@repo"); err != nil {
				errs <- fmt.Sprintf("%s: %v: %s", profile, err, stderr)
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	e.STS.SetLatency(0)
	if n := countLines(runs); n != 1 {
		t.Errorf("mfa_process ran %d times for 16 parallel callers, want 1", n)
	}
	if n := e.STS.Calls("GetSessionToken"); n != 1 {
		t.Errorf("GetSessionToken calls = %d, want 1", n)
	}
	if n := e.STS.Calls("AssumeRole"); n != 2 {
		t.Errorf("AssumeRole calls = %d, want 2 (one per role, from the MFA session)", n)
	}
	for _, c := range e.STS.Callers("AssumeRole") {
		if !strings.HasSuffix(c, ":user/alice") {
			t.Errorf("AssumeRole made by %s, want the MFA session of alice", c)
		}
	}

	// The MFA session and the roles survive a daemon restart, encrypted.
	e.StopDaemon()
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://ra@repo")
	if countLines(runs) != 1 || e.STS.Calls("GetSessionToken") != 1 || e.STS.Calls("AssumeRole") != 2 {
		t.Errorf("after a restart: %d prompts, %d GetSessionToken, %d AssumeRole; want 1, 1, 2",
			countLines(runs), e.STS.Calls("GetSessionToken"), e.STS.Calls("AssumeRole"))
	}
}

func TestMFAWrongCodeIsOneError(t *testing.T) {
	e, _, runs := mfaEnv(t, "mfa_process = CODE_SCRIPT")
	os.WriteFile(filepath.Join(e.Dir, "code"), []byte("000000\n"), 0o600)
	stderr := gitFails(t, e, "", "ls-remote", "codecommit://ra@repo")
	assertClean(t, stderr)
	if !strings.Contains(stderr, "rejected the MFA code for "+serial) {
		t.Errorf("stderr = %q, want the rejection", stderr)
	}
	if n, calls := countLines(runs), e.STS.Calls("GetSessionToken"); n != 1 || calls != 1 {
		t.Errorf("a wrong code gave %d prompts and %d GetSessionToken calls, want 1 and 1 (no retry storm)", n, calls)
	}
}

func TestMFAPrompts(t *testing.T) {
	e, script, runs := mfaEnv(t, "")
	t.Run("no way to ask", func(t *testing.T) {
		stderr := gitFails(t, e, "", "ls-remote", "codecommit://ra@repo")
		for _, want := range []string{serial, "profile ra", "no terminal", "mfa_process", "CODECOMMITD_ASKPASS"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
	})
	for _, v := range []string{"CODECOMMITD_ASKPASS", "GIT_ASKPASS", "SSH_ASKPASS"} {
		t.Run(v, func(t *testing.T) {
			e.StopDaemon() // a new daemon: a new MFA session to ask for
			os.Remove(filepath.Join(e.Dir, "state", "codecommitd", "cache.db"))
			e.Extra = []string{v + "=" + script}
			git(t, e, "", "ls-remote", "codecommit://ra@repo")
			b, _ := os.ReadFile(runs)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, serial) || !strings.Contains(last, "ra") {
				t.Errorf("%s was asked %q, want a prompt naming the device and profile", v, last)
			}
		})
	}
}
