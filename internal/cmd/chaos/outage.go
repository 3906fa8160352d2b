//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/credmgr"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// outageScale is how many times faster than life scenario (1) runs.
const outageScale = 30

// stsOutage is scenario (1), scaled down outageScale times and run in real
// time (git, the helpers and the sockets are real, so no fake clock can
// drive them): STS failing with HTTP 500 for ten minutes while the
// credentials it issued (for eleven minutes) are warm, one git operation
// every 15 seconds for twelve minutes. The daemon runs in this process with
// its refresh policy divided by outageScale; the AWS SDK's own retry delay
// (at most a second) is not scaled.
func stsOutage(ctx context.Context, bin string) (bool, error) {
	scaled := func(d time.Duration) time.Duration { return d / outageScale }
	var (
		life      = scaled(11 * time.Minute)
		every     = scaled(15 * time.Second)
		lastPart  = scaled(time.Minute) // STS comes back, and failures are allowed, this long before expiry
		steps     = 48
		policy    = credmgr.DefaultPolicy().Scaled(outageScale)
		stsFailed = &fakests.Fault{Status: 500, Code: "InternalFailure", Message: "We encountered an internal error. Please try again."}
	)
	e, err := testenv.Temp(bin, "dev")
	if err != nil {
		return false, err
	}
	defer e.Close()
	e.STS.SetLifetime(life)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_STS": e.STS.URL, "AWS_EC2_METADATA_DISABLED": "true"} {
		os.Setenv(k, v)
	}
	logFile, err := os.Create(filepath.Join(e.Dir, "daemon.log"))
	if err != nil {
		return false, err
	}
	defer logFile.Close()
	dctx, stop := context.WithCancel(ctx)
	ready := make(chan error, 1)
	ended := make(chan error, 1)
	go func() {
		ended <- daemon.Run(dctx, daemon.Config{
			Socket: e.Socket, Log: slog.New(slog.NewTextHandler(logFile, nil)), CredentialPolicy: policy,
			Ready: func(err error) { ready <- err },
		})
	}()
	defer func() { stop(); <-ended }()
	if err := <-ready; err != nil {
		return false, err
	}
	noStart := []string{envvar.Autostart + "=0"}
	if ok, _, stderr := lsRemote(ctx, e, noStart...); !ok {
		return false, fmt.Errorf("warming up: %s", stderr)
	}
	issued := e.STS.Issued()
	if len(issued) != 1 {
		return false, fmt.Errorf("warming up: STS issued %d credentials, want 1", len(issued))
	}
	expires := issued[0].Expires // to the second, as STS gives it
	callsBefore := e.STS.Calls("AssumeRole")
	e.STS.SetOutage(stsFailed)
	outageEnds := expires.Add(-lastPart)
	stsBack := make(chan int, 1)
	back := time.AfterFunc(time.Until(outageEnds), func() {
		stsBack <- e.STS.Calls("AssumeRole") - callsBefore
		e.STS.SetOutage(nil)
	})
	defer back.Stop()

	// One operation every `every`, each in its own goroutine as separate
	// git commands would be: one that waits on STS delays none after it.
	type result struct {
		at, end      time.Time // started, ended
		ok, fellBack bool
	}
	results := make(chan result, steps)
	start := time.Now()
	var wg sync.WaitGroup
	for step := 1; step <= steps; step++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return false, ctx.Err()
		case <-time.After(time.Until(start.Add(time.Duration(step) * every))):
		}
		wg.Go(func() {
			at := time.Now()
			ok, fb, _ := lsRemote(ctx, e, noStart...)
			results <- result{at, time.Now(), ok, fb}
		})
	}
	wg.Wait()
	close(results)
	var ops, failedValid, failedLastPart, fellBack, afterOK, afterFailed int
	for r := range results {
		ops++
		if r.fellBack {
			fellBack++
		}
		switch {
		// The daemon judged a request somewhere between its start and
		// its end (git and the helper start first; on a loaded machine
		// that takes a while): a failure counts as one while the
		// credentials lasted only if it ended before their last part.
		case r.end.Before(expires.Add(-lastPart)) && !r.ok:
			failedValid++
		case r.at.Before(expires) && !r.ok:
			failedLastPart++
		case !r.at.Before(expires) && r.ok:
			afterOK++
		case !r.at.Before(expires):
			afterFailed++
		}
	}
	var outageCalls int
	select {
	case outageCalls = <-stsBack:
	default:
		return false, errors.New("the operations ended before the outage did")
	}
	log, _ := os.ReadFile(filepath.Join(e.Dir, "daemon.log"))
	reserveSaid := strings.Contains(string(log), "running on reserve")
	pass := failedValid == 0 && afterFailed == 0 && afterOK > 0 && fellBack == 0
	fmt.Printf("    scale: 1/%d in real time: credentials for %s, STS down for %s, the daemon's refresh policy divided by %d\n",
		outageScale, life, outageEnds.Sub(expires.Add(-life)).Round(time.Second), outageScale)
	fmt.Printf("    %-48s %3d\n", fmt.Sprintf("git operations, one per %s for %s", every, time.Duration(steps)*every), ops)
	fmt.Printf("    %-48s %3d  (want 0)%s\n", fmt.Sprintf("failed while the credentials lasted (to %s left)", lastPart), failedValid, mark(failedValid == 0))
	fmt.Printf("    %-48s %3d  (allowed)\n", fmt.Sprintf("failed in the credentials' last %s", lastPart), failedLastPart)
	fmt.Printf("    STS calls during the outage                      %3d  (backoff, not one per request)\n", outageCalls)
	fmt.Printf("    after they expired, STS back: worked / failed    %3d / %d  (want all: recovery without a restart)%s\n", afterOK, afterFailed, mark(afterOK > 0 && afterFailed == 0))
	fmt.Printf("    resolved in-process instead of by the daemon     %3d  (want 0)\n", fellBack)
	fmt.Printf("    daemon said it ran on its reserve            %v\n", reserveSaid)
	return pass && reserveSaid, nil
}
