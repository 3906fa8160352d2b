//go:build unix

// Package e2e runs the real git binary through the real helpers and daemon
// against a fake STS and a CodeCommit git endpoint that verifies every
// signature (package testenv). Nothing in the path under test is mocked.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/gitserver"
	"github.com/codecommitd/codecommitd/internal/testenv"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// bin holds the binaries built once for the whole package.
var bin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("RAW_STATUS_SOCKET") != "" || os.Getenv("HOSTILE_SOCKET") != "" {
		return m.Run() // a child of a test run as another user: no build, no git
	}
	if _, err := exec.LookPath("git"); err != nil {
		fmt.Println("e2e: skipping, git is not on PATH")
		return 0
	}
	dir, err := os.MkdirTemp("", "codecommitd-e2e-bin-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	// Built as make build does: static, without x/net/trace.
	cmd := exec.Command("go", "build", "-tags", "grpcnotrace", "-o", dir+string(filepath.Separator), "./cmd/...", "./internal/cmd/gendocs")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Printf("e2e: building binaries: %v\n%s", err, out)
		return 1
	}
	bin = dir
	return m.Run()
}

// newEnv returns a fresh world that is torn down with the test; opts set
// how its git stand-in speaks HTTP.
func newEnv(t *testing.T, opts ...gitserver.Option) *testenv.Env {
	t.Helper()
	// Short paths: the socket must fit in 104 bytes, whatever TMPDIR is.
	e, err := testenv.New(testprobe.ShortDir(t), bin, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// direct makes git-remote-codecommit hand git a signed password, as before
// the git transport (CODECOMMITD_TRANSPORT=direct), for the tests of that
// path.
func direct(e *testenv.Env) {
	e.Extra = append(e.Extra, envvar.Transport+"=direct")
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// waitUntil polls cond every few milliseconds (leaving the CPU to the
// processes it waits for) and fails the test if cond does not hold within
// a deadline long enough for any machine.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for this, in vain: %s", what)
		}
	}
}

// git runs git in the world and fails the test if it fails.
func git(t *testing.T, e *testenv.Env, dir string, args ...string) string {
	t.Helper()
	out, stderr, err := e.Run(ctx(t), dir, "git", args...)
	if err != nil {
		t.Fatalf("git %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// gitFails runs git and returns its stderr, failing the test if git succeeds.
func gitFails(t *testing.T, e *testenv.Env, dir string, args ...string) string {
	t.Helper()
	_, stderr, err := e.Run(ctx(t), dir, "git", args...)
	if err == nil {
		t.Fatalf("git %s succeeded, want failure", strings.Join(args, " "))
	}
	return stderr
}
