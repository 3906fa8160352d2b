package credmgr

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// source is a fake credential source: each fetch returns new credentials
// lasting life, or the next queued error.
type source struct {
	clock clockwork.Clock
	life  time.Duration
	calls atomic.Int32
	mu    sync.Mutex
	errs  []error
	gate  chan struct{} // if set, each fetch waits for a receive
}

func (s *source) fetch(ctx context.Context) (sigv4.Credentials, error) {
	n := s.calls.Add(1)
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return sigv4.Credentials{}, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return sigv4.Credentials{}, err
	}
	c := sigv4.Credentials{AccessKeyID: fmt.Sprintf("ASIA%d", n), SecretAccessKey: "s", SessionToken: "t"}
	if s.life != 0 {
		c.Expires = s.clock.Now().Add(s.life)
	}
	return c, nil
}

func (s *source) failNext(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func newManager(t *testing.T) (*Manager, *clockwork.FakeClock, *source) {
	clock := clockwork.NewFakeClockAt(t0)
	m := &Manager{Clock: clock, Jitter: func(time.Duration) time.Duration { return 0 }}
	if err := m.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	return m, clock, &source{clock: clock, life: time.Hour}
}

func spec(s *source) Spec { return Spec{Key: "k", Profile: "p", Fetch: s.fetch} }

func TestColdParallelCallersShareOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, src := newManager(t)
		src.gate = make(chan struct{})
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
		close(src.gate)
		for range n {
			if c := <-results; c.AccessKeyID != "ASIA1" {
				t.Errorf("got %s, want the one fetch's ASIA1", c.AccessKeyID)
			}
		}
		if got := src.calls.Load(); got != 1 {
			t.Fatalf("fetches = %d, want 1", got)
		}
	})
}

func TestRefreshAheadOfExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, clock, src := newManager(t)
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
		clock.Advance(44 * time.Minute) // 16 minutes left: not yet due
		if got := get(); got != "ASIA1" || src.calls.Load() != 1 {
			t.Fatalf("at 44m: %s after %d fetches, want cached ASIA1 after 1", got, src.calls.Load())
		}
		clock.Advance(2 * time.Minute) // 14 minutes left: due
		if got := get(); got != "ASIA1" {
			t.Fatalf("due get = %s, want the still-valid ASIA1 at once", got)
		}
		synctest.Wait() // the background refresh
		if src.calls.Load() != 2 {
			t.Fatalf("fetches = %d, want a background refresh", src.calls.Load())
		}
		if got := get(); got != "ASIA2" {
			t.Fatalf("after refresh = %s, want ASIA2", got)
		}
	})
}

func TestFailedRefreshServesOldCredentialsAndBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, clock, src := newManager(t)
		ctx := context.Background()
		if _, err := m.Get(ctx, spec(src)); err != nil {
			t.Fatal(err)
		}
		clock.Advance(46 * time.Minute)
		src.failNext(errors.New("sts down"))
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
		if got := src.calls.Load(); got != 2 {
			t.Fatalf("fetches during backoff = %d, want 2", got)
		}
		clock.Advance(MinBackoff * 2) // past the jittered first backoff (≤ 1.5 × MinBackoff)
		m.Get(ctx, spec(src))
		synctest.Wait()
		if got := src.calls.Load(); got != 3 {
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
			m, _, src := newManager(t)
			src.life = tt.life
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
		m, clock, src := newManager(t)
		src.life = 0
		m.Get(context.Background(), spec(src))
		clock.Advance(NoExpiryTTL - time.Minute)
		m.Get(context.Background(), spec(src))
		synctest.Wait()
		if src.calls.Load() != 1 {
			t.Fatalf("fetches before TTL = %d", src.calls.Load())
		}
		clock.Advance(2 * time.Minute)
		m.Get(context.Background(), spec(src))
		synctest.Wait()
		if src.calls.Load() != 2 {
			t.Fatalf("fetches after TTL = %d, want 2", src.calls.Load())
		}
	})
}

func TestRefreshDueKeepsRecentlyUsedWarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, clock, src := newManager(t)
		idle := &source{clock: clock, life: time.Hour}
		mfa := &source{clock: clock, life: time.Hour}
		ctx := context.Background()
		m.Get(ctx, spec(src))
		m.Get(ctx, Spec{Key: "idle", Profile: "idle", Fetch: idle.fetch})
		m.Get(ctx, Spec{Key: "mfa", Profile: "mfa", Interactive: true, Fetch: mfa.fetch})
		if n := m.RefreshDue(ctx); n != 0 {
			t.Fatalf("RefreshDue right away started %d", n)
		}
		if next := m.NextDue(); !next.Equal(t0.Add(45 * time.Minute)) {
			t.Fatalf("NextDue = %v, want %v", next, t0.Add(45*time.Minute))
		}
		// "idle" falls out of use; "k" is used again.
		m.WarmFor = 30 * time.Minute
		clock.Advance(40 * time.Minute)
		m.Get(ctx, spec(src))
		clock.Advance(6 * time.Minute)
		if n := m.RefreshDue(ctx); n != 1 {
			t.Fatalf("RefreshDue started %d refreshes, want 1 (only the recently used, non-interactive entry)", n)
		}
		if src.calls.Load() != 2 || idle.calls.Load() != 1 || mfa.calls.Load() != 1 {
			t.Fatalf("fetches: used=%d idle=%d mfa=%d; want 2, 1, 1", src.calls.Load(), idle.calls.Load(), mfa.calls.Load())
		}
	})
}

