//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/gitserver"
	"github.com/codecommitd/codecommitd/internal/testenv"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// transportStatus is what `codecommitd status --json` says of the git
// transport.
type transportStatus struct {
	URL         string `json:"url"`
	Grants      int    `json:"grants"`
	Connections []struct {
		Host     string `json:"host"`
		Protocol string `json:"protocol"`
		Requests int64  `json:"requests"`
		InFlight int    `json:"in_flight"`
	} `json:"connections"`
}

func statusTransport(t *testing.T, e *testenv.Env) *transportStatus {
	t.Helper()
	out, stderr, err := e.Run(ctx(t), "", "codecommitd", "status", "--json")
	if err != nil {
		t.Fatalf("status --json: %v\n%s", err, stderr)
	}
	var st struct {
		Transport *transportStatus `json:"transport"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if st.Transport == nil {
		t.Fatalf("status --json shows no transport:\n%s", out)
	}
	return st.Transport
}

func (s *transportStatus) requests() (n int64) {
	for _, c := range s.Connections {
		n += c.Requests
	}
	return n
}

// TestTransportByDefault: clone, push, fetch and ls-remote go through the
// daemon's git transport: every request the stand-in sees came over the
// daemon's connection, signed, and none was answered 401.
func TestTransportByDefault(t *testing.T) {
	for _, p := range []struct {
		name string
		opts []gitserver.Option
	}{{"HTTP/2", nil}, {"HTTP/1.1", []gitserver.Option{gitserver.HTTP1Only()}}} {
		t.Run(p.name, func(t *testing.T) {
			e, _ := roleEnv(t, p.opts...)
			if err := e.StartDaemon(ctx(t)); err != nil {
				t.Fatal(err)
			}
			roundTrip(t, e, "codecommit://dev@repo")
			total, unauthorized := e.Git.Seen()
			if unauthorized != 0 {
				t.Errorf("the stand-in answered %d of %d requests 401", unauthorized, total)
			}
			for _, r := range e.Git.Requests() {
				if !r.Credentials || r.Status >= 400 {
					t.Errorf("request %s %s: credentials %v, status %d", r.Method, r.Path, r.Credentials, r.Status)
				}
			}
			st := statusTransport(t, e)
			if got := st.requests(); got != int64(total) || st.Grants != 0 {
				t.Errorf("the transport carried %d requests with %d grants left, the stand-in saw %d: want all of them, none left", got, st.Grants, total)
			}
			want := map[bool]string{false: "h2", true: "http/1.1"}[len(p.opts) > 0]
			for _, c := range st.Connections {
				if c.Protocol != want || c.Host != e.GitHost() {
					t.Errorf("upstream connection %+v, want %s to %s", c, want, e.GitHost())
				}
			}
			if log := e.DaemonLog(); strings.Count(log, "git transport closed") != 6 {
				t.Errorf("the daemon's log has %d transport streams closed, want 6 (one per git operation):\n%s", strings.Count(log, "git transport closed"), log)
			}
		})
	}
}

// TestDirectAndOneshotTakeThePasswordsPath: CODECOMMITD_TRANSPORT=direct,
// and a helper that resolves in a one-shot child (no daemon), hand git a
// signed password as before: the transport carries nothing.
func TestDirectAndOneshotTakeThePasswordsPath(t *testing.T) {
	t.Run("direct", func(t *testing.T) {
		e, _ := roleEnv(t)
		if err := e.StartDaemon(ctx(t)); err != nil {
			t.Fatal(err)
		}
		direct(e)
		git(t, e, "", "ls-remote", "codecommit://dev@repo")
		if n, _ := e.Git.Seen(); n == 0 {
			t.Fatal("the stand-in saw nothing")
		}
		if st := statusTransport(t, e); st.requests() != 0 || len(st.Connections) != 0 {
			t.Errorf("with %s=direct the transport carried %d requests on %d connections, want none", envvar.Transport, st.requests(), len(st.Connections))
		}
	})
	t.Run("one-shot", func(t *testing.T) {
		e, _ := roleEnv(t)
		e.Extra = append(e.Extra, envvar.Autostart+"=0")
		_, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
		if err != nil || !strings.Contains(stderr, "resolving in this process") {
			t.Fatalf("ls-remote without a daemon: %v\n%s", err, stderr)
		}
		if n, _ := e.Git.Seen(); n == 0 {
			t.Fatal("the stand-in saw nothing")
		}
	})
	t.Run("a bad value", func(t *testing.T) {
		e, _ := roleEnv(t)
		e.Extra = append(e.Extra, envvar.Transport+"=loopback")
		stderr := gitFails(t, e, "", "ls-remote", "codecommit://dev@repo")
		if !strings.Contains(stderr, envvar.Transport+"=loopback is neither daemon nor direct") || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("stderr:\n%s", stderr)
		}
	})
}

// proc is one process of a world, as /proc shows it.
type proc struct {
	pid           int
	name          string
	env, cmdline  []byte
	parent        int
	gitConfigArgs string // its GIT_CONFIG_PARAMETERS
}

// worldProcs returns the processes whose environment names e's socket:
// everything a git command in e started (git, the helpers, git's own
// programs), and e's daemon.
func worldProcs(e *testenv.Env) []proc {
	mark := []byte(envvar.Socket + "=" + e.Socket + "\x00")
	dirs, _ := os.ReadDir("/proc")
	var out []proc
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil || !bytes.Contains(env, mark) {
			continue
		}
		p := proc{pid: pid, env: env}
		p.cmdline, _ = os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		comm, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "comm"))
		p.name = strings.TrimSpace(string(comm))
		if stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 {
				if f := strings.Fields(string(stat[i+1:])); len(f) > 1 {
					p.parent, _ = strconv.Atoi(f[1])
				}
			}
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("GIT_CONFIG_PARAMETERS=")); ok {
				p.gitConfigArgs = string(v)
			}
		}
		out = append(out, p)
	}
	return out
}

// scanWhile runs git with args in e and, until it exits, reads the
// environment and command line of every process of the world, over and
// over; it returns the names of the processes seen and what secret was
// found where.
func scanWhile(t *testing.T, e *testenv.Env, dir string, secrets []string, args ...string) (seen map[string]bool, found []string) {
	t.Helper()
	cmd := e.Command(ctx(t), dir, "git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	seen = map[string]bool{}
	check := func() {
		for _, p := range worldProcs(e) {
			seen[p.name] = true
			for _, where := range []struct {
				what string
				b    []byte
			}{{"environment", p.env}, {"command line", p.cmdline}} {
				for _, s := range secrets {
					if bytes.Contains(where.b, []byte(s)) {
						found = append(found, p.name+"'s "+where.what+" holds a secret")
					}
				}
				if signedPassword.Match(where.b) || bytes.Contains(where.b, []byte("Authorization: Basic")) {
					found = append(found, p.name+"'s "+where.what+" holds a signed password")
				}
			}
		}
	}
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			return seen, found
		default:
			check()
		}
	}
}

// TestTransportKeepsSecretsFromGit reads /proc/<pid>/environ and cmdline
// of every process of a clone, a fetch and a push, while they run (over a
// slow link, so each lasts long enough to be seen): none holds a signed
// password, the session token or the secret key. Handing git a signed
// password (CODECOMMITD_TRANSPORT=direct) fails the same scan, which shows
// that it sees what it must.
func TestTransportKeepsSecretsFromGit(t *testing.T) {
	e, role := roleEnv(t)
	creds, _ := os.ReadFile(filepath.Join(e.Home, ".aws", "credentials"))
	secretKey := regexp.MustCompile(`aws_secret_access_key = (\S+)`).FindSubmatch(creds)
	if secretKey == nil {
		t.Fatal("no secret key in the credentials file")
	}
	if err := e.SetRTT(60 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo") // warm: the role's session exists now
	secrets := []string{string(secretKey[1]), lastIssued(e, role[strings.LastIndexByte(role, '/')+1:]).SessionToken}
	if secrets[1] == "" {
		t.Fatal("no session token issued: the test proves nothing")
	}
	for _, p := range []struct {
		name, dir string
		args      []string
	}{
		{"clone", "", []string{"clone", "--quiet", "codecommit://dev@repo", "w"}},
		{"fetch", "w", []string{"fetch", "--quiet", "origin"}},
		{"push", "w", []string{"push", "--quiet", "origin", "HEAD:refs/heads/scan"}},
	} {
		if p.name == "push" {
			git(t, e, "w", "commit", "--quiet", "--allow-empty", "-m", "scan")
		}
		seen, found := scanWhile(t, e, p.dir, secrets, p.args...)
		if !seen["git-remote-http"] && !seen["git-remote-codecommit"] {
			t.Errorf("%s: the scan saw no helper (saw %v); it proves nothing", p.name, seen)
		}
		for _, f := range found {
			t.Errorf("%s: %s", p.name, f)
		}
	}
	// The password's path does carry one, and the scan sees it.
	direct(e)
	_, found := scanWhile(t, e, "w", secrets, "fetch", "--quiet", "origin")
	if len(found) == 0 {
		t.Error("the scan finds no password in git-remote-https's environment on the password's path; it proves nothing")
	}
}

// helperSession runs git-remote-codecommit as git would, with its stdin
// held open, so that its git-remote-http (and the grant) stay alive until
// the returned function closes it. It returns the loopback URL and the
// capability header, read from that git-remote-http's environment.
func helperSession(t *testing.T, e *testenv.Env, url string) (loopback, header string, end func()) {
	t.Helper()
	execPath, _, err := e.Run(ctx(t), "", "git", "--exec-path")
	if err != nil {
		t.Fatal(err)
	}
	cmd := e.Command(ctx(t), "", "git-remote-codecommit", "origin", url)
	cmd.Env = append(cmd.Env, "GIT_EXEC_PATH="+strings.TrimSpace(execPath))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var child proc
	waitUntil(t, "git-remote-codecommit starts git-remote-http", func() bool {
		for _, p := range worldProcs(e) {
			if p.parent == cmd.Process.Pid && strings.Contains(p.gitConfigArgs, "X-Codecommitd-Capability") {
				child = p
				return true
			}
		}
		return false
	})
	m := regexp.MustCompile(`'http\.(http://127\.0\.0\.1:[0-9]+/v1/repos/[^']+)\.extraHeader'='(X-Codecommitd-Capability: [A-Za-z0-9_-]+)'`).FindStringSubmatch(child.gitConfigArgs)
	if m == nil {
		t.Fatalf("git-remote-http's GIT_CONFIG_PARAMETERS holds no capability header: %s", child.gitConfigArgs)
	}
	var ended bool
	end = func() {
		if !ended {
			ended = true
			stdin.Close()
			cmd.Wait()
		}
	}
	t.Cleanup(end)
	return m[1], m[2], end
}

