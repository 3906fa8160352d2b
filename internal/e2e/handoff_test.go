//go:build unix

package e2e

import (
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/gitserver"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// since returns the requests the git server answered after the first n.
func since(e *testenv.Env, n int) []gitserver.Request { return e.Git.Requests()[n:] }

// TestOneRequestPerOperation checks the counts that do not depend on
// timing: each git operation asks the daemon once, sends the password from
// its first request on (no 401), and runs no second program.
func TestOneRequestPerOperation(t *testing.T) {
	e, _ := roleEnv(t)
	direct(e) // the password's path; TestTransportByDefault counts the transport's
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "clone", "--quiet", "codecommit://dev@repo", "w")
	for _, op := range []struct {
		name string
		dir  string
		args []string
	}{
		{"ls-remote", "", []string{"ls-remote", "codecommit://dev@repo"}},
		{"fetch", "w", []string{"fetch", "--quiet", "origin"}},
		{"push", "w", []string{"push", "--quiet", "origin", "HEAD:main"}},
		{"clone", "", []string{"clone", "--quiet", "codecommit://dev@repo", "w2"}},
	} {
		t.Run(op.name, func(t *testing.T) {
			if op.name == "push" {
				git(t, e, "w", "commit", "--quiet", "--allow-empty", "-m", "one more")
			}
			before := len(e.Git.Requests())
			rpcs := strings.Count(e.DaemonLog(), "msg=request ")
			git(t, e, op.dir, op.args...)
			reqs := since(e, before)
			for _, r := range reqs {
				if r.Status == 401 {
					t.Errorf("%s %s got a 401: the password was not sent with the first request", r.Method, r.Path)
				}
				if r.Status != 200 {
					t.Errorf("%s %s: %d %s", r.Method, r.Path, r.Status, r.Reason)
				}
			}
			if len(reqs) == 0 {
				t.Fatal("no request reached the server")
			}
			if n := strings.Count(e.DaemonLog(), "msg=request ") - rpcs; n != 1 {
				t.Errorf("%d requests to the daemon, want 1 per git operation", n)
			}
			if strings.Contains(e.DaemonLog(), "client=git-credential-codecommit") {
				t.Error("git ran git-credential-codecommit: a second program per operation")
			}
			t.Logf("%s: %d HTTP requests, 0 401s, 1 daemon request", op.name, len(reqs))
		})
	}
}

// TestNothingSecretInGitTraces runs clone, fetch and push with every trace
// git has and greps all of it for what would let someone act as the user,
// over HTTP/2 and over HTTP/1.1 (curl traces the headers of each its own
// way).
func TestNothingSecretInGitTraces(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []gitserver.Option
		h2   bool
	}{
		{name: "HTTP/2", h2: true},
		{name: "HTTP/1.1", opts: []gitserver.Option{gitserver.HTTP1Only()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, _ := roleEnv(t, c.opts...)
			direct(e) // the password's path; TestTransportTraces is the transport's
			text := tracedOperations(t, e)
			if conns := e.Git.Conns(); (conns.HTTP2 == conns.TLS) != c.h2 || conns.TLS == 0 {
				t.Fatalf("git made %d TLS connections, %d of them HTTP/2: not the protocol under test", conns.TLS, conns.HTTP2)
			}
			noSecretIn(t, e, text)
		})
	}
}

// tracedOperations runs clone, commit, push and fetch with every trace git
// has, unredacted where git lets the user ask (GIT_TRACE_REDACT=0), with
// trace2 asked to log the variable and the settings that hold the header,
// and returns all of it.
func tracedOperations(t *testing.T, e *testenv.Env) string {
	t.Helper()
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	trace2 := filepath.Join(e.Dir, "trace2.json")
	e.Extra = append(e.Extra, "GIT_TRACE=1", "GIT_TRACE_CURL=1", "GIT_TRACE_PACKET=1", "GIT_TRACE2_EVENT="+trace2,
		"GIT_TRACE_REDACT=0", "GIT_TRACE2_ENV_VARS=GIT_CONFIG_PARAMETERS", "GIT_TRACE2_CONFIG_PARAMS=http.*")
	var all strings.Builder
	run := func(dir string, args ...string) {
		out, stderr, err := e.Run(ctx(t), dir, "git", args...)
		if err != nil {
			t.Fatalf("git %s: %v\n%s", args, err, stderr)
		}
		all.WriteString(out + stderr)
	}
	run("", "clone", "codecommit://dev@repo", "w")
	run("w", "commit", "--allow-empty", "-m", "traced")
	run("w", "push", "origin", "HEAD:main")
	run("w", "fetch", "origin")
	b, _ := os.ReadFile(trace2)
	all.Write(b)
	return all.String()
}

// noSecretIn fails the test if a git trace shows a password, a credential
// or the Authorization header's value.
func noSecretIn(t *testing.T, e *testenv.Env, text string) {
	t.Helper()
	// Over HTTP/2 (the stand-in's default) curl writes header names in
	// lower case, in its "h2h3 [authorization: …]" lines too.
	if !strings.Contains(strings.ToLower(text), "authorization: basic <redacted>") || !strings.Contains(text, "=> Send header") {
		t.Fatalf("the curl trace shows no redacted Authorization header; the test proves nothing:\n%.3000s", text)
	}
	noCredentialIn(t, e, text)
}

