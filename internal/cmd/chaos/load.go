//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// killDuringLoad is scenario (2): 32 workers run git operations in a loop
// while the daemon is killed with kill -9; the helpers start a new one.
// git gets a signed password (CODECOMMITD_TRANSPORT=direct), so no
// operation depends on the daemon once it has one: none may fail.
// Scenario (9) is the same through the daemon's git transport.
func killDuringLoad(ctx context.Context, bin string) (bool, error) {
	e, err := testenv.Temp(bin, "dev")
	if err != nil {
		return false, err
	}
	defer e.Close()
	e.Extra = append(e.Extra, envvar.Transport+"=direct")
	if ok, _, stderr := lsRemote(ctx, e); !ok { // autostarts the first daemon
		return false, fmt.Errorf("warming up: %s", stderr)
	}
	first := e.DaemonPID()
	callsBefore := e.STS.Calls("AssumeRole")
	const workers, perWorker = 32, 8
	var ops, failed, fellBack atomic.Int32
	var firstFailure atomic.Value
	started := make(chan struct{}, workers*perWorker)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				started <- struct{}{}
				ok, fb, stderr := lsRemote(ctx, e)
				ops.Add(1)
				if !ok {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, stderr)
				}
				if fb {
					fellBack.Add(1)
				}
			}
		})
	}
	// Kill the daemon once a quarter of the operations are under way.
	for range workers * perWorker / 4 {
		<-started
	}
	syscall.Kill(first, syscall.SIGKILL)
	go func() {
		for range started { // let the rest run
		}
	}()
	wg.Wait()
	close(started)
	second := e.DaemonPID()
	calls := e.STS.Calls("AssumeRole") - callsBefore
	pass := failed.Load() == 0 && calls == 0 && second != 0 && second != first
	fmt.Printf("    git operations (32 in parallel)                   %3d\n", ops.Load())
	fmt.Printf("    failed                                            %3d  (want 0)%s\n", failed.Load(), mark(failed.Load() == 0))
	fmt.Printf("    resolved in-process while no daemon answered      %3d\n", fellBack.Load())
	fmt.Printf("    new daemon started on demand                      pid %d (killed: %d)%s\n", second, first, mark(second != 0 && second != first))
	fmt.Printf("    STS calls after the kill                          %3d  (want 0: the next daemon starts warm)%s\n", calls, mark(calls == 0))
	if f, ok := firstFailure.Load().(string); ok {
		fmt.Printf("    first failure: %s\n", strings.TrimSpace(f))
	}
	e.StopDaemon()
	return pass, nil
}

// manyClients is scenario (3): 64 clients, each on its own connection,
// make 50 requests each; the daemon's memory and descriptors are read
// before and after.
func manyClients(ctx context.Context, bin string) (bool, error) {
	e, err := testenv.Temp(bin, "dev")
	if err != nil {
		return false, err
	}
	defer e.Close()
	if err := e.StartDaemon(ctx, "--log-level", "warn"); err != nil {
		return false, err
	}
	pid := e.DaemonPID()
	req := &broker.SignRequest{Profile: "dev", Repository: "repo", Env: map[string]string{"HOME": e.Home, "CODE_COMMIT_ENDPOINT": e.Git.Host}}
	warm, err := client.Dial(e.Socket)
	if err != nil {
		return false, err
	}
	if _, err := warm.SignURL(ctx, req); err != nil {
		return false, err
	}
	warm.Close()
	idleRSS, idleFDs := rss(pid), fds(pid)
	var failed atomic.Int32
	var wg sync.WaitGroup
	var peakFDs atomic.Int32
	for range 64 {
		wg.Go(func() {
			c, err := client.Dial(e.Socket)
			if err != nil {
				failed.Add(50)
				return
			}
			defer c.Close()
			for i := range 50 {
				if _, err := c.SignURL(ctx, req); err != nil {
					failed.Add(1)
				}
				if i == 25 {
					if n := int32(fds(pid)); n > peakFDs.Load() {
						peakFDs.Store(n)
					}
				}
			}
		})
	}
	wg.Wait()
	// Closed connections are noticed by the daemon at once; memory goes
	// back as the runtime returns it.
	deadline := time.Now().Add(30 * time.Second)
	for fds(pid) > idleFDs && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for rss(pid) > idleRSS+4<<20 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	afterRSS, afterFDs := rss(pid), fds(pid)
	pass := failed.Load() == 0 && afterFDs <= idleFDs && afterRSS <= idleRSS+4<<20
	fmt.Printf("    requests                                          %d\n", 64*50)
	fmt.Printf("    failed                                            %d  (want 0)%s\n", failed.Load(), mark(failed.Load() == 0))
	fmt.Printf("    open descriptors idle / under load / after        %d / %d / %d%s\n", idleFDs, peakFDs.Load(), afterFDs, mark(afterFDs <= idleFDs))
	fmt.Printf("    RSS idle / after                                  %.1f / %.1f MiB  (want within 4 MiB)%s\n", mib(idleRSS), mib(afterRSS), mark(afterRSS <= idleRSS+4<<20))
	e.StopDaemon()
	return pass, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// rss is a process's resident memory, from /proc.
func rss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// fds counts a process's open descriptors, from /proc.
func fds(pid int) int {
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}
