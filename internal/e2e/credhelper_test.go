//go:build unix

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/sockpath"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// twoProfileEnv is a world with repositories app and lib, and profiles dev
// (alice's keys) and ops (a role).
func twoProfileEnv(t *testing.T) *testenv.Env {
	e := newEnv(t)
	u := e.STS.AddUser("alice")
	ops := e.STS.AddRole(fakests.Role{ARN: "Ops"})
	if err := e.WriteAWS("[profile dev]\nregion = us-east-1\n[profile ops]\nrole_arn = "+ops+"\nsource_profile = dev\nregion = us-east-1\n",
		"[dev]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"app", "lib"} {
		if err := e.Seed(ctx(t), r); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// principalFor returns who signed the last request for repository repo.
func principalFor(e *testenv.Env, repo string) string {
	reqs := e.Git.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if strings.HasPrefix(reqs[i].Path, "/v1/repos/"+repo+"/") && reqs[i].Principal != "" {
			return reqs[i].Principal
		}
	}
	return ""
}

func TestCredentialHelperForHTTPSURLs(t *testing.T) {
	e := twoProfileEnv(t)
	host := "https://" + e.Git.Host
	// The README's lines: only our helper for this host, with paths, and a
	// profile per repository. A storage helper configured globally first
	// must never see our passwords.
	store := filepath.Join(e.Dir, "stored-credentials")
	for _, kv := range [][2]string{
		{"credential.helper", "store --file " + store},
		{"credential." + host + ".helper", ""},
		{"credential." + host + ".helper", "codecommit"},
		{"credential." + host + ".useHttpPath", "true"},
		{"codecommit.profile", "dev"},
		{"codecommit." + host + "/v1/repos/lib.profile", "ops"},
	} {
		git(t, e, "", "config", "--global", "--add", kv[0], kv[1])
	}
	git(t, e, "", "clone", "--quiet", host+"/v1/repos/app", "app")
	git(t, e, "app", "commit", "--quiet", "--allow-empty", "-m", "via https")
	git(t, e, "app", "push", "--quiet", "origin", "main")
	git(t, e, "", "clone", "--quiet", host+"/v1/repos/lib", "lib")
	if p := principalFor(e, "app"); !strings.HasSuffix(p, ":user/alice") {
		t.Errorf("app signed by %q, want profile dev (alice)", p)
	}
	if p := principalFor(e, "lib"); !strings.Contains(p, ":assumed-role/Ops/") {
		t.Errorf("lib signed by %q, want profile ops (codecommit.<url>.profile)", p)
	}
	if b, _ := os.ReadFile(store); len(b) > 0 {
		t.Errorf("the storage helper received credentials:\n%s", b)
	}
}

func TestCredentialHelperDirectly(t *testing.T) {
	e := twoProfileEnv(t)
	e.Extra = []string{"AWS_PROFILE=dev"}
	in := fmt.Sprintf("protocol=https\nhost=%s\npath=v1/repos/app\n\n", e.Git.Host)
	cmd := e.Command(ctx(t), "", "git-credential-codecommit", "get")
	cmd.Stdin = strings.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^password_expiry_utc=(\d+)$`).FindStringSubmatch(string(out))
	if m == nil || !strings.Contains(string(out), "username=AKIA") || !strings.Contains(string(out), "password=") {
		t.Fatalf("output = %q", out)
	}
	exp, _ := strconv.ParseInt(m[1], 10, 64)
	if d := time.Until(time.Unix(exp, 0)); d <= 10*time.Minute || d > 15*time.Minute {
		t.Errorf("password_expiry_utc is %v from now, want 10–15 minutes", d)
	}

	cmd = e.Command(ctx(t), "", "git-credential-codecommit", "get")
	cmd.Stdin = strings.NewReader(fmt.Sprintf("protocol=https\nhost=%s\n\n", e.Git.Host))
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "useHttpPath true") {
		t.Errorf("without a path: %v %q; want a refusal naming the fix", err, out)
	}
}

// spyGit makes a git exec-path whose git and git-remote-http record their
// arguments and GIT_CONFIG_* environment in log before running the real
// ones; version, if set, is what the spy git claims to be.
func spyGit(t *testing.T, e *testenv.Env, version string) (execPath, log string) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	real := strings.TrimSpace(string(out))
	execPath = filepath.Join(e.Dir, "spy")
	log = filepath.Join(e.Dir, "spy.log")
	os.MkdirAll(execPath, 0o755)
	entries, _ := os.ReadDir(real)
	for _, ent := range entries {
		os.Symlink(filepath.Join(real, ent.Name()), filepath.Join(execPath, ent.Name()))
	}
	for _, name := range []string{"git", "git-remote-http", "git-remote-https"} {
		os.Remove(filepath.Join(execPath, name))
		script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"ARGV %s $*\" >> %s\nenv | grep '^GIT_CONFIG_' | sed 's/^/ENV /' >> %s\n", name, log, log)
		if name == "git" && version != "" {
			script += fmt.Sprintf("case \"$1\" in --version|version) echo 'git version %s'; exit 0;; esac\n", version)
		}
		script += fmt.Sprintf("exec %s \"$@\"\n", filepath.Join(real, name))
		os.WriteFile(filepath.Join(execPath, name), []byte(script), 0o755)
	}
	return execPath, log
}

var signedPassword = regexp.MustCompile(`\d{8}T\d{6}Z[0-9a-f]{64}`)

func TestNoPasswordOnAnyCommandLine(t *testing.T) {
	e := twoProfileEnv(t)
	direct(e) // the password's path: TestTransportKeepsSecretsFromGit is the transport's
	execPath, log := spyGit(t, e, "")
	store := filepath.Join(e.Dir, "stored-credentials")
	git(t, e, "", "config", "--global", "credential.helper", "store --file "+store)
	before, _ := os.ReadFile(filepath.Join(e.Home, ".gitconfig"))
	e.Extra = append(e.Extra, "GIT_EXEC_PATH="+execPath)
	roundTripRepo(t, e, "codecommit://dev@app")

	spy, _ := os.ReadFile(log)
	if !strings.Contains(string(spy), "ARGV git-remote-https ") {
		t.Fatalf("the spy saw no git remote-http; it proves nothing:\n%s", spy)
	}
	for _, line := range strings.Split(string(spy), "\n") {
		if !strings.HasPrefix(line, "ARGV ") {
			continue
		}
		if signedPassword.MatchString(line) {
			t.Errorf("a signed password on a command line: %s", line)
		}
		for _, id := range e.STS.Issued() {
			if strings.Contains(line, id.SessionToken) {
				t.Errorf("a session token on a command line: %s", line)
			}
		}
	}
	// The injected configuration is scoped to the one repository URL.
	url := "https://" + e.Git.Host + "/v1/repos/app"
	for _, want := range []string{"ENV GIT_CONFIG_PARAMETERS='credential." + url + ".helper'='' 'credential." + url + ".helper'='!f() {",
		" 'credential." + url + ".useHttpPath'='true' 'http." + url + ".extraHeader'='Authorization: Basic ",
		" 'http." + url + ".followRedirects'='false'\n"} {
		if !strings.Contains(string(spy), want) {
			t.Errorf("spy log lacks %q", want)
		}
	}
	after, _ := os.ReadFile(filepath.Join(e.Home, ".gitconfig"))
	if string(before) != string(after) {
		t.Errorf("the user's global config changed:\n%s", after)
	}
	if local, _ := os.ReadFile(filepath.Join(e.Dir, "a", ".git", "config")); strings.Contains(string(local), "credential") {
		t.Errorf("the clone's config holds credential settings:\n%s", local)
	}
	if b, _ := os.ReadFile(store); len(b) > 0 {
		t.Errorf("the storage helper received credentials:\n%s", b)
	}
}

// roundTripRepo clones url into a, pushes, fetches.
func roundTripRepo(t *testing.T, e *testenv.Env, url string) {
	git(t, e, "", "clone", "--quiet", url, "a")
	git(t, e, "a", "commit", "--quiet", "--allow-empty", "-m", "x")
	git(t, e, "a", "push", "--quiet", "origin", "main")
	git(t, e, "a", "fetch", "--quiet", "origin")
}

func TestOlderGit(t *testing.T) {
	e := twoProfileEnv(t)
	execPath, log := spyGit(t, e, "2.30.9")
	e.Extra = []string{"GIT_EXEC_PATH=" + execPath}
	stderr := gitFails(t, e, "", "ls-remote", "codecommit://dev@app")
	const want = "git-remote-codecommit: git 2.30.9 is older than 2.31 and cannot take the password from its environment; upgrade git, or set CODECOMMITD_PASSWORD_IN_ARGV=1 to pass it on git's command line as AWS's helper does (any local user can then read it with ps)\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks the line\n%s\ngot:\n%s", want, stderr)
	}
	// The explicit opt-in restores AWS's behaviour, password in argv (which
	// also shows the spy would catch one).
	e.Extra = append(e.Extra, "CODECOMMITD_PASSWORD_IN_ARGV=1")
	git(t, e, "", "ls-remote", "codecommit://dev@app")
	if spy, _ := os.ReadFile(log); !signedPassword.Match(spy) {
		t.Errorf("opt-in mode: the spy saw no password in argv:\n%s", spy)
	}
}

func TestRemoteHelperProfileIsNotGitConfigs(t *testing.T) {
	e := twoProfileEnv(t)
	// A global codecommit.profile is for plain https:// URLs; a
	// codecommit:// URL without a profile means AWS_PROFILE, for both the
	// endpoint and the password.
	git(t, e, "", "config", "--global", "codecommit.profile", "ops")
	e.Extra = []string{"AWS_PROFILE=dev"}
	git(t, e, "", "ls-remote", "codecommit://app")
	if p := principalFor(e, "app"); !strings.HasSuffix(p, ":user/alice") {
		t.Errorf("signed by %q, want profile dev from AWS_PROFILE", p)
	}
}

// TestABadSocketPathIsNamed (issue #21): with CODECOMMITD_SOCKET naming
// something that cannot be a socket, both helpers say so in one line with
// the fix, start no daemon, and git still works through the fallback.
func TestABadSocketPathIsNamed(t *testing.T) {
	e := twoProfileEnv(t)
	host := "https://" + e.Git.Host
	git(t, e, "", "config", "--global", "credential."+host+".helper", "codecommit")
	git(t, e, "", "config", "--global", "credential."+host+".useHttpPath", "true")
	git(t, e, "", "config", "--global", "codecommit.profile", "dev")
	file, folder := filepath.Join(e.Dir, "file.sock"), filepath.Join(e.Dir, "folder.sock")
	os.WriteFile(file, nil, 0o600)
	os.Mkdir(folder, 0o700)
	long := filepath.Join(e.Dir, strings.Repeat("d", 120), "d.sock")
	fix := "choose another path with CODECOMMITD_SOCKET or --socket"
	for _, tc := range []struct{ name, socket, want string }{
		{"a regular file", file, "socket path " + file + " is a regular file, not a socket; move it away, or " + fix},
		{"a folder", folder, "socket path " + folder + " is a folder, not a socket; move it away, or " + fix},
		{"too long", long, fmt.Sprintf("socket path %s is %d bytes long; the limit here is %d (107 on Linux, 103 on macOS and the BSDs): choose a shorter path with CODECOMMITD_SOCKET or --socket", long, len(long), sockpath.MaxLen)},
	} {
		for _, url := range []string{"codecommit://dev@app", host + "/v1/repos/app"} {
			t.Run(tc.name+" "+url[:strings.Index(url, ":")], func(t *testing.T) {
				e.Extra = []string{"CODECOMMITD_SOCKET=" + tc.socket}
				defer func() { e.Extra = nil }()
				_, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", url)
				if err != nil {
					t.Fatalf("git ls-remote %s: %v\n%s", url, err, stderr)
				}
				if want := "codecommitd: " + tc.want + "; resolving in this process\n"; stderr != want {
					t.Errorf("stderr\n got: %q\nwant: %q", stderr, want)
				}
			})
		}
	}
}