// noCredentialIn fails the test if a trace shows a signed password or a
// credential.
func noCredentialIn(t *testing.T, e *testenv.Env, text string) {
	t.Helper()
	if m := signedPassword.FindString(text); m != "" {
		t.Errorf("a signed password in git's traces: %s", m)
	}
	for _, id := range e.STS.Issued() {
		for _, secret := range []string{id.SessionToken, id.SecretAccessKey} {
			if strings.Contains(text, secret) {
				t.Errorf("a credential in git's traces (%.12s…)", secret)
			}
		}
		// The header's value, base64("ASIA…%token:password"), begins the same way whatever the password.
		if prefix := base64.StdEncoding.EncodeToString([]byte(id.AccessKeyID + "%"))[:16]; strings.Contains(text, prefix) {
			t.Errorf("the Authorization header's value is in git's traces")
		}
	}
	if strings.Contains(text, "with user '") {
		t.Error(`curl's "Server auth using Basic with user" line is in the trace`)
	}
}

// TestTransportTraces runs the same traced operations through the git
// transport: git holds no password, so none is in its traces; what they
// show is the loopback capability, which only this user can use, and only
// while its helper runs.
func TestTransportTraces(t *testing.T) {
	e, _ := roleEnv(t)
	text := tracedOperations(t, e)
	if !strings.Contains(text, "=> Send header") || !strings.Contains(strings.ToLower(text), "x-codecommitd-capability: ") {
		t.Fatalf("the curl trace shows no request headers to the loopback URL; the test proves nothing:\n%.3000s", text)
	}
	noCredentialIn(t, e, text)
}

// TestUsersOwnExtraHeadersKeepWorking sets extra headers in the global
// config and in GIT_CONFIG_COUNT; both still reach the server, next to the
// password.
func TestUsersOwnExtraHeadersKeepWorking(t *testing.T) {
	e, _ := roleEnv(t)
	git(t, e, "", "config", "--global", "http.extraHeader", "X-Global: from-gitconfig")
	e.Extra = []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=X-Env: from-environment"}
	before := len(e.Git.Requests())
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	reqs := since(e, before)
	if len(reqs) == 0 {
		t.Fatal("no request")
	}
	for _, r := range reqs {
		if r.Status != 200 || r.Extra.Get("X-Global") != "from-gitconfig" || r.Extra.Get("X-Env") != "from-environment" {
			t.Errorf("%s %s: status %d, extra headers %v", r.Method, r.Path, r.Status, r.Extra)
		}
	}
}

// TestAPushThatOutlivesItsPasswordSaysWhy: on the password's path (the
// direct path), a push whose second request comes after the password's 15
// minutes is refused, and the helper says exactly why and what to do.
func TestAPushThatOutlivesItsPasswordSaysWhy(t *testing.T) {
	e, _ := roleEnv(t)
	direct(e)
	moved := pushAfterFifteenMinutes(t, e)
	stderr := gitFails(t, e, "w", "push", "--quiet", "origin", "HEAD:main")
	if !moved.Load() {
		t.Fatal("the clock was never moved; the test proves nothing")
	}
	for _, want := range []string{"403", "stopped working at", "repository repo, profile dev", "CodeCommit accepts one for 15 minutes", "run the command again"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// And the next push, with a fresh password, goes through.
	e.Git.OnRequest(nil)
	git(t, e, "w", "push", "--quiet", "origin", "HEAD:main")
}

// TestAPushThroughTheTransportOutlivesAPassword: through the daemon's git
// transport the same push goes through, since the daemon signs each
// upstream request afresh (issue #19).
func TestAPushThroughTheTransportOutlivesAPassword(t *testing.T) {
	e, _ := roleEnv(t)
	moved := pushAfterFifteenMinutes(t, e)
	git(t, e, "w", "push", "--quiet", "origin", "HEAD:main")
	if !moved.Load() {
		t.Fatal("the clock was never moved; the test proves nothing")
	}
	if _, unauthorized := e.Git.Seen(); unauthorized != 0 {
		t.Errorf("the stand-in refused %d requests", unauthorized)
	}
}

// pushAfterFifteenMinutes runs a daemon in this process whose clock, shared
// with the stand-ins, starts 16 minutes behind, clones, commits, and makes
// the clocks jump to now at the next push's first request, as a push whose
// pack takes long to build would see: a password signed at its start is
// then over. It returns whether the clocks moved.
func pushAfterFifteenMinutes(t *testing.T, e *testenv.Env) *atomic.Bool {
	t.Helper()
	// The daemon runs in this process, signing by a clock the test moves,
	// which the stand-ins share. It starts 16 minutes behind, so that when
	// it has moved, the helper's own clock agrees that the password's 15
	// minutes are over.
	var behind atomic.Int64
	behind.Store(int64(16 * time.Minute))
	now := func() time.Time { return time.Now().Add(-time.Duration(behind.Load())) }
	e.Git.SetClock(now)
	e.STS.SetClock(now)
	e.STS.SetDateSlack(time.Hour) // the SDK signs its STS calls with the real clock
	t.Setenv("AWS_ENDPOINT_URL_STS", e.STS.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dctx, stop := context.WithCancel(context.Background())
	ready, ended := make(chan error, 1), make(chan error, 1)
	go func() {
		ended <- daemon.Run(dctx, daemon.Config{Socket: e.Socket, Now: now, Log: slog.New(slog.DiscardHandler),
			Ready: func(err error) { ready <- err }})
	}()
	t.Cleanup(func() { stop(); <-ended })
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	e.Extra = append(e.Extra, "CODECOMMITD_AUTOSTART=0")
	git(t, e, "", "clone", "--quiet", "codecommit://dev@repo", "w")
	git(t, e, "w", "commit", "--quiet", "--allow-empty", "-m", "slow")

	var moved atomic.Bool
	e.Git.OnRequest(func(r gitserver.Request) {
		if r.Method == "GET" && moved.CompareAndSwap(false, true) {
			behind.Store(0)
		}
	})
	return &moved
}
