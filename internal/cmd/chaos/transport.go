//go:build linux

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/codecommitd/codecommitd/internal/gitserver"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// daemonStoppedLine is the start of what git-remote-codecommit says when
// the daemon ended its git transport while git ran (whether git's http
// helper failed or, for protocol v2, left it to git to say so).
const daemonStoppedLine = "the codecommitd daemon stopped during this git operation"

// killDuringTransport is scenario (9): 32 workers run git operations in a
// loop through the daemon's git transport, over a link with a round trip
// of 20 ms, while the daemon is killed with kill -9. Only the operations
// under way at the kill may fail (most say so in the helper's line; one
// whose git's http helper ended with status 0 before the helper saw the
// daemon go has git's lines only); every one started after it must
// succeed (the helpers start a new daemon).
func killDuringTransport(ctx context.Context, bin string) (bool, error) {
	e, err := testenv.Temp(bin, "dev")
	if err != nil {
		return false, err
	}
	defer e.Close()
	if err := e.SetRTT(20 * time.Millisecond); err != nil {
		return false, err
	}
	if ok, _, stderr := lsRemote(ctx, e); !ok { // autostarts the first daemon
		return false, fmt.Errorf("warming up: %s", stderr)
	}
	first := e.DaemonPID()
	const workers, perWorker = 32, 8
	var (
		ops, inFlight, after, unsaid atomic.Int32
		killedAt                     atomic.Int64 // UnixNano; 0 before the kill
		firstUnsaid                  atomic.Value
	)
	started := make(chan struct{}, workers*perWorker)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				started <- struct{}{}
				before := killedAt.Load() == 0
				ok, _, stderr := lsRemote(ctx, e)
				ops.Add(1)
				switch {
				case ok:
				case before:
					inFlight.Add(1)
					if !strings.Contains(stderr, daemonStoppedLine) {
						unsaid.Add(1)
						firstUnsaid.CompareAndSwap(nil, stderr)
					}
				default:
					after.Add(1)
					firstUnsaid.CompareAndSwap(nil, stderr)
				}
			}
		})
	}
	// Kill the daemon once a quarter of the operations are under way.
	for range workers * perWorker / 4 {
		<-started
	}
	killedAt.Store(time.Now().UnixNano())
	syscall.Kill(first, syscall.SIGKILL)
	go func() {
		for range started { // let the rest run
		}
	}()
	wg.Wait()
	close(started)
	second := e.DaemonPID()
	pass := after.Load() == 0 && second != 0 && second != first
	fmt.Printf("    git operations (32 in parallel)                   %3d\n", ops.Load())
	fmt.Printf("    failed, under way at the kill                     %3d  (the helper's line: %d of them)\n", inFlight.Load(), inFlight.Load()-unsaid.Load())
	fmt.Printf("    failed without the helper's line                  %3d  (git's http helper ended with status 0 before the helper saw the daemon go: git's own lines only)\n", unsaid.Load())
	fmt.Printf("    failed, started after the kill                    %3d  (want 0)%s\n", after.Load(), mark(after.Load() == 0))
	fmt.Printf("    new daemon started on demand                      pid %d (killed: %d)%s\n", second, first, mark(second != 0 && second != first))
	if f, ok := firstUnsaid.Load().(string); ok {
		fmt.Printf("    first such failure: %s\n", strings.TrimSpace(f))
	}
	e.StopDaemon()
	return pass, nil
}

// idleCloses is scenario (10): a git stand-in that closes connections
// idle for 5 s, and 200 git operations through the daemon's git transport
// in bursts of 10 in parallel, each burst 5 s (± 0.5 s) after the last
// one ended, so that bursts meet the connection open, closed, or as it is
// being closed.
// None may fail.
func idleCloses(ctx context.Context, bin string) (bool, error) {
	const idle, bursts, perBurst = 5 * time.Second, 20, 10
	e, err := testenv.Temp(bin, "dev", gitserver.CloseIdleAfter(idle))
	if err != nil {
		return false, err
	}
	defer e.Close()
	if err := e.StartDaemon(ctx, "--log-level", "warn"); err != nil {
		return false, err
	}
	before := e.Git.Conns()
	var failed, fellBack atomic.Int32
	var firstFailure atomic.Value
	for i := range bursts {
		if i > 0 {
			t := time.NewTimer(idle - 500*time.Millisecond + time.Duration(rand.Int64N(int64(time.Second))))
			select {
			case <-ctx.Done():
				t.Stop()
				return false, ctx.Err()
			case <-t.C:
			}
		}
		var wg sync.WaitGroup
		for range perBurst {
			wg.Go(func() {
				ok, fb, stderr := lsRemote(ctx, e)
				if !ok {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, stderr)
				}
				if fb {
					fellBack.Add(1)
				}
			})
		}
		wg.Wait()
	}
	conns := e.Git.Conns().Sub(before)
	pass := failed.Load() == 0 && fellBack.Load() == 0 && conns.TCP > 1
	fmt.Printf("    git operations (%d bursts of %d)                  %3d\n", bursts, perBurst, bursts*perBurst)
	fmt.Printf("    failed                                            %3d  (want 0)%s\n", failed.Load(), mark(failed.Load() == 0))
	fmt.Printf("    resolved in-process                               %3d  (want 0)%s\n", fellBack.Load(), mark(fellBack.Load() == 0))
	fmt.Printf("    upstream connections the stand-in accepted        %3d  (want more than 1: it closed idle ones)%s\n", conns.TCP, mark(conns.TCP > 1))
	if f, ok := firstFailure.Load().(string); ok {
		fmt.Printf("    first failure: %s\n", strings.TrimSpace(f))
	}
	e.StopDaemon()
	return pass, nil
}
