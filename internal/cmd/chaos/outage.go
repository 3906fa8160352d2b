//go:build linux

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/fakests"
)

// stsOutage is scenario (1): a daemon in this process on a fake clock,
// STS failing with HTTP 500 for ten minutes while the credentials it issued
// (for eleven minutes) are warm, one git operation every 15 seconds of fake
// time for twelve minutes.
func stsOutage(ctx context.Context, bin string) (bool, error) {
	e, done, err := world(bin)
	if err != nil {
		return false, err
	}
	defer done()
	clock := clockwork.NewFakeClockAt(time.Now())
	e.STS.SetClock(clock.Now)
	e.Git.SetClock(clock.Now)
	e.STS.SetDateSlack(24 * time.Hour) // the SDK signs with the real clock
	e.STS.SetLifetime(11 * time.Minute)
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
			Socket: e.Socket, Clock: clock, Log: slog.New(slog.NewTextHandler(logFile, nil)),
			Ready: func(err error) { ready <- err },
		})
	}()
	defer func() { stop(); <-ended }()
	if err := <-ready; err != nil {
		return false, err
	}
	noStart := []string{"CODECOMMITD_AUTOSTART=0"}
	if ok, _, stderr := lsRemote(ctx, e, noStart...); !ok {
		return false, fmt.Errorf("warming up: %s", stderr)
	}
	issued := clock.Now()
	expires := issued.Add(11 * time.Minute)
	callsBefore := e.STS.Calls("AssumeRole")
	e.STS.SetOutage(&fakests.Fault{Status: 500, Code: "InternalFailure", Message: "We encountered an internal error. Please try again."})
	outageEnds := issued.Add(10 * time.Minute)

	var ops, failedValid, failedLastMinute, fellBack, afterOK, afterFailed, outageCalls int
	for step := 1; step <= 48; step++ {
		if !clock.Now().Add(15*time.Second).Before(outageEnds) && outageCalls == 0 {
			outageCalls = e.STS.Calls("AssumeRole") - callsBefore
			e.STS.SetOutage(nil) // STS is back when the clock reads ten minutes
		}
		clock.Advance(15 * time.Second)
		now := clock.Now()
		// Let the daemon's warm loop run for this moment and go back to
		// sleep on the fake clock before the next operation.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := clock.BlockUntilContext(wctx, 1)
		cancel()
		if err != nil {
			return false, fmt.Errorf("the daemon's warm loop did not settle: %w", err)
		}
		ok, fb, _ := lsRemote(ctx, e, noStart...)
		ops++
		if fb {
			fellBack++
		}
		switch {
		case now.Before(expires.Add(-time.Minute)) && !ok:
			failedValid++
		case now.Before(expires) && !ok:
			failedLastMinute++
		case !now.Before(expires) && ok:
			afterOK++
		case !now.Before(expires):
			afterFailed++
		}
	}
	log, _ := os.ReadFile(filepath.Join(e.Dir, "daemon.log"))
	reserveSaid := strings.Contains(string(log), "running on reserve")
	pass := failedValid == 0 && afterFailed == 0 && afterOK > 0 && fellBack == 0
	fmt.Printf("    git operations, one per 15 s for 12 minutes      %3d\n", ops)
	fmt.Printf("    failed while the credentials lasted (to 10:00)   %3d  (want 0)%s\n", failedValid, mark(failedValid == 0))
	fmt.Printf("    failed in the credentials' last minute           %3d  (allowed)\n", failedLastMinute)
	fmt.Printf("    STS calls during the outage                      %3d  (backoff, not one per request)\n", outageCalls)
	fmt.Printf("    after they expired, STS back: worked / failed    %3d / %d  (want all: recovery without a restart)%s\n", afterOK, afterFailed, mark(afterOK > 0 && afterFailed == 0))
	fmt.Printf("    resolved in-process instead of by the daemon     %3d  (want 0)\n", fellBack)
	fmt.Printf("    daemon said it ran on its reserve            %v\n", reserveSaid)
	return pass && reserveSaid, nil
}
