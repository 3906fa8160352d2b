//go:build unix

package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/testenv"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// stop stops process pid with SIGSTOP, waits until it took effect, and
// lets it go on (SIGCONT) when the test ends.
func stop(t *testing.T, pid int) {
	t.Helper()
	syscall.Kill(pid, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	waitUntil(t, "the daemon stops on SIGSTOP", func() bool { return testprobe.Stopped(pid) })
}

// TestAStoppedDaemonCostsAFewSeconds: a daemon stopped with SIGSTOP (a
// laptop lid, a debugger, a frozen VM), before git connects or while a
// request waits on a slow STS, costs a git operation a few seconds, not
// minutes: the helper says which process does not answer and resolves the
// request itself, without trying to start a second daemon beside it.
func TestAStoppedDaemonCostsAFewSeconds(t *testing.T) {
	const latency = time.Second // each STS call, also the fallback's
	for _, tc := range []struct {
		name   string
		during bool
	}{
		{"stopped before git connects", false},
		{"stopped while a request waits on STS", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := roleEnv(t)
			if err := e.StartDaemon(ctx(t)); err != nil {
				t.Fatal(err)
			}
			pid := e.DaemonPID()
			e.STS.SetLatency(latency)
			arrived := make(chan struct{}, 16)
			e.STS.OnCall(func(string) { arrived <- struct{}{} })
			// Much less than the helper's own five minutes, so that a
			// regression fails here rather than hangs.
			gctx, cancel := context.WithTimeout(ctx(t), 30*time.Second)
			defer cancel()
			cmd := e.Command(gctx, "", "git", "ls-remote", "codecommit://dev@repo")
			cmd.WaitDelay = 5 * time.Second // the helper git leaves behind holds stderr
			var stderr strings.Builder
			cmd.Stderr = &stderr
			var stopped time.Time
			if tc.during {
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				<-arrived // the daemon's AssumeRole is under way
				stop(t, pid)
				stopped = time.Now()
			} else {
				stop(t, pid)
				stopped = time.Now()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
			}
			err := cmd.Wait()
			took := time.Since(stopped)
			if err != nil {
				t.Fatalf("git failed %s after the daemon stopped: %v\n%s", took, err, stderr.String())
			}
			want := fmt.Sprintf("codecommitd: the daemon on %s (pid %d) does not answer (stopped or stuck); resolving in this process\n", e.Socket, pid)
			if stderr.String() != want {
				t.Errorf("stderr\n got: %q\nwant: %q", stderr.String(), want)
			}
			// The fallback calls the slow STS itself: that is not the
			// daemon's cost.
			if added := took - latency; added > 5*time.Second {
				t.Errorf("a stopped daemon cost git %s (target: at most 5s)", added.Round(100*time.Millisecond))
			}
			t.Logf("git took %s after the daemon stopped (STS answers in %s)", took.Round(10*time.Millisecond), latency)
			if p := e.DaemonPID(); p != pid {
				t.Errorf("the lock file names pid %d, not the stopped daemon %d: another daemon was started", p, pid)
			}
		})
	}
}

// TestLongLivedStreamsCannotStarveGit: as many connections as the daemon
// admits, all of this user's, each holding a health Watch stream, leave git
// operations as fast as ever and served by the daemon (no fallback).
func TestLongLivedStreamsCannotStarveGit(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo") // warm
	watchers := holdWatches(t, e, daemon.MaxConnections)
	t.Logf("%d of %d connections hold a Watch stream", watchers, daemon.MaxConnections)
	for i := range 5 {
		start := time.Now()
		_, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
		took := time.Since(start)
		if err != nil || strings.Contains(stderr, "resolving in this process") {
			t.Fatalf("git operation %d with the connections held: %v (took %s)\n%s", i, err, took, stderr)
		}
		if took > 2*time.Second {
			t.Errorf("git operation %d took %s with the connections held", i, took.Round(10*time.Millisecond))
		}
	}
}

// holdWatches opens n connections to the daemon, each asking for a health
// Watch, and keeps them open until the test ends; it returns how many were
// granted a stream.
func holdWatches(t *testing.T, e *testenv.Env, n int) int {
	t.Helper()
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for range n {
		conn, err := grpc.NewClient("passthrough:///d", grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", e.Socket)
			}))
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(func() { cancel(); conn.Close() })
		wg.Go(func() {
			s, err := healthpb.NewHealthClient(conn).Watch(wctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				return
			}
			if _, err := s.Recv(); err == nil {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return granted
}
