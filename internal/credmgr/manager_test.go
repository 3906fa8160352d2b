package credmgr

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/credmgr/credmgrtest"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

var _ Store = (*credmgrtest.Store)(nil)

func noJitter(time.Duration) time.Duration { return 0 }

// newManager returns a Manager built from cfg (without jitter unless cfg
// has some), closed when the test ends, and a source issuing credentials
// for an hour. Time is the real clock's, or the bubble's inside
// synctest.Test: tests move it with time.Sleep.
func newManager(t *testing.T, cfg Config) (*Manager, *credmgrtest.Source) {
	t.Helper()
	if cfg.Jitter == nil {
		cfg.Jitter = noJitter
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, &credmgrtest.Source{Life: time.Hour}
}

func spec(s *credmgrtest.Source) Spec { return Spec{Key: "k", Profile: "p", Fetch: s.Fetch} }

var def = DefaultPolicy()

func TestColdParallelCallersShareOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, src := newManager(t, Config{})
		src.Gate = make(chan struct{})
		const n = 32
		results := make(chan sigv4.Credentials, n)
		for range n {
			go func() {
				c, err := m.Get(context.Background(), spec(src))
				if err != nil {
					t.Error(err)
				}
				results <- c
			}()
		}
		synctest.Wait() // all 32 are waiting on the one fetch
		close(src.Gate)
		for range n {
			if c := <-results; c.AccessKeyID != "ASIA1" {
				t.Errorf("got %s, want the one fetch's ASIA1", c.AccessKeyID)
			}
		}
		if got := src.Calls(); got != 1 {
			t.Fatalf("fetches = %d, want 1", got)
		}
	})
}

func TestRefreshAheadOfExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, src := newManager(t, Config{})
		ctx := context.Background()
		get := func() string {
			t.Helper()
			c, err := m.Get(ctx, spec(src))
			if err != nil {
				t.Fatal(err)
			}
			return c.AccessKeyID
		}
		if got := get(); got != "ASIA1" {
			t.Fatalf("first get = %s", got)
		}
		time.Sleep(44 * time.Minute) // 16 minutes left: not yet due
		if got := get(); got != "ASIA1" || src.Calls() != 1 {
			t.Fatalf("at 44m: %s after %d fetches, want cached ASIA1 after 1", got, src.Calls())
		}
		time.Sleep(2 * time.Minute) // 14 minutes left: due
		if got := get(); got != "ASIA1" {
			t.Fatalf("due get = %s, want the still-valid ASIA1 at once", got)
		}
		synctest.Wait() // the background refresh
		if src.Calls() != 2 {
			t.Fatalf("fetches = %d, want a background refresh", src.Calls())
		}
		if got := get(); got != "ASIA2" {
			t.Fatalf("after refresh = %s, want ASIA2", got)
		}
	})
}

func TestFailedRefreshServesOldCredentialsAndBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, src := newManager(t, Config{})
		ctx := context.Background()
		if _, err := m.Get(ctx, spec(src)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(46 * time.Minute)
		src.FailNext(errors.New("sts down"))
		c, err := m.Get(ctx, spec(src))
		if err != nil || c.AccessKeyID != "ASIA1" {
			t.Fatalf("get while due = %v, %v; want old ASIA1", c.AccessKeyID, err)
		}
		synctest.Wait()
		st := m.Statuses()[0]
		if !strings.Contains(st.LastError, "sts down") {
			t.Fatalf("last error = %q", st.LastError)
		}
		// Backoff: the next requests do not hammer the source.
		for range 5 {
			if c, err := m.Get(ctx, spec(src)); err != nil || c.AccessKeyID != "ASIA1" {
				t.Fatalf("get during backoff = %v, %v", c.AccessKeyID, err)
			}
		}
		synctest.Wait()
		if got := src.Calls(); got != 2 {
			t.Fatalf("fetches during backoff = %d, want 2", got)
		}
		time.Sleep(def.MinBackoff * 2) // past the jittered first backoff (≤ 1.5 × MinBackoff)
		m.Get(ctx, spec(src))
		synctest.Wait()
		if got := src.Calls(); got != 3 {
			t.Fatalf("fetches after backoff = %d, want 3", got)
		}
		if got, _ := m.Get(ctx, spec(src)); got.AccessKeyID != "ASIA3" {
			t.Fatalf("after recovery = %s, want ASIA3", got.AccessKeyID)
		}
	})
}

