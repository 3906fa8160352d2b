//go:build unix

package daemon

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// TestIdleExitWaitsForQuiet: the idle exit stops the daemon once it has
// served no request for IdleExit and no connection is open, whatever the
// time while one is.
func TestIdleExitWaitsForQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &activity{}
		a.touch(time.Now())
		var open atomic.Int64
		open.Store(1)
		stopped := make(chan struct{})
		i := &idleExit{after: time.Hour, activity: a, open: open.Load, stop: func() { close(stopped) }, log: slog.New(slog.DiscardHandler)}
		ended := make(chan error, 1)
		go func() { ended <- i.Run(context.Background()) }()
		hasStopped := func() bool {
			synctest.Wait()
			select {
			case <-stopped:
				return true
			default:
				return false
			}
		}
		time.Sleep(2 * time.Hour)
		if hasStopped() {
			t.Fatal("stopped with a connection open")
		}
		// A request ten minutes ago; then the connection closes.
		a.touch(time.Now().Add(-10 * time.Minute))
		open.Store(0)
		time.Sleep(49 * time.Minute)
		if hasStopped() {
			t.Fatal("stopped before an hour without a request")
		}
		time.Sleep(2 * time.Minute)
		if !hasStopped() {
			t.Fatal("did not stop an hour after the last request")
		}
		if err := <-ended; err != nil {
			t.Fatalf("idle exit = %v, want a clean stop", err)
		}
	})
}

// TestAnOnDemandDaemonStopsWhenIdle: a daemon run with IdleExit says so in
// status, stays while a connection is open, and stops cleanly once none is
// and no request came for that long. It runs on the real clock (a real
// socket), with an IdleExit short enough not to slow the suite.
func TestAnOnDemandDaemonStopsWhenIdle(t *testing.T) {
	t.Parallel() // it waits on the real clock: beside the others that do
	const idle = 500 * time.Millisecond
	sock := filepath.Join(testprobe.ShortDir(t), "run", "d.sock")
	ready, ended, quiet := make(chan error, 1), make(chan error, 1), make(chan struct{}, 10)
	go func() {
		ended <- Run(context.Background(), Config{Socket: sock, IdleExit: idle, OnDemand: true,
			Ready: func(err error) { ready <- err }, testQuiet: func() { quiet <- struct{}{} }})
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(context.Background())
	if err != nil || !st.OnDemand || st.IdleExit != idle {
		t.Fatalf("status = %+v, %v", st, err)
	}
	// While a connection is open, the daemon stays: the idle watch looks
	// at least once a second, so it has looked with the time passed.
	select {
	case err := <-ended:
		t.Fatalf("stopped with a connection open: %v", err)
	case <-time.After(idle + 1100*time.Millisecond):
	}
	c.Close()
	<-quiet // the daemon saw the connection close
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("idle exit = %v, want a clean stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an idle on-demand daemon did not stop")
	}
}
