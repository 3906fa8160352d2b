//go:build unix

package e2e

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testenv"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// lastPrincipal is the ARN that signed the git server's last request.
func lastPrincipal(e *testenv.Env) string {
	reqs := e.Git.Requests()
	if len(reqs) == 0 {
		return ""
	}
	return reqs[len(reqs)-1].Principal
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o700)
	b, _ := json.Marshal(v)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEveryCredentialSource(t *testing.T) {
	e := newEnv(t)
	u := e.STS.AddUser("alice")
	dev := e.STS.AddRole(fakests.Role{ARN: "Dev"})
	web := e.STS.AddRole(fakests.Role{ARN: "Web"})
	tokenFile := filepath.Join(e.Dir, "oidc-token")
	os.WriteFile(tokenFile, []byte("token-1"), 0o600)
	e.STS.AddWebIdentityToken("token-1", "repo:org/app")

	// credential_process: counts its runs, prints temporary credentials.
	procCreds := e.STS.Issue("arn:aws:sts::"+fakests.Account+":assumed-role/Proc/p", time.Hour)
	runs := filepath.Join(e.Dir, "proc-runs")
	proc := filepath.Join(e.Dir, "proc.sh")
	os.WriteFile(proc, []byte(fmt.Sprintf("#!/bin/sh\necho run >> %s\ncat <<'EOF'\n{\"Version\": 1, \"AccessKeyId\": %q, \"SecretAccessKey\": %q, \"SessionToken\": %q, \"Expiration\": %q}\nEOF\n",
		runs, procCreds.AccessKeyID, procCreds.SecretAccessKey, procCreds.SessionToken, procCreds.Expires.Format(time.RFC3339))), 0o755)
	staticRuns := filepath.Join(e.Dir, "static-runs")
	staticProc := filepath.Join(e.Dir, "static.sh")
	os.WriteFile(staticProc, []byte(fmt.Sprintf("#!/bin/sh\necho run >> %s\necho '{\"Version\": 1, \"AccessKeyId\": %q, \"SecretAccessKey\": %q}'\n",
		staticRuns, u.AccessKeyID, u.SecretAccessKey)), 0o755)

	// SSO: a fresh token for the sso-session profile, an expired one with a
	// refresh token for another session, a legacy start URL.
	ssoCache := filepath.Join(e.Home, ".aws", "sso", "cache")
	sha := func(s string) string { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	for _, user := range []string{"alice", "bob", "carol"} {
		e.STS.AssignSSO(user, fakests.Account, "Developer")
	}
	e.STS.AddSSOClient("client", "secret", time.Now().Add(24*time.Hour))
	e.STS.AddSSOToken("sso-access", "alice", time.Now().Add(time.Hour))
	writeJSON(t, filepath.Join(ssoCache, sha("corp")+".json"), map[string]string{
		"accessToken": "sso-access", "expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "region": "us-east-1", "startUrl": "https://corp.awsapps.com/start"})
	e.STS.AddSSORefreshToken("sso-refresh", "bob")
	writeJSON(t, filepath.Join(ssoCache, sha("stale")+".json"), map[string]string{
		"accessToken": "sso-expired", "expiresAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "region": "us-east-1",
		"startUrl": "https://stale.awsapps.com/start", "refreshToken": "sso-refresh", "clientId": "client", "clientSecret": "secret",
		"registrationExpiresAt": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)})
	e.STS.AddSSOToken("sso-legacy", "carol", time.Now().Add(time.Hour))
	writeJSON(t, filepath.Join(ssoCache, sha("https://legacy.awsapps.com/start")+".json"), map[string]string{
		"accessToken": "sso-legacy", "expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "region": "us-east-1", "startUrl": "https://legacy.awsapps.com/start"})

	// aws login: a live session and an expired one.
	loginCreds := e.STS.Issue("arn:aws:sts::"+fakests.Account+":assumed-role/Login/alice", time.Hour)
	loginCache := filepath.Join(e.Home, ".aws", "login", "cache")
	sha256hex := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	loginToken := func(id fakests.Identity, expires time.Time) map[string]any {
		return map[string]any{"accessToken": map[string]any{"accessKeyId": id.AccessKeyID, "secretAccessKey": id.SecretAccessKey,
			"sessionToken": id.SessionToken, "accountId": fakests.Account, "expiresAt": expires.UTC().Format(time.RFC3339)},
			"tokenType": "aws_sigv4", "refreshToken": "login-refresh", "clientId": "arn:aws:signin:::devtools/same-device", "dpopKey": testDPoPKey}
	}
	writeJSON(t, filepath.Join(loginCache, sha256hex("arn:aws:iam::"+fakests.Account+":user/alice")+".json"), loginToken(loginCreds, loginCreds.Expires))
	writeJSON(t, filepath.Join(loginCache, sha256hex("arn:aws:iam::"+fakests.Account+":user/old")+".json"), loginToken(loginCreds, time.Now().Add(-time.Hour)))

	cfg := `[profile base]
[profile envsrc]
role_arn = ` + dev + `
credential_source = Environment
[profile imds]
role_arn = ` + dev + `
credential_source = Ec2InstanceMetadata
[profile ecs]
role_arn = ` + dev + `
credential_source = EcsContainer
[profile web]
role_arn = ` + web + `
web_identity_token_file = ` + tokenFile + `
[profile sso]
sso_session = corp
sso_account_id = ` + fakests.Account + `
sso_role_name = Developer
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
[profile ssorefresh]
sso_session = stale
sso_account_id = ` + fakests.Account + `
sso_role_name = Developer
[sso-session stale]
sso_start_url = https://stale.awsapps.com/start
sso_region = us-east-1
[profile ssolegacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = ` + fakests.Account + `
sso_role_name = Developer
[profile login]
login_session = arn:aws:iam::` + fakests.Account + `:user/alice
[profile oldlogin]
login_session = arn:aws:iam::` + fakests.Account + `:user/old
[profile proc]
credential_process = ` + proc + `
[profile staticproc]
credential_process = ` + staticProc + `
`
	if err := e.WriteAWS(cfg, "[base]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx(t), "repo"); err != nil {
		t.Fatal(err)
	}
	// Instance and container credentials come from the daemon's own
	// environment, as on an EC2 instance or in a task.
	e.Extra = []string{"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + e.STS.URL,
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + e.STS.URL + "/container-credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN=container-auth-token"}
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		profile string
		env     []string
		signer  string // substring of the ARN that must sign the git request
		calls   map[string]int
	}{
		{"envsrc", []string{"AWS_ACCESS_KEY_ID=" + u.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + u.SecretAccessKey}, ":assumed-role/Dev/", nil},
		{"imds", nil, ":assumed-role/Dev/", map[string]int{"InstanceMetadata": 1}},
		{"ecs", nil, ":assumed-role/Dev/", map[string]int{"ContainerCredentials": 1}},
		{"web", nil, ":assumed-role/Web/", map[string]int{"AssumeRoleWithWebIdentity": 1}},
		{"sso", nil, "AWSReservedSSO_Developer/alice", map[string]int{"GetRoleCredentials": 1}},
		{"ssorefresh", nil, "AWSReservedSSO_Developer/bob", map[string]int{"CreateToken": 1}},
		{"ssolegacy", nil, "AWSReservedSSO_Developer/carol", nil},
		{"login", nil, ":assumed-role/Login/alice", nil},
		{"proc", nil, ":assumed-role/Proc/p", nil},
		{"staticproc", nil, u.ARN, nil},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			before := map[string]int{}
			for k := range tt.calls {
				before[k] = e.STS.Calls(k)
			}
			e.Extra = append(e.Extra[:5:5], tt.env...)
			git(t, e, "", "ls-remote", "codecommit://"+tt.profile+"@repo")
			if p := lastPrincipal(e); !strings.Contains(p, tt.signer) {
				t.Errorf("signed by %q, want %q", p, tt.signer)
			}
			for k, n := range tt.calls {
				if got := e.STS.Calls(k) - before[k]; got != n {
					t.Errorf("%s calls = %d, want %d", k, got, n)
				}
			}
		})
	}

	t.Run("credential_process runs once per credential lifetime", func(t *testing.T) {
		for range 3 {
			git(t, e, "", "ls-remote", "codecommit://proc@repo")
			git(t, e, "", "ls-remote", "codecommit://staticproc@repo")
		}
		for _, f := range []string{runs, staticRuns} {
			b, _ := os.ReadFile(f)
			if n := strings.Count(string(b), "run"); n != 1 {
				t.Errorf("%s: the process ran %d times for 4 requests, want once", filepath.Base(f), n)
			}
		}
	})

	t.Run("web identity token is re-read at refresh", func(t *testing.T) {
		os.WriteFile(tokenFile, []byte("token-2"), 0o600)
		e.STS.AddWebIdentityToken("token-2", "repo:org/app")
		e.STS.RevokeWebIdentityToken("token-1")
		if _, stderr, err := e.Run(ctx(t), "", "codecommitd", "forget", "web"); err != nil {
			t.Fatal(stderr)
		}
		git(t, e, "", "ls-remote", "codecommit://web@repo")
		if n := e.STS.Calls("AssumeRoleWithWebIdentity"); n != 2 {
			t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 2", n)
		}
	})

	t.Run("expired aws login session", func(t *testing.T) {
		stderr := gitFails(t, e, "", "ls-remote", "codecommit://oldlogin@repo")
		assertClean(t, stderr)
		if want := "the `aws login` session of profile oldlogin has ended (the AWS sign-in service refused to renew it: TOKEN_EXPIRED); sign in again with `aws login --profile oldlogin`"; !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
		noSDKPhrase(t, "git's stderr", stderr)
		// The SDK tried to refresh the session before giving up.
		if n := e.STS.Calls("CreateOAuth2Token"); n < 1 {
			t.Errorf("CreateOAuth2Token calls = %d, want the SDK to have tried a refresh", n)
		}
	})
}

// testDPoPKey is an EC P-256 key in the PEM form `aws login` stores; the
// fake sign-in service never checks the proofs made with it.
const testDPoPKey = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIBkXQ2QW3r2fVtL0zGdyUZxk8b9o0T9v2N6bWl7t4ZyHoAoGCCqGSM49
AwEHoUQDQgAE0rP9k3jJ8mT1gJqmP6bKqj8qLq0hRrO7bq9QbVbX3a0gQbqYz5mV
H8g5mP3Yw9V2m4mXk2v1X7v2HnF5n2Jv3w==
-----END EC PRIVATE KEY-----
`

// TestCredentialProcessLeavesNothingBehind: through the daemon and through
// `codecommitd oneshot`, a credential_process that exits 0 with valid JSON
// while it leaves a child holding its output, and a grandchild that left
// its session and environment, serves git, and both are killed before git
// gets its password (the one that left its session on Linux, the only
// system that catches it).
func TestCredentialProcessLeavesNothingBehind(t *testing.T) {
	e := newEnv(t)
	creds := e.STS.Issue("arn:aws:sts::"+fakests.Account+":assumed-role/Proc/p", time.Hour)
	proc := filepath.Join(e.Dir, "proc.sh")
	os.WriteFile(proc, []byte(fmt.Sprintf(`#!/bin/sh
(exec sleep 60) & echo $! > "$0.$1.held"
if [ "$2" = escape ]; then
	( env -i setsid sh -c 'echo $$ > "$0"; exec sleep 60' "$0.$1.escaped" </dev/null >/dev/null 2>&1 & )
	while [ ! -s "$0.$1.escaped" ]; do sleep 0.01; done
fi
echo '{"Version": 1, "AccessKeyId": %q, "SecretAccessKey": %q, "SessionToken": %q, "Expiration": %q}'
`, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, creds.Expires.Format(time.RFC3339))), 0o755)
	// Only the Linux reaper catches what left its session (README,
	// Platforms); macOS has no setsid command.
	escape, arg := runtime.GOOS == "linux", ""
	if escape {
		arg = " escape"
	}
	if err := e.WriteAWS("[profile daemon]\nregion = us-east-1\ncredential_process = "+proc+" daemon"+arg+"\n"+
		"[profile oneshot]\nregion = us-east-1\ncredential_process = "+proc+" oneshot"+arg+"\n", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx(t), "repo"); err != nil {
		t.Fatal(err)
	}
	pid := func(t *testing.T, path string) int {
		t.Helper()
		b, _ := os.ReadFile(path)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid == 0 {
			t.Fatalf("%s holds no pid", filepath.Base(path))
		}
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
		return pid
	}
	for _, by := range []string{"daemon", "oneshot"} {
		t.Run(by, func(t *testing.T) {
			if by == "daemon" {
				if err := e.StartDaemon(ctx(t)); err != nil {
					t.Fatal(err)
				}
				defer e.StopDaemon()
			} else {
				e.Extra = []string{"CODECOMMITD_AUTOSTART=0"}
			}
			_, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://"+by+"@repo")
			if err != nil {
				t.Fatalf("git ls-remote: %v\n%s", err, stderr)
			}
			if oneshot := strings.Contains(stderr, "resolving in this process"); oneshot != (by == "oneshot") {
				t.Fatalf("resolved by the wrong process; stderr:\n%s", stderr)
			}
			if ok, why := testprobe.Killed(pid(t, proc+"."+by+".held")); !ok {
				t.Errorf("the child that held the output still runs:\n%s", why)
			}
			if !escape {
				return
			}
			if ok, why := testprobe.Killed(pid(t, proc+"."+by+".escaped")); !ok {
				t.Errorf("the grandchild that left its session still runs:\n%s", why)
			}
		})
	}
}
