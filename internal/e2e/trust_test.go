//go:build unix

package e2e

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/grpc"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testenv"
	"github.com/codecommitd/codecommitd/internal/testprobe"
	"github.com/codecommitd/codecommitd/internal/wire"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// TestNoSecretInAnyErrorText feeds a secret through every source of error
// text codecommitd has and greps everything a person or a log could read:
// the helper's stderr (what git shows), the daemon's log, and the error of
// the RPC itself.
func TestNoSecretInAnyErrorText(t *testing.T) {
	// Secrets of two shapes: one that looks like an AWS secret key, and
	// one that looks like nothing, which only building messages from facts
	// keeps out.
	const awsShaped = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
	const plain = "correct-horse-battery-staple"
	sha := func(s string) string { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

	for _, tc := range []struct {
		name    string
		secrets []string
		setup   func(t *testing.T, e *envT) (config, credentials string)
	}{
		{"a line without = in the credentials file", []string{awsShaped, plain}, func(t *testing.T, e *envT) (string, string) {
			return "[profile dev]\nregion = us-east-1\n", "[dev]\naws_access_key_id = AKIAEXAMPLE\n" + awsShaped + "\n" + plain + "\n"
		}},
		{"a line without = in the config file", []string{awsShaped, plain}, func(t *testing.T, e *envT) (string, string) {
			return "[profile dev]\nregion = us-east-1\n" + plain + "\n" + awsShaped + "\n", ""
		}},
		{"credential_process output that is not JSON", []string{awsShaped}, func(t *testing.T, e *envT) (string, string) {
			script := e.script(t, "proc.sh", `echo '{"Version": 1, "AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "`+awsShaped+`"'`)
			return "[profile dev]\nregion = us-east-1\ncredential_process = " + script + "\n", ""
		}},
		{"credential_process stderr", []string{awsShaped}, func(t *testing.T, e *envT) (string, string) {
			script := e.script(t, "proc.sh", "echo 'login failed for "+awsShaped+"' >&2; echo '"+awsShaped+"' >&2; echo 'aws_secret_access_key: "+awsShaped+"' >&2; exit 2")
			return "[profile dev]\nregion = us-east-1\ncredential_process = " + script + "\n", ""
		}},
		{"an SSO cache file that is not JSON", []string{awsShaped}, func(t *testing.T, e *envT) (string, string) {
			cache := filepath.Join(e.Home, ".aws", "sso", "cache")
			os.MkdirAll(cache, 0o700)
			os.WriteFile(filepath.Join(cache, sha("corp")+".json"), []byte(`{"accessToken": "`+awsShaped+`", "expiresAt": `), 0o600)
			return "[profile dev]\nregion = us-east-1\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\n" +
				"[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n", ""
		}},
		{"an STS error body that echoes the secret key", nil, func(t *testing.T, e *envT) (string, string) {
			u := e.STS.AddUser("alice")
			e.secrets = append(e.secrets, u.SecretAccessKey)
			for range 2 { // the git call's and the test's own
				e.STS.FailNext("AssumeRole", fakests.Fault{Status: 403, Code: "AccessDenied", Message: "denied for key " + u.SecretAccessKey + " and " + awsShaped})
			}
			e.secrets = append(e.secrets, awsShaped)
			role := e.STS.AddRole(fakests.Role{ARN: "Dev"})
			return "[profile base]\n[profile dev]\nrole_arn = " + role + "\nsource_profile = base\nregion = us-east-1\n",
				"[base]\naws_access_key_id = " + u.AccessKeyID + "\naws_secret_access_key = " + u.SecretAccessKey + "\n"
		}},
		{"a web identity token the service echoes", []string{awsShaped}, func(t *testing.T, e *envT) (string, string) {
			token := filepath.Join(e.Dir, "token")
			os.WriteFile(token, []byte(awsShaped), 0o600)
			for range 8 { // the SDK retries a rejected token
				e.STS.FailNext("AssumeRoleWithWebIdentity", fakests.Fault{Status: 400, Code: "InvalidIdentityToken", Message: "token " + awsShaped + " is not valid"})
			}
			role := e.STS.AddRole(fakests.Role{ARN: "Web"})
			return "[profile dev]\nregion = us-east-1\nrole_arn = " + role + "\nweb_identity_token_file = " + token + "\n", ""
		}},
		{"a web identity token file that is a directory", nil, func(t *testing.T, e *envT) (string, string) {
			token := filepath.Join(e.Dir, "tokendir")
			os.Mkdir(token, 0o700)
			role := e.STS.AddRole(fakests.Role{ARN: "Web"})
			return "[profile dev]\nregion = us-east-1\nrole_arn = " + role + "\nweb_identity_token_file = " + token + "\n", ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &envT{Env: newEnv(t), secrets: tc.secrets}
			cfg, creds := tc.setup(t, e)
			if err := e.WriteAWS(cfg, creds); err != nil {
				t.Fatal(err)
			}
			if err := e.StartDaemon(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if err := e.Seed(ctx(t), "repo"); err != nil {
				t.Fatal(err)
			}
			stderr := gitFails(t, e.Env, "", "ls-remote", "codecommit://dev@repo")
			assertClean(t, stderr)
			t.Logf("git says:\n%s", stderr)
			if !strings.Contains(stderr, "profile dev") && !strings.Contains(stderr, "SSO session corp") {
				t.Errorf("the error names neither the profile nor its SSO session:\n%s", stderr)
			}
			c, err := client.Dial(e.Socket)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, rpcErr := c.SignURL(ctx(t), &broker.SignRequest{Profile: "dev", Repository: "repo", Env: map[string]string{"HOME": e.Home, "CODE_COMMIT_ENDPOINT": e.Git.Host}})
			if rpcErr == nil {
				t.Fatal("the RPC succeeded")
			}
			for where, text := range map[string]string{"helper stderr": stderr, "daemon log": e.DaemonLog(), "RPC error": rpcErr.Error()} {
				for _, s := range e.secrets {
					for _, frag := range []string{s, s[len(s)/4 : len(s)/4+12]} {
						if strings.Contains(text, frag) {
							t.Errorf("the %s holds the secret (%q):\n%s", where, frag, text)
						}
					}
				}
			}
		})
	}
}

// envT is a world with the secrets a test must not find.
type envT struct {
	*testenv.Env
	secrets []string
}

func (e *envT) script(t *testing.T, name, body string) string {
	p := filepath.Join(e.Dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAutostartedDaemonKeepsNothingOfGit checks that a daemon git starts
// on demand does not keep the repository's folder busy and does not carry
// git's environment into every credential_process it runs.
func TestAutostartedDaemonKeepsNothingOfGit(t *testing.T) {
	e, _ := roleEnv(t)
	git(t, e, "", "clone", "--quiet", "codecommit://dev@repo", "work")
	e.StopDaemon()
	e.Extra = []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=user.note", "GIT_CONFIG_VALUE_0=x",
		"UNRELATED_SETTING=1", "AWS_SECRET_ACCESS_KEY=not-for-the-daemon", "LD_LIBRARY_PATH=/nowhere"}
	git(t, e, "work", "fetch", "--quiet")
	pid := e.DaemonPID()
	if pid == 0 {
		t.Fatal("no daemon was autostarted")
	}
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	if err != nil {
		t.Fatal(err)
	}
	if cwd != "/" {
		t.Errorf("the autostarted daemon works in %s, want /", cwd)
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(string(raw), "\x00")
	has := func(prefix string) bool {
		for _, kv := range env {
			if strings.HasPrefix(kv, prefix) {
				return true
			}
		}
		return false
	}
	for _, bad := range []string{"GIT_", "UNRELATED_SETTING=", "AWS_SECRET_ACCESS_KEY=", "LD_LIBRARY_PATH="} {
		if has(bad) {
			t.Errorf("the autostarted daemon's environment holds %s…", bad)
		}
	}
	for _, good := range []string{"HOME=", "PATH=", "AWS_ENDPOINT_URL_STS="} {
		if !has(good) {
			t.Errorf("the autostarted daemon's environment lacks %s…", good)
		}
	}
}

// TestHelperRefusesAListenerOfAnotherUser puts, where the helper expects
// its daemon, a socket served by another user's process that answers every
// request with "MFA required, run this mfa_process". The helper must find
// out from the kernel who listens, never send it anything, never run what
// it says, and resolve in-process instead.
func TestHelperRefusesAListenerOfAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a listener as another user")
	}
	e, _ := roleEnv(t)
	// The hostile listener runs as nobody, in a folder of nobody's...
	pub := testprobe.ShortDir(t)
	testprobe.RequireOthersCanEnter(t, pub)
	os.Chmod(pub, 0o755)
	theirs := filepath.Join(pub, "theirs")
	os.Mkdir(theirs, 0o700)
	os.Chown(theirs, 65534, 65534)
	exe := filepath.Join(pub, "e2e.test")
	data, _ := os.ReadFile(os.Args[0])
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(e.Dir, "pwned")
	hostileSock := filepath.Join(theirs, "d.sock")
	cmd := exec.Command(exe, "-test.run=^TestHostileListener$")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Env = []string{"HOME=/", "HOSTILE_SOCKET=" + hostileSock, "HOSTILE_MARKER=" + marker}
	cmd.Dir = pub
	stdout, _ := cmd.StdoutPipe()
	var heard strings.Builder
	cmd.Stderr = &heard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ready := make([]byte, 5)
	if _, err := stdout.Read(ready); err != nil || string(ready) != "ready" {
		t.Fatalf("hostile listener did not start: %q %v", ready, err)
	}
	// ...and its socket is then moved into our own private socket folder,
	// so only the kernel's answer about the peer can tell.
	if err := os.MkdirAll(filepath.Dir(e.Socket), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(hostileSock, e.Socket); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	if err != nil {
		t.Fatalf("git failed instead of resolving in-process: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "refs/heads/main") {
		t.Errorf("ls-remote = %q", out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the helper ran the mfa_process another user's listener sent")
	}
	if !strings.Contains(stderr, "does not trust") || !strings.Contains(stderr, "uid 65534") || !strings.Contains(stderr, "resolving in this process") {
		t.Errorf("stderr does not say in one line why the daemon was refused:\n%s", stderr)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if strings.Contains(heard.String(), "got a request") {
		t.Errorf("the hostile listener received requests:\n%s", heard.String())
	}
}

// TestHostileListener is not a test: TestHelperRefusesAListenerOfAnotherUser
// runs the test binary as another user to serve a hostile daemon.
func TestHostileListener(t *testing.T) {
	sock := os.Getenv("HOSTILE_SOCKET")
	if sock == "" {
		t.Skip("only runs as the child of TestHelperRefusesAListenerOfAnotherUser")
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o666)
	srv := grpc.NewServer()
	codecommitdv1.RegisterBrokerServiceServer(srv, hostile{marker: os.Getenv("HOSTILE_MARKER")})
	fmt.Print("ready")
	srv.Serve(l)
}

type hostile struct {
	codecommitdv1.UnimplementedBrokerServiceServer
	marker string
}

func (h hostile) SignURL(_ context.Context, r *codecommitdv1.SignURLRequest) (*codecommitdv1.SignURLResponse, error) {
	fmt.Fprintln(os.Stderr, "hostile: got a request for", r.GetProfile())
	return nil, wire.ToStatus(&broker.Error{Kind: broker.ErrMFARequired, Profile: r.GetProfile(), Msg: "MFA required",
		MFASerial: "arn:aws:iam::1:mfa/x", MFAProcess: "touch " + h.marker})
}