func TestForgetAndStatus(t *testing.T) {
	m, _, src := newManager(t)
	ctx := context.Background()
	m.Get(ctx, Spec{Key: "a", Profile: "dev", Fetch: src.fetch})
	m.Get(ctx, Spec{Key: "b", Profile: "dev", Fetch: src.fetch})
	m.Get(ctx, Spec{Key: "c", Profile: "prod", Fetch: src.fetch})
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

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	m, _, _ := newManager(t)
	m.Jitter = func(max time.Duration) time.Duration { return max - 1 } // the most
	prev := time.Duration(0)
	for i := 1; i <= 12; i++ {
		d := m.backoff(i, sigv4.Credentials{}, t0)
		if d < prev {
			t.Fatalf("backoff(%d) = %v < backoff(%d) = %v", i, d, i-1, prev)
		}
		if d >= MaxBackoff*3/2 {
			t.Fatalf("backoff(%d) = %v, above the bound", i, d)
		}
		prev = d
	}
	if prev < MaxBackoff {
		t.Fatalf("backoff never reached MaxBackoff: %v", prev)
	}
}

func TestForgetDuringRefreshStaysForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{m: map[string]stored{}}
		m, _, src := newManager(t)
		m.Store = store
		src.gate = make(chan struct{})
		done := make(chan error, 1)
		go func() {
			_, err := m.Get(context.Background(), spec(src))
			done <- err
		}()
		synctest.Wait() // the fetch is under way
		if n, _ := m.Forget("p", false); n != 1 {
			t.Fatalf("Forget = %d, want 1", n)
		}
		close(src.gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Peek("k"); ok {
			t.Fatal("credentials fetched for a forgotten entry were kept")
		}
		m.Flush()
		if len(store.m) != 0 {
			t.Fatalf("credentials fetched for a forgotten entry were saved: %v", store.m)
		}
	})
}

func TestForgetReachesStoredEntriesNotInMemory(t *testing.T) {
	store := &memStore{m: map[string]stored{}}
	m, _, src := newManager(t)
	m.Store = store
	m.Get(context.Background(), Spec{Key: "a", Profile: "dev", Fetch: src.fetch})
	m.Get(context.Background(), Spec{Key: "b", Profile: "prod", Fetch: src.fetch})
	m.Flush()
	// A restarted daemon has nothing in memory yet.
	m2, _, _ := newManager(t)
	m2.Store = store
	if n, err := m2.Forget("dev", false); n != 1 || err != nil {
		t.Fatalf("Forget(dev) after restart = %d, %v; want 1", n, err)
	}
	if _, ok := m2.Peek("a"); ok {
		t.Fatal("forgotten credentials still served after a restart")
	}
	if _, ok := m2.Peek("b"); !ok {
		t.Fatal("another profile's credentials were forgotten")
	}
	if c, _, _, _ := store.Load("b"); c.AccessKeyID == "" {
		t.Fatal("the store lost prod")
	}
	// Restored entries keep their profile, so forget finds them in memory.
	if n, _ := m2.Forget("prod", false); n != 1 {
		t.Fatalf("Forget(prod) of a restored entry = %d, want 1", n)
	}
}

func TestDueRefreshStartsOneGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, clock, src := newManager(t)
		ctx := context.Background()
		m.Get(ctx, spec(src))
		src.gate = make(chan struct{})
		clock.Advance(46 * time.Minute) // due
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
		close(src.gate)
		synctest.Wait()
		if src.calls.Load() != 2 {
			t.Fatalf("fetches = %d, want 2", src.calls.Load())
		}
	})
}

func TestConcurrentInteractiveGets(t *testing.T) {
	m, _, _ := newManager(t)
	var wg sync.WaitGroup
	for i := range 8 {
		src := &source{clock: m.Clock, life: time.Hour}
		wg.Go(func() {
			spec := Spec{Key: "mfa", Profile: fmt.Sprint("p", i), Interactive: true, Fetch: src.fetch}
			if _, err := m.Get(context.Background(), spec); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestIdleEntriesLeaveMemory(t *testing.T) {
	m, clock, _ := newManager(t)
	static := &source{clock: clock} // no expiry: always "usable"
	m.Get(context.Background(), Spec{Key: "static", Profile: "s", Fetch: static.fetch})
	clock.Advance(m.WarmFor + time.Minute)
	m.RefreshDue(context.Background())
	if len(m.Statuses()) != 0 {
		t.Fatalf("an idle entry stayed in memory: %+v", m.Statuses())
	}
}

// TestRunStopsWithoutWaitingForAHungRefresh: a background refresh that
// hangs (an STS that never answers, a stuck credential_process) must not
// hold up shutdown: Run returns when its context ends, and the fetch is
// cancelled.
func TestRunStopsWithoutWaitingForAHungRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, clock, src := newManager(t)
		if _, err := m.Get(context.Background(), spec(src)); err != nil {
			t.Fatal(err)
		}
		src.gate = make(chan struct{})  // never opened: the next fetch hangs
		clock.Advance(46 * time.Minute) // due
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		clock.Advance(time.Minute) // past Run's wait: the refresh starts
		synctest.Wait()
		if src.calls.Load() != 2 {
			t.Fatalf("fetches = %d, want the hung refresh under way", src.calls.Load())
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
