package credmgr

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// outage is the error an unreachable or failing STS gives: temporary.
func outage() error {
	return broker.Errorf(broker.ErrSourceFailed, "p", "cannot reach AWS STS for profile p: sts.example does not resolve").
		WithCause(errors.Join(broker.ErrTemporary, errors.New("dns")))
}

func TestServesTheReserveDuringAnOutageUntilShortlyBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, clock, src := newManager(t)
		src.life = 11 * time.Minute // as the fault suite's stand-in issues them
		ctx := context.Background()
		if _, err := m.Get(ctx, spec(src)); err != nil {
			t.Fatal(err)
		}
		for range 1000 {
			src.failNext(outage())
		}
		failed := 0
		// One request every 15 seconds for ten minutes of outage.
		for step := range 40 {
			clock.Advance(15 * time.Second)
			m.RefreshDue(ctx)
			synctest.Wait()
			c, err := m.Get(ctx, spec(src))
			synctest.Wait()
			left := 11*time.Minute - time.Duration(step+1)*15*time.Second
			switch {
			case err != nil && left >= ReserveFloor:
				t.Fatalf("with %s left: %v, want the reserve", left, err)
			case err != nil:
				failed++
			case c.AccessKeyID != "ASIA1":
				t.Fatalf("served %s during the outage", c.AccessKeyID)
			}
			if step == 30 { // 3 minutes left: on reserve, and status says so
				if st := m.Statuses()[0]; !st.OnReserve || !strings.Contains(st.LastError, "does not resolve") {
					t.Fatalf("status during the outage = %+v", st)
				}
			}
		}
		if failed > 4 { // the last minute, at one request per 15 s
			t.Fatalf("%d requests failed; only those in the last minute may", failed)
		}
		// Attempts during the outage stay bounded by the backoff.
		if calls := src.calls.Load(); calls > 40 {
			t.Fatalf("%d fetches for 40 requests during the outage", calls)
		}
	})
}

func TestTemporaryFailuresAreNotRetriedPerRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, clock, src := newManager(t)
		ctx := context.Background()
		for range 100 {
			src.failNext(outage())
		}
		if _, err := m.Get(ctx, spec(src)); err == nil {
			t.Fatal("no error")
		}
		for range 40 {
			_, err := m.Get(ctx, spec(src))
			if !errors.Is(err, broker.ErrTemporary) || !strings.Contains(err.Error(), "tries again at") {
				t.Fatalf("request during the backoff: %v", err)
			}
		}
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("%d fetches for 41 requests during one backoff, want 1", n)
		}
		clock.Advance(MinBackoff * 2)
		m.Get(ctx, spec(src))
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("after the backoff: %d fetches, want 2", n)
		}

		// A failure the user can fix (an expired SSO session) is retried
		// at once: they may have just logged in.
		sso := &source{clock: clock, life: time.Hour}
		sso.failNext(broker.Errorf(broker.ErrSSOExpired, "p", "run aws sso login"))
		if _, err := m.Get(ctx, Spec{Key: "sso", Profile: "p", Fetch: sso.fetch}); !errors.Is(err, broker.ErrSSOExpired) {
			t.Fatalf("first: %v", err)
		}
		if c, err := m.Get(ctx, Spec{Key: "sso", Profile: "p", Fetch: sso.fetch}); err != nil || c.AccessKeyID == "" {
			t.Fatalf("after logging in: %v", err)
		}
	})
}

func TestForgetWinsOverConcurrentRestoreRefreshAndSave(t *testing.T) {
	old := sigv4.Credentials{AccessKeyID: "ASIAOLD", SecretAccessKey: "s", SessionToken: "t", Expires: t0.Add(time.Hour)}
	for i := range 2000 {
		store := &memStore{m: map[string]stored{"k": {old, "p"}}}
		m, clock, _ := newManager(t)
		m.Store = store
		var forgetStarted atomic.Bool
		fetch := func(context.Context) (sigv4.Credentials, error) {
			id := "ASIAPOST"
			if !forgetStarted.Load() {
				id = "ASIAPRE" // began before Forget: must not survive it
			}
			return sigv4.Credentials{AccessKeyID: id, SecretAccessKey: "s", SessionToken: "t", Expires: clock.Now().Add(time.Hour)}, nil
		}
		if i%2 == 1 {
			clock.Advance(50 * time.Minute) // the stored credentials are due: Get refreshes
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; m.Peek("k") })
		wg.Go(func() { <-start; m.Get(context.Background(), Spec{Key: "k", Profile: "p", Fetch: fetch}) })
		wg.Go(func() { <-start; forgetStarted.Store(true); m.Forget("p", false) })
		close(start)
		wg.Wait()
		m.Flush()
		m.mu.Lock()
		var inMemory string
		if e := m.entries["k"]; e != nil {
			inMemory = e.creds.AccessKeyID
		}
		m.mu.Unlock()
		onDisk, _ := store.get("k")
		for where, id := range map[string]string{"memory": inMemory, "store": onDisk.c.AccessKeyID} {
			if id == "ASIAOLD" || id == "ASIAPRE" {
				t.Fatalf("iteration %d: %s holds %s after Forget", i, where, id)
			}
		}
	}
}

