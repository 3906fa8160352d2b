//go:build unix

package e2e

import (
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// assertClean fails if stderr shows a crash rather than a message.
func assertClean(t *testing.T, stderr string) {
	t.Helper()
	for _, bad := range []string{"panic:", "goroutine ", "Traceback", ".go:"} {
		if strings.Contains(stderr, bad) {
			t.Fatalf("stderr shows a crash (%q):\n%s", bad, stderr)
		}
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	u := e.STS.AddUser("alice")
	denied := e.STS.AddRole(fakests.Role{ARN: "Locked", DenyFrom: []string{u.ARN}})
	cfg := `[profile dev]
region = us-east-1
[profile noregion]
[profile denied]
role_arn = ` + denied + `
source_profile = dev
region = us-east-1
[profile proc]
credential_process = sh -c 'echo "token for proc expired, log in again" >&2; exit 3'
region = us-east-1
[profile vault]
credential_process = sh -c 'echo "vault: permission denied for path secret/aws" >&2; echo "aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY" >&2; exit 2'
region = us-east-1
[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Dev
region = us-east-1
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
[profile empty]
region = us-east-1
`
	creds := "[dev]\naws_access_key_id = " + u.AccessKeyID + "\naws_secret_access_key = " + u.SecretAccessKey + "\n" +
		"[noregion]\naws_access_key_id = " + u.AccessKeyID + "\naws_secret_access_key = " + u.SecretAccessKey + "\n"
	if err := e.WriteAWS(cfg, creds); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx(t), "repo"); err != nil {
		t.Fatal(err)
	}
	malformed := "The following URL is malformed: %s. A URL must be in one of the two following formats: " +
		"codecommit://<profile>@<repository> or codecommit::<region>://<profile>@<repository>"
	tests := []struct {
		name string
		url  string
		want []string
	}{
		{"malformed", "codecommit:///repo", []string{strings.Replace(malformed, "%s", "codecommit:///repo", 1)}},
		{"bad repository", "codecommit://dev@bad%20name", []string{"The following URL is malformed"}},
		{"unknown profile", "codecommit://nope@repo", []string{"profile nope not found", "profiles that exist: denied, dev, empty, noregion, proc, sso, vault"}},
		{"no region", "codecommit://noregion@repo", []string{"no region for profile noregion", "region = ", "[profile noregion]", "codecommit::<region>://noregion@<repository>"}},
		{"access denied", "codecommit://denied@repo", []string{"profile denied", "AccessDenied", denied, u.ARN}},
		{"credential_process", "codecommit://proc@repo", []string{"credential_process of profile proc failed", "exit status 3", "token for proc expired, log in again"}},
		{"sso never signed in", "codecommit://sso@repo", []string{"SSO session corp is not signed in: run codecommitd login --sso-session corp"}},
		// Issue #21: a line that only names a secret path is shown; one
		// that gives a credential key a value is not.
		{"credential_process names a secret path", "codecommit://vault@repo", []string{"credential_process of profile vault failed", "exit status 2", "it said: vault: permission denied for path secret/aws"}},
		{"no credentials", "codecommit://empty@repo", []string{"profile empty has no credentials", "aws configure --profile empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr := gitFails(t, e, "", "ls-remote", tt.url)
			assertClean(t, stderr)
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, secret := range []string{u.SecretAccessKey, "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"} {
				if strings.Contains(stderr, secret) {
					t.Errorf("stderr leaks a secret:\n%s", stderr)
				}
			}
		})
	}

	t.Run("unknown region warns", func(t *testing.T) {
		// The stand-in only accepts us-east-1 signatures, so git fails;
		// what matters is the warning, not an error.
		stderr := gitFails(t, e, "", "ls-remote", "codecommit::xx-mars-7://dev@repo")
		if !strings.Contains(stderr, "warning: region xx-mars-7") {
			t.Errorf("no warning for an unknown region:\n%s", stderr)
		}
		if strings.Contains(stderr, "malformed") {
			t.Errorf("a well-formed unknown region was refused:\n%s", stderr)
		}
	})
}

func TestHelperArguments(t *testing.T) {
	helper := filepath.Join(bin, "git-remote-codecommit")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 1, "usage: git-remote-codecommit <remote-name> <url>"},
		{[]string{"origin"}, 1, "usage:"},
		{[]string{"a", "b", "c"}, 1, "usage:"},
		{[]string{"--version"}, 0, "git-remote-codecommit "},
		{[]string{"--help"}, 0, "codecommit::<region>://<profile>@<repository>"},
	} {
		cmd := exec.Command(helper, tt.args...)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if code != tt.code || !strings.Contains(string(out), tt.want) {
			t.Errorf("git-remote-codecommit %v: exit %d, output %q; want exit %d with %q", tt.args, code, out, tt.code, tt.want)
		}
		if tt.code != 0 && strings.Count(strings.TrimSpace(string(out)), "\n") > 1 {
			t.Errorf("git-remote-codecommit %v: more than two lines:\n%s", tt.args, out)
		}
	}
}

