//go:build unix

package transport

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/gitserver"
	"github.com/codecommitd/codecommitd/internal/sigv4"
	"github.com/codecommitd/codecommitd/internal/testenv"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// world is the transport under test, running, in front of the git
// stand-in (through a WAN link at RTT 0, which counts what it carries),
// with a signer whose identity the fake STS knows and a seeded
// repository "repo".
type world struct {
	t      testing.TB
	env    *testenv.Env
	tr     *Transport
	signer *testSigner
	logs   *syncBuffer
	ca     []byte
	// noProxy is what git's http_proxy points at: an address that
	// refuses, so a request that took it would fail.
	noProxy string
}

func newWorld(t testing.TB, cfg Config, opts ...gitserver.Option) *world {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH")
	}
	e, err := testenv.New(t.TempDir(), t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	if err := e.SetRTT(0); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(testCtx(t), "repo"); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(e.Git.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, env: e, ca: ca, noProxy: testprobe.RefusingAddr(t),
		signer: &testSigner{id: e.STS.AddUser("dev"), now: time.Now}}
	w.tr, w.logs = startTransport(t, cfg)
	return w
}

// startTransport runs a transport for the test, logging into a buffer.
func startTransport(t testing.TB, cfg Config) (*Transport, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return tr, logs
}

// grant grants repo on the stand-in, trusting its CA, with changes.
func (w *world) grant(repo string, change ...func(*Grant)) (Capability, func()) {
	w.t.Helper()
	g := Grant{Repository: repo, Host: w.env.GitHost(), Region: testenv.Region, Profile: "dev", Signer: w.signer,
		Upstream: Upstream{CAInfo: w.ca}}
	for _, c := range change {
		c(&g)
	}
	c, revoke, err := w.tr.Grant(testCtx(w.t), g)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(revoke)
	return c, revoke
}

// gitCmd is git, in dir under the world, given the capability as the
// remote helper will give it: the header and an empty proxy, scoped to
// the loopback URL, in the environment. git's http_proxy points at a port
// that refuses: only the scoped empty proxy keeps it working.
func (w *world) gitCmd(c Capability, dir string, args ...string) *exec.Cmd {
	cmd := w.env.Command(testCtx(w.t), dir, "git", args...)
	cmd.Env = append(cmd.Env, gitConfigEnv(c, w.noProxy)...)
	return cmd
}

func gitConfigEnv(c Capability, noProxy string) []string {
	return []string{
		"http_proxy=http://" + noProxy,
		"GIT_CONFIG_COUNT=2",
		"GIT_CONFIG_KEY_0=http." + c.URL + ".extraHeader", "GIT_CONFIG_VALUE_0=" + c.Header,
		"GIT_CONFIG_KEY_1=http." + c.URL + ".proxy", "GIT_CONFIG_VALUE_1=",
	}
}

// git runs git and returns its stdout; it fails the test if git fails.
func (w *world) git(c Capability, dir string, args ...string) string {
	w.t.Helper()
	out, stderr, err := w.run(w.gitCmd(c, dir, args...))
	if err != nil {
		w.t.Fatalf("git %s: %v\n%s\ntransport log:\n%s", strings.Join(args, " "), err, stderr, w.logs)
	}
	return out
}

// gitFails runs git and returns its stderr; it fails the test if git
// succeeds.
func (w *world) gitFails(c Capability, dir string, args ...string) string {
	w.t.Helper()
	_, stderr, err := w.run(w.gitCmd(c, dir, args...))
	if err == nil {
		w.t.Fatalf("git %s succeeded, want it to fail", strings.Join(args, " "))
	}
	return stderr
}

func (w *world) run(cmd *exec.Cmd) (string, string, error) {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// seen is how many requests the stand-in has had.
func (w *world) seen() int {
	n, _ := w.env.Git.Seen()
	return n
}

// testSigner signs as the fake STS's identity id, on its clock, and counts
// its calls; fail, when set, decides a call's error.
type testSigner struct {
	id    fakests.Identity
	now   func() time.Time
	calls atomic.Int64
	fail  atomic.Pointer[func(call int64) error]
	s     sigv4.Signer
}

func (s *testSigner) Sign(_ context.Context, host, path string) (string, error) {
	n := s.calls.Add(1)
	if f := s.fail.Load(); f != nil {
		if err := (*f)(n); err != nil {
			return "", err
		}
	}
	signed := s.s.Sign(sigv4.Credentials{AccessKeyID: s.id.AccessKeyID, SecretAccessKey: s.id.SecretAccessKey, SessionToken: s.id.SessionToken},
		testenv.Region, host, path, s.now())
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(signed.Username+":"+signed.Password)), nil
}

// failWith makes the signer's calls fail as f says.
func (s *testSigner) failWith(f func(call int64) error) { s.fail.Store(&f) }

// syncBuffer is a bytes.Buffer for logs written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// count is how many log lines hold s.
func (b *syncBuffer) count(s string) int { return strings.Count(b.String(), s) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds, for at most 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var errTest = errors.New("test failure")
