//go:build unix

package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestAnOnDemandDaemonStopsWhenIdle(t *testing.T) {
	sock := filepath.Join(testprobe.ShortDir(t), "run", "d.sock")
	clock := clockwork.NewFakeClock()
	ready, ended, quiet := make(chan error, 1), make(chan error, 1), make(chan struct{}, 10)
	go func() {
		ended <- Run(context.Background(), Config{Socket: sock, Clock: clock, IdleExit: time.Hour, OnDemand: true,
			Ready: func(err error) { ready <- err }, testQuiet: func() { quiet <- struct{}{} }})
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	settle := func() {
		t.Helper()
		// The idle watch sleeps on the clock (the credential manager's
		// warm loop on the real one).
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	settle()
	c, err := client.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(context.Background())
	if err != nil || !st.OnDemand || st.IdleExit != time.Hour {
		t.Fatalf("status = %+v, %v", st, err)
	}
	// While a connection is open, the daemon stays whatever the time.
	clock.Advance(2 * time.Hour)
	settle()
	select {
	case err := <-ended:
		t.Fatalf("stopped with a connection open: %v", err)
	default:
	}
	c.Close()
	<-quiet // the daemon saw the connection close
	// An hour after the last request, with no connection, it stops cleanly.
	clock.Advance(time.Hour + time.Minute)
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("idle exit = %v, want a clean stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an idle on-demand daemon did not stop")
	}
}