func TestClockSkewIsReported(t *testing.T) {
	e, _ := roleEnv(t)
	// AWS's clock (the fake STS's Date header and signature check) runs
	// 10 minutes ahead of this machine's.
	e.STS.SetClock(func() time.Time { return time.Now().Add(10 * time.Minute) })
	_, stderr, _ := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	assertClean(t, stderr)
	if !regexp.MustCompile(`this machine's clock is (9m5[0-9]s|10m0s) behind AWS's`).MatchString(stderr) || !strings.Contains(stderr, "fix the clock") {
		t.Fatalf("stderr does not report the clock skew:\n%s", stderr)
	}
}

// TestNetworkFailuresReadAsOneLine runs git through the daemon while STS
// cannot be reached, and checks what a person reads: git's stderr holds our
// one line (profile, the cause in short, the fix) and neither it nor the
// daemon's log holds SDK, HTTP or gRPC jargon.
func TestNetworkFailuresReadAsOneLine(t *testing.T) {
	closed := testprobe.RefusingAddr(t)
	const fix = "; check the network connection, or the daemon's proxy and AWS_ENDPOINT_URL_* settings (`codecommitd doctor` shows them)"
	for _, tc := range []struct {
		name, endpoint, want string
	}{
		{"DNS failure", "https://sts.codecommitd-test.invalid",
			"git-remote-codecommit: cannot reach AWS STS for profile role: sts.codecommitd-test.invalid does not resolve (DNS: no such host)" + fix},
		{"connection refused", "https://" + closed,
			"git-remote-codecommit: cannot reach AWS STS for profile role: " + closed + " refused the connection" + fix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if host, ok := strings.CutPrefix(tc.endpoint, "https://"); ok && strings.HasSuffix(host, ".invalid") {
				testprobe.RequireNXDOMAIN(t, host)
			}
			e := newEnv(t)
			u := e.STS.AddUser("alice")
			role := e.STS.AddRole(fakests.Role{ARN: "Dev"})
			if err := e.WriteAWS("[profile base]\nregion = us-east-1\n[profile role]\nrole_arn = "+role+"\nsource_profile = base\nregion = us-east-1\n",
				"[base]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n"); err != nil {
				t.Fatal(err)
			}
			e.Extra = []string{"AWS_ENDPOINT_URL_STS=" + tc.endpoint}
			if err := e.StartDaemon(ctx(t)); err != nil {
				t.Fatal(err)
			}
			stderr := gitFails(t, e, "", "ls-remote", "codecommit://role@repo")
			if !strings.Contains(stderr, tc.want+"\n") {
				t.Errorf("git's stderr lacks the line\n%s\ngot:\n%s", tc.want, stderr)
			}
			log := e.DaemonLog()
			for _, j := range []string{"operation error", "https response error", "StatusCode", "RequestID", "request send failed",
				"rpc error", "desc =", "transport:", "failed to refresh cached credentials", "dial tcp"} {
				if strings.Contains(stderr, j) {
					t.Errorf("git's stderr holds %q:\n%s", j, stderr)
				}
				if strings.Contains(log, j) {
					t.Errorf("the daemon's log holds %q:\n%s", j, log)
				}
			}
			if !strings.Contains(log, "level=WARN") {
				t.Errorf("the daemon did not warn about the failed refresh:\n%s", log)
			}
		})
	}
}