func TestRejectsCredentialsThatArriveExpired(t *testing.T) {
	for _, tt := range []struct {
		name string
		life time.Duration
		want string
	}{
		{"expired", -time.Second, "already expired"},
		{"too short", 4 * time.Minute, "expire in 4m0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, src := newManager(t, Config{})
			src.Life = tt.life
			_, err := m.Get(context.Background(), spec(src))
			if !errors.Is(err, broker.ErrSourceFailed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrSourceFailed saying %q", err, tt.want)
			}
			if _, ok := m.Peek("k"); ok {
				t.Fatal("rejected credentials were kept")
			}
		})
	}
}

func TestCredentialsWithoutExpiryAreReadAgainAfterTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, src := newManager(t, Config{})
		src.Life = 0
		m.Get(context.Background(), spec(src))
		time.Sleep(def.NoExpiryTTL - time.Minute)
		m.Get(context.Background(), spec(src))
		synctest.Wait()
		if src.Calls() != 1 {
			t.Fatalf("fetches before TTL = %d", src.Calls())
		}
		time.Sleep(2 * time.Minute)
		m.Get(context.Background(), spec(src))
		synctest.Wait()
		if src.Calls() != 2 {
			t.Fatalf("fetches after TTL = %d, want 2", src.Calls())
		}
	})
}

func TestRefreshDueKeepsRecentlyUsedWarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := DefaultPolicy()
		p.WarmFor = 30 * time.Minute
		m, src := newManager(t, Config{Policy: p})
		idle := &credmgrtest.Source{Life: time.Hour}
		mfa := &credmgrtest.Source{Life: time.Hour}
		ctx := context.Background()
		start := time.Now()
		m.Get(ctx, spec(src))
		m.Get(ctx, Spec{Key: "idle", Profile: "idle", Fetch: idle.Fetch})
		m.Get(ctx, Spec{Key: "mfa", Profile: "mfa", Interactive: true, Fetch: mfa.Fetch})
		if n := m.RefreshDue(ctx); n != 0 {
			t.Fatalf("RefreshDue right away started %d", n)
		}
		if next := m.NextDue(); !next.Equal(start.Add(45 * time.Minute)) {
			t.Fatalf("NextDue = %v, want %v", next, start.Add(45*time.Minute))
		}
		// "idle" falls out of use; "k" is used again.
		time.Sleep(40 * time.Minute)
		m.Get(ctx, spec(src))
		time.Sleep(6 * time.Minute)
		if n := m.RefreshDue(ctx); n != 1 {
			t.Fatalf("RefreshDue started %d refreshes, want 1 (only the recently used, non-interactive entry)", n)
		}
		if src.Calls() != 2 || idle.Calls() != 1 || mfa.Calls() != 1 {
			t.Fatalf("fetches: used=%d idle=%d mfa=%d; want 2, 1, 1", src.Calls(), idle.Calls(), mfa.Calls())
		}
	})
}

func TestForgetAndStatus(t *testing.T) {
	m, src := newManager(t, Config{})
	ctx := context.Background()
	m.Get(ctx, Spec{Key: "a", Profile: "dev", Fetch: src.Fetch})
	m.Get(ctx, Spec{Key: "b", Profile: "dev", Fetch: src.Fetch})
	m.Get(ctx, Spec{Key: "c", Profile: "prod", Fetch: src.Fetch})
	st := m.Statuses()
	if len(st) != 3 || st[0].Requests != 1 || st[0].AccessKeyID != "ASIA****" || st[0].Expires.IsZero() {
		t.Fatalf("statuses = %+v", st)
	}
	if n, _ := m.Forget("dev", false); n != 2 {
		t.Fatalf("Forget(dev) = %d, want 2", n)
	}
	if n, _ := m.Forget("", true); n != 1 {
		t.Fatalf("Forget(all) = %d, want 1", n)
	}
	if _, ok := m.Peek("c"); ok {
		t.Fatal("forgotten entry still served")
	}
}

func TestForgetDuringRefreshStaysForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &credmgrtest.Store{}
		m, src := newManager(t, Config{Store: store})
		src.Gate = make(chan struct{})
		done := make(chan error, 1)
		go func() {
			_, err := m.Get(context.Background(), spec(src))
			done <- err
		}()
		synctest.Wait() // the fetch is under way
		if n, _ := m.Forget("p", false); n != 1 {
			t.Fatalf("Forget = %d, want 1", n)
		}
		close(src.Gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Peek("k"); ok {
			t.Fatal("credentials fetched for a forgotten entry were kept")
		}
		m.flush()
		if store.Len() != 0 {
			t.Fatalf("credentials fetched for a forgotten entry were saved: %d records", store.Len())
		}
	})
}

func TestForgetReachesStoredEntriesNotInMemory(t *testing.T) {
	store := &credmgrtest.Store{}
	m, src := newManager(t, Config{Store: store})
	m.Get(context.Background(), Spec{Key: "a", Profile: "dev", Fetch: src.Fetch})
	m.Get(context.Background(), Spec{Key: "b", Profile: "prod", Fetch: src.Fetch})
	m.flush()
	// A restarted daemon has nothing in memory yet.
	m2, _ := newManager(t, Config{Store: store})
	if n, err := m2.Forget("dev", false); n != 1 || err != nil {
		t.Fatalf("Forget(dev) after restart = %d, %v; want 1", n, err)
	}
	if _, ok := m2.Peek("a"); ok {
		t.Fatal("forgotten credentials still served after a restart")
	}
	if _, ok := m2.Peek("b"); !ok {
		t.Fatal("another profile's credentials were forgotten")
	}
	if r, _ := store.Get("b"); r.Creds.AccessKeyID == "" {
		t.Fatal("the store lost prod")
	}
	// Restored entries keep their profile, so forget finds them in memory.
	if n, _ := m2.Forget("prod", false); n != 1 {
		t.Fatalf("Forget(prod) of a restored entry = %d, want 1", n)
	}
}

func TestDueRefreshStartsOneGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, src := newManager(t, Config{})
		ctx := context.Background()
		m.Get(ctx, spec(src))
		src.Gate = make(chan struct{})
		time.Sleep(46 * time.Minute) // due
		before := runtime.NumGoroutine()
		for range 200 {
			if _, err := m.Get(ctx, spec(src)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if extra := runtime.NumGoroutine() - before; extra > 3 {
			t.Fatalf("%d goroutines wait on one background refresh, want about 1", extra)
		}
		close(src.Gate)
		synctest.Wait()
		if src.Calls() != 2 {
			t.Fatalf("fetches = %d, want 2", src.Calls())
		}
	})
}

func TestConcurrentInteractiveGets(t *testing.T) {
	m, _ := newManager(t, Config{})
	var wg sync.WaitGroup
	for i := range 8 {
		src := &credmgrtest.Source{Life: time.Hour}
		wg.Go(func() {
			spec := Spec{Key: "mfa", Profile: fmt.Sprint("p", i), Interactive: true, Fetch: src.Fetch}
			if _, err := m.Get(context.Background(), spec); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestIdleEntriesLeaveMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, Config{})
		static := &credmgrtest.Source{} // no expiry: always "usable"
		m.Get(context.Background(), Spec{Key: "static", Profile: "s", Fetch: static.Fetch})
		time.Sleep(def.WarmFor + time.Minute)
		m.RefreshDue(context.Background())
		if len(m.Statuses()) != 0 {
			t.Fatalf("an idle entry stayed in memory: %+v", m.Statuses())
		}
	})
}