// fetchRefs asks url's info/refs with the header h ("" for none), and
// returns the status and the body's first line.
func fetchRefs(t *testing.T, url, h string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/info/refs?service=git-upload-pack", nil)
	if name, value, ok := strings.Cut(h, ": "); ok {
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	line, _, _ := strings.Cut(string(b), "\n")
	return resp.StatusCode, line
}

// TestCapabilityRefusals: through the real daemon, a request with no, a
// wrong, or another repository's capability is refused, and so is one
// with the capability of a helper that has exited; another user's
// connection is refused with the capability itself.
func TestCapabilityRefusals(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.Seed(ctx(t), "other"); err != nil {
		t.Fatal(err)
	}
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	loopback, header, end := helperSession(t, e, "codecommit://dev@repo")
	if status, _ := fetchRefs(t, loopback, header); status != http.StatusOK {
		t.Fatalf("the capability itself: HTTP %d; the refusals below prove nothing", status)
	}
	name, value, _ := strings.Cut(header, ": ")
	wrong := value[:len(value)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(value, "AA")]
	other := strings.TrimSuffix(loopback, "/repo") + "/other"
	for _, tc := range []struct{ name, url, header string }{
		{"no capability", loopback, ""},
		{"a wrong capability", loopback, name + ": " + wrong},
		{"another repository's capability", other, header},
	} {
		if status, line := fetchRefs(t, tc.url, tc.header); status != http.StatusForbidden || !strings.HasPrefix(line, "codecommitd: ") {
			t.Errorf("%s: HTTP %d, %q; want 403 and one line", tc.name, status, line)
		}
	}
	if os.Getuid() == 0 {
		// git run as nobody, with the capability: refused for its uid.
		cmd := exec.Command("git", "-c", "http.extraHeader="+header, "ls-remote", loopback)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Env = []string{"HOME=/", "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0"}
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "codecommitd serves only its own user (uid 0); this connection comes from uid 65534") {
			t.Errorf("git as another user with the capability: %v\n%s", err, out)
		}
	} else {
		t.Log("not root: another user's connection is not tried")
	}
	end()
	waitUntil(t, "the capability ends with its helper", func() bool {
		status, _ := fetchRefs(t, loopback, header)
		return status == http.StatusForbidden
	})
	if st := statusTransport(t, e); st.Grants != 0 {
		t.Errorf("%d grants left after the helper exited", st.Grants)
	}
}

