//go:build linux

package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testenv"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// stoppedDaemon is scenario (6): the daemon stopped with SIGSTOP (a laptop
// lid, a debugger, a frozen VM), before git operations and during ones
// that wait on a slow STS. Each must work, costing at most a few seconds
// more than with a running daemon, and no second daemon may be started
// beside the stopped one.
func stoppedDaemon(ctx context.Context, bin string) (bool, error) {
	const rounds = 5
	const latency = 2 * time.Second
	e, err := testenv.Temp(bin, "dev")
	if err != nil {
		return false, err
	}
	defer e.Close()
	// Profiles dev0…: each a role never assumed yet, for a request that
	// waits on STS.
	u := e.STS.AddUser("chaos-cold")
	role := e.STS.AddRole(fakests.Role{ARN: "Cold"})
	config := "[profile base]\n[profile dev]\nrole_arn = " + role + "\nsource_profile = base\nregion = us-east-1\n"
	for i := range 2 * rounds {
		config += fmt.Sprintf("[profile dev%d]\nrole_arn = %s\nsource_profile = base\nregion = us-east-1\n", i, role)
	}
	if err := e.WriteAWS(config, "[base]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n"); err != nil {
		return false, err
	}
	if err := e.StartDaemon(ctx, "--log-level", "warn"); err != nil {
		return false, err
	}
	pid := e.DaemonPID()
	// Never leave a stopped process behind.
	defer syscall.Kill(pid, syscall.SIGCONT)

	var failures []string
	// op runs one git operation for profile, calling onSTS once its
	// request reaches STS, and returns how long it took and its stderr.
	op := func(profile string, onSTS func()) (took time.Duration, stderr string) {
		arrived := make(chan struct{}, 4)
		e.STS.OnCall(func(string) {
			select {
			case arrived <- struct{}{}:
			default:
			}
		})
		defer e.STS.OnCall(nil)
		start := time.Now()
		cmd := e.Command(ctx, "", "git", "ls-remote", "codecommit://"+profile+"@repo")
		cmd.WaitDelay = 5 * time.Second
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			failures = append(failures, err.Error())
			return 0, ""
		}
		if onSTS != nil {
			select {
			case <-arrived:
				onSTS()
			case <-ctx.Done():
			}
		}
		err := cmd.Wait()
		took, stderr = time.Since(start), strings.TrimSpace(errb.String())
		if err != nil {
			failures = append(failures, fmt.Sprintf("%v: %s", err, stderr))
		}
		return took, stderr
	}
	// stop stops the daemon and returns once SIGSTOP took effect (kill
	// only queues it).
	stop := func() {
		syscall.Kill(pid, syscall.SIGSTOP)
		for deadline := time.Now().Add(10 * time.Second); !testprobe.Stopped(pid) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	resume := func() error {
		syscall.Kill(pid, syscall.SIGCONT)
		if ok, _, stderr := lsRemote(ctx, e, envvar.Autostart+"=0"); !ok {
			return fmt.Errorf("the daemon does not serve after SIGCONT: %s", stderr)
		}
		return nil
	}
	if op("dev", nil); len(failures) > 0 { // warm
		return false, fmt.Errorf("warming up: %s", failures[0])
	}

	// Before: a running daemon, warm, then stopped.
	var normal, before []time.Duration
	for range rounds {
		took, _ := op("dev", nil)
		normal = append(normal, took)
	}
	stop()
	var notes []string
	for range rounds {
		took, note := op("dev", nil)
		before = append(before, took)
		notes = append(notes, note)
	}
	if err := resume(); err != nil {
		return false, err
	}

	// During: a request for a role never assumed waits on STS, and the
	// daemon stops meanwhile. A running daemon's cold requests first.
	e.STS.SetLatency(latency)
	var cold, during []time.Duration
	for i := range rounds {
		took, _ := op(fmt.Sprintf("dev%d", i), nil)
		cold = append(cold, took)
	}
	for i := range rounds {
		took, note := op(fmt.Sprintf("dev%d", rounds+i), stop)
		during = append(during, took)
		notes = append(notes, note)
		if err := resume(); err != nil {
			return false, err
		}
	}
	e.STS.SetLatency(0)

	addedBefore := worst(before) - median(normal)
	addedDuring := worst(during) - median(cold)
	wantNote := fmt.Sprintf("codecommitd: the daemon on %s (pid %d) does not answer (stopped or stuck); resolving in this process", e.Socket, pid)
	notesOK := !slices.ContainsFunc(notes, func(n string) bool { return n != wantNote })
	second := e.DaemonPID()
	pass := len(failures) == 0 && addedBefore <= 5*time.Second && addedDuring <= 5*time.Second && notesOK && second == pid
	fmt.Printf("    git operations with the daemon stopped            %d\n", 2*rounds)
	fmt.Printf("    failed                                            %d  (want 0)%s\n", len(failures), mark(len(failures) == 0))
	fmt.Printf("    stopped before: s per operation                   %s  (running: %.2f)\n", seconds(before), median(normal).Seconds())
	fmt.Printf("      added, worst                                    %.2f s  (want ≤ 5)%s\n", addedBefore.Seconds(), mark(addedBefore <= 5*time.Second))
	fmt.Printf("    stopped while STS answers in %s: s per operation  %s  (running: %.2f)\n", latency, seconds(during), median(cold).Seconds())
	fmt.Printf("      added, worst                                    %.2f s  (want ≤ 5)%s\n", addedDuring.Seconds(), mark(addedDuring <= 5*time.Second))
	fmt.Printf("    each note names the pid: \"does not answer\"       %s\n", mark(notesOK))
	fmt.Printf("    no second daemon started beside it                pid %d%s\n", second, mark(second == pid))
	if !notesOK {
		fmt.Printf("    notes: %q\n", notes)
	}
	if len(failures) > 0 {
		fmt.Printf("    first failure: %s\n", failures[0])
	}
	return pass, nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func worst(d []time.Duration) time.Duration { return slices.Max(d) }

func seconds(d []time.Duration) string {
	var b strings.Builder
	for i, x := range d {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%.2f", x.Seconds())
	}
	return b.String()
}