// blockingStore, once armed, blocks Load of key "slow" and every Save
// until released.
type blockingStore struct {
	memStore
	armed   atomic.Bool
	release chan struct{}
}

func (s *blockingStore) Load(k string) (sigv4.Credentials, string, bool, error) {
	if k == "slow" && s.armed.Load() {
		<-s.release
	}
	return s.memStore.Load(k)
}

func (s *blockingStore) Save(k, p string, c sigv4.Credentials) error {
	if s.armed.Load() {
		<-s.release
	}
	return s.memStore.Save(k, p, c)
}

func TestASlowStoreStallsNoOtherProfile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, clock, src := newManager(t)
		store := &blockingStore{memStore: memStore{m: map[string]stored{}}, release: make(chan struct{})}
		m.Store = store
		ctx := context.Background()
		if _, err := m.Get(ctx, Spec{Key: "fast", Profile: "a", Fetch: src.fetch}); err != nil {
			t.Fatal(err)
		}
		m.Flush()
		store.armed.Store(true)
		// One request waits on a slow read, another's save waits on the disk.
		go m.Get(ctx, Spec{Key: "slow", Profile: "b", Fetch: src.fetch})
		other := &source{clock: clock, life: time.Hour}
		if _, err := m.Get(ctx, Spec{Key: "new", Profile: "c", Fetch: other.fetch}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// Meanwhile, the warm profile, status and forget of another profile
		// all answer.
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := m.Get(ctx, Spec{Key: "fast", Profile: "a", Fetch: src.fetch}); err != nil {
				t.Error(err)
			}
			m.Statuses()
			m.Peek("fast")
		}()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("a request for a warm profile waits on another profile's disk I/O")
		}
		close(store.release)
		m.Flush()
	})
}

func TestAnEndedMFASessionStopsWarmingAndStatusSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, clock, src := newManager(t)
		ctx := context.Background()
		m.Get(ctx, spec(src))
		needsCode := broker.Errorf(broker.ErrMFARequired, "p", "MFA required")
		for range 100 {
			src.failNext(needsCode)
		}
		var logs strings.Builder
		m.Log = newTextLogger(&logs)
		clock.Advance(46 * time.Minute)
		for range 20 {
			m.RefreshDue(ctx)
			clock.Advance(MaxBackoff)
		}
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("%d fetches, want 1 attempt after the session ended", n)
		}
		st := m.Statuses()[0]
		if !st.NeedsMFA || !strings.Contains(st.LastError, "needs MFA") {
			t.Fatalf("status = %+v", st)
		}
		if strings.Count(logs.String(), "level=WARN") != 0 || strings.Count(logs.String(), "MFA session") != 1 {
			t.Fatalf("log: want one note, no warnings:\n%s", logs.String())
		}
	})
}

func TestACallerThatGivesUpIsNotASourceFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, src := newManager(t)
		src.gate = make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan error, 1)
		go func() {
			_, err := m.Get(ctx, spec(src))
			got <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-got; !errors.Is(err, context.Canceled) {
			t.Fatalf("Get after the caller gave up = %v, want context.Canceled", err)
		}
		// The fetch goes on for the next caller, and succeeds.
		close(src.gate)
		synctest.Wait()
		if st := m.Statuses()[0]; st.LastError != "" {
			t.Fatalf("status after a caller gave up: %q", st.LastError)
		}

		// Shutting down cancels fetches: not a failure either.
		src2 := &source{clock: src.clock, life: time.Hour, gate: make(chan struct{})}
		go m.Get(context.Background(), Spec{Key: "k2", Profile: "p2", Fetch: src2.fetch})
		synctest.Wait()
		var logs strings.Builder
		m.Log = newTextLogger(&logs)
		m.stop()
		synctest.Wait()
		if strings.Contains(logs.String(), "level=WARN") {
			t.Fatalf("shutdown logged a refresh failure:\n%s", logs.String())
		}
	})
}

func TestStatusShowsARefreshUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, clock, src := newManager(t)
		src.gate = make(chan struct{})
		go m.Get(context.Background(), spec(src))
		synctest.Wait()
		clock.Advance(30 * time.Second)
		st := m.Statuses()[0]
		if st.RefreshingSince.IsZero() || clock.Since(st.RefreshingSince) != 30*time.Second {
			t.Fatalf("status while a fetch hangs = %+v", st)
		}
		close(src.gate)
		synctest.Wait()
		if !m.Statuses()[0].RefreshingSince.IsZero() {
			t.Fatal("refreshing after the fetch ended")
		}
	})
}
