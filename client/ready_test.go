//go:build unix

package client

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/testprobe"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// TestStartReadsTheTypedReport: what a started daemon reports on its
// readiness pipe decides, by its outcome, never by its words.
func TestStartReadsTheTypedReport(t *testing.T) {
	report := func(outcome wire.Readiness, why string) []byte {
		b, err := wire.EncodeReadyReport(outcome, why)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		report  []byte
		listens bool   // another daemon listens on the socket
		want    string // "" means started
	}{
		{"ready", report(wire.Ready, ""), false, ""},
		{"already running, and listening", report(wire.AlreadyRunning, "a daemon is already running (pid 7 holds x.lock)"), true, ""},
		{"already running, but not listening", report(wire.AlreadyRunning, "a daemon is already running"), false,
			"the daemon another process started is not listening"},
		{"failed", report(wire.Failed, "log file /x/codecommitd.log is a symbolic link; remove it"), false,
			"log file /x/codecommitd.log is a symbolic link; remove it"},
		{"failed, without a word", report(wire.Failed, ""), false, "the daemon stopped before listening"},
		// Words are not an outcome: an old daemon's line of text is not
		// taken for one, whatever it says.
		{"text saying already running", []byte("codecommitd is already running\n"), true, "the daemon's readiness report cannot be read"},
		{"text saying ready", []byte("ready\n"), true, "the daemon's readiness report cannot be read"},
		{"nothing", nil, false, "the daemon exited before listening"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testprobe.ShortDir(t)
			socket := filepath.Join(dir, "d.sock")
			if tc.listens {
				l, err := net.Listen("unix", socket)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
			}
			reportFile := filepath.Join(dir, "report")
			os.WriteFile(reportFile, tc.report, 0o600)
			bin := filepath.Join(dir, "codecommitd")
			os.WriteFile(bin, []byte(fmt.Sprintf("#!/bin/sh\ntest \"$CODECOMMITD_READY_FD\" = 3 || exit 9\ncat %s >&3\n", reportFile)), 0o755)
			err := startAndWait(exec.Command(bin), socket, 300*time.Millisecond)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("start = %v, want started", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("start = %v, want %q", err, tc.want)
			}
		})
	}
}

// noDeadline is a readiness pipe that cannot be given a deadline, and
// whose reads would block for as long as the daemon runs.
type noDeadline struct{ read chan struct{} }

func (p noDeadline) Read([]byte) (int, error) {
	close(p.read)
	select {} // as long as the daemon runs
}

func (noDeadline) SetReadDeadline(time.Time) error { return os.ErrNoDeadline }

// TestAReportWithoutADeadlineIsNotWaitedFor: if the pipe takes no
// deadline, the client says so at once rather than wait on it without
// bound.
func TestAReportWithoutADeadlineIsNotWaitedFor(t *testing.T) {
	p := noDeadline{read: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := readReport(p, time.Second)
		done <- err
	}()
	select {
	case err := <-done:
		want := "cannot wait for the daemon's readiness report (file type does not support deadline); it may still start: run codecommitd status to see"
		if err == nil || err.Error() != want {
			t.Errorf("readReport = %v, want %q", err, want)
		}
	case <-p.read:
		t.Fatal("read a pipe that has no deadline")
	}
}