// TestDaemonKilledDuringAFetch: a daemon killed with -9 while git fetches
// through it fails that fetch with one line saying so; the next git
// command works (a new daemon starts).
func TestDaemonKilledDuringAFetch(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.SetRTT(250 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "clone", "--quiet", "codecommit://dev@repo", "w")
	pid := e.DaemonPID()
	cmd := e.Command(ctx(t), "w", "git", "fetch", "origin")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForGitRemoteHTTP(t, e)
	syscall.Kill(pid, syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatal("the fetch under way succeeded, want it to fail")
	}
	if !strings.Contains(stderr.String(), daemonStoppedLine) {
		t.Errorf("the fetch under way said:\n%s\nwant the line %q", stderr.String(), daemonStoppedLine)
	}
	e.SetRTT(0)
	git(t, e, "w", "fetch", "--quiet", "origin")
}

// waitForGitRemoteHTTP returns once git's http helper runs in e: the
// operation's requests go through the transport from then on.
func waitForGitRemoteHTTP(t *testing.T, e *testenv.Env) {
	t.Helper()
	waitUntil(t, "git-remote-http runs", func() bool {
		for _, p := range worldProcs(e) {
			if p.name == "git-remote-http" {
				return true
			}
		}
		return false
	})
}

const daemonStoppedLine = "git-remote-codecommit: the codecommitd daemon stopped during this git operation (it was restarted or killed), so the operation failed; run the command again: the next one works"

