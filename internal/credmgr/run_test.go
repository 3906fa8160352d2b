package credmgr

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestRunStopsWithoutWaitingForAHungRefresh: a background refresh that
// hangs (an STS that never answers, a stuck credential_process) must not
// hold up shutdown: Run returns when its context ends, and the fetch is
// cancelled.
func TestRunStopsWithoutWaitingForAHungRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, src := newManager(t, Config{})
		if _, err := m.Get(context.Background(), spec(src)); err != nil {
			t.Fatal(err)
		}
		src.Gate = make(chan struct{}) // never opened: the next fetch hangs
		time.Sleep(46 * time.Minute)   // due
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		time.Sleep(time.Minute) // past Run's wait: the refresh starts
		synctest.Wait()
		if src.Calls() != 2 {
			t.Fatalf("fetches = %d, want the hung refresh under way", src.Calls())
		}
		start := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited > 0 {
			t.Fatalf("Run returned %v after its context ended, waiting on the hung refresh; want at once", waited)
		}
	})
}

// TestRunKeepsRecentlyUsedCredentialsWarm: Run refreshes an entry at its
// refresh time, so the request after finds fresh credentials without
// waiting on the source.
func TestRunKeepsRecentlyUsedCredentialsWarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, src := newManager(t, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go m.Run(ctx)
		if _, err := m.Get(context.Background(), spec(src)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(46 * time.Minute)
		synctest.Wait()
		if src.Calls() != 2 {
			t.Fatalf("fetches after the refresh time = %d, want the loop's refresh", src.Calls())
		}
		if c, ok := m.Peek("k"); !ok || c.AccessKeyID != "ASIA2" {
			t.Fatalf("Peek = %s, %v; want the loop's ASIA2", c.AccessKeyID, ok)
		}
	})
}

// TestRunRunsOnce: a Manager runs once, and not after Close, and says so
// instead of running a second loop, or one whose fetches are cancelled
// from the start. (The refused calls get a cancelled context, so a Run
// that wrongly starts returns nil rather than loop.)
func TestRunRunsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ended, cancelEnded := context.WithCancel(context.Background())
		cancelEnded()
		m, _ := newManager(t, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() { first <- m.Run(ctx) }()
		synctest.Wait()
		if err := m.Run(ended); err == nil || !strings.Contains(err.Error(), "runs once") {
			t.Fatalf("second Run while the first runs = %v, want an error", err)
		}
		cancel()
		if err := <-first; err != nil {
			t.Fatalf("first Run = %v", err)
		}
		if err := m.Run(ended); err == nil || !strings.Contains(err.Error(), "runs once") {
			t.Fatalf("Run after Run returned = %v, want an error", err)
		}

		closed, _ := newManager(t, Config{})
		closed.Close()
		if err := closed.Run(ended); err == nil || !strings.Contains(err.Error(), "Close") {
			t.Fatalf("Run after Close = %v, want an error", err)
		}
	})
}