// TestStopLetsATransferFinish: codecommitd stop during a clone lets the
// clone finish through the transport before the daemon exits.
func TestStopLetsATransferFinish(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.SetRTT(250 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	cmd := e.Command(ctx(t), "", "git", "clone", "--quiet", "codecommit://dev@repo", "w")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForGitRemoteHTTP(t, e)
	_, stopErr, err := e.Run(ctx(t), "", "codecommitd", "stop")
	if err != nil {
		t.Fatalf("stop: %v\n%s", err, stopErr)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the clone under way at stop: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "daemon stopped") {
		t.Errorf("the clone said: %s", stderr.String())
	}
}

// TestSSLVerifyFalseIsRefused: http.sslVerify=false for the repository's
// URL is refused for signing, with one line.
func TestSSLVerifyFalseIsRefused(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-c", "http.sslVerify=false", "ls-remote", "codecommit://dev@repo"},
		{"-c", "http.https://" + e.GitHost() + "/v1/repos/repo.sslVerify=false", "ls-remote", "codecommit://dev@repo"},
	} {
		stderr := gitFails(t, e, "", args...)
		if !strings.Contains(stderr, "http.sslVerify is false for repository repo (or GIT_SSL_NO_VERIFY is set), and codecommitd sends signed requests only to a server it has verified") {
			t.Errorf("git %s:\n%s", strings.Join(args, " "), stderr)
		}
	}
	if n, _ := e.Git.Seen(); n != 0 {
		t.Errorf("the stand-in saw %d requests", n)
	}
	// Scoped to another host, it does not apply.
	git(t, e, "", "-c", "http.https://other.example.sslVerify=false", "ls-remote", "codecommit://dev@repo")
}

// TestUsersHTTPProxyLeavesTheLoopbackAlone: an http_proxy that refuses
// every connection (git would use it for the loopback URL) does not break
// the transport, and git's https proxy settings reach the daemon: one that
// refuses fails the operation with the transport's line.
func TestUsersHTTPProxyLeavesTheLoopbackAlone(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	refusing := testprobe.RefusingAddr(t)
	e.Extra = append(e.Extra, "http_proxy=http://"+refusing, "HTTP_PROXY=http://"+refusing)
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	stderr := gitFails(t, e, "", "-c", "http.proxy=http://"+refusing, "ls-remote", "codecommit://dev@repo")
	if !strings.Contains(stderr, "the proxy at "+refusing+" cannot be reached") {
		t.Errorf("with http.proxy refusing:\n%s", stderr)
	}
}

// TestTransportFollowsNoRedirect: the endpoint redirecting to another host
// fails the operation with one line; nothing reaches the other host.
func TestTransportFollowsNoRedirect(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	var reached int
	other := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ }))
	defer other.Close()
	to := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	e.Git.SetRedirect(gitserver.Redirect{Status: http.StatusTemporaryRedirect, To: to})
	stderr := gitFails(t, e, "", "clone", "--quiet", "codecommit://dev@repo", "w")
	if !strings.Contains(stderr, "with a redirect (HTTP 307) to "+to+"; codecommitd follows no redirect") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if reached != 0 {
		t.Errorf("%d requests reached the other host", reached)
	}
}
