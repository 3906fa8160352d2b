package credmgr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/credmgr/credmgrtest"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// outage is the error an unreachable or failing STS gives: temporary.
func outage() error {
	return broker.Errorf(broker.ErrSourceFailed, "p", "cannot reach AWS STS for profile p: sts.example does not resolve").
		WithCause(errors.Join(broker.ErrTemporary, errors.New("dns")))
}

func TestServesTheReserveDuringAnOutageUntilShortlyBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, src := newManager(t, Config{})
		src.Life = 11 * time.Minute // as the fault suite's stand-in issues them
		ctx := context.Background()
		if _, err := m.Get(ctx, spec(src)); err != nil {
			t.Fatal(err)
		}
		for range 1000 {
			src.FailNext(outage())
		}
		failed := 0
		// One request every 15 seconds for ten minutes of outage.
		for step := range 40 {
			time.Sleep(15 * time.Second)
			m.RefreshDue(ctx)
			synctest.Wait()
			c, err := m.Get(ctx, spec(src))
			synctest.Wait()
			left := 11*time.Minute - time.Duration(step+1)*15*time.Second
			switch {
			case err != nil && left >= def.ReserveFloor:
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
		if calls := src.Calls(); calls > 40 {
			t.Fatalf("%d fetches for 40 requests during the outage", calls)
		}
	})
}

func TestTemporaryFailuresAreNotRetriedPerRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, src := newManager(t, Config{})
		ctx := context.Background()
		for range 100 {
			src.FailNext(outage())
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
		if n := src.Calls(); n != 1 {
			t.Fatalf("%d fetches for 41 requests during one backoff, want 1", n)
		}
		time.Sleep(def.MinBackoff * 2)
		m.Get(ctx, spec(src))
		if n := src.Calls(); n != 2 {
			t.Fatalf("after the backoff: %d fetches, want 2", n)
		}

		// A failure the user can fix (an expired SSO session) is retried
		// at once: they may have just logged in.
		sso := &credmgrtest.Source{Life: time.Hour}
		sso.FailNext(broker.Errorf(broker.ErrSSOExpired, "p", "run aws sso login"))
		if _, err := m.Get(ctx, Spec{Key: "sso", Profile: "p", Fetch: sso.Fetch}); !errors.Is(err, broker.ErrSSOExpired) {
			t.Fatalf("first: %v", err)
		}
		if c, err := m.Get(ctx, Spec{Key: "sso", Profile: "p", Fetch: sso.Fetch}); err != nil || c.AccessKeyID == "" {
			t.Fatalf("after logging in: %v", err)
		}
	})
}

func TestForgetWinsOverConcurrentRestoreRefreshAndSave(t *testing.T) {
	for i := range 2000 {
		// Odd iterations store credentials with less than MinRemaining
		// left, so Get refreshes them; even ones, credentials it serves.
		left := time.Hour
		if i%2 == 1 {
			left = def.MinRemaining - time.Minute
		}
		store := &credmgrtest.Store{}
		store.Save("k", "p", sigv4.Credentials{AccessKeyID: "ASIAOLD", SecretAccessKey: "s", SessionToken: "t", Expires: time.Now().Add(left)})
		m, _ := newManager(t, Config{Store: store})
		var forgetStarted atomic.Bool
		fetch := func(context.Context) (sigv4.Credentials, error) {
			id := "ASIAPOST"
			if !forgetStarted.Load() {
				id = "ASIAPRE" // began before Forget: must not survive it
			}
			return sigv4.Credentials{AccessKeyID: id, SecretAccessKey: "s", SessionToken: "t", Expires: time.Now().Add(time.Hour)}, nil
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; m.Peek("k") })
		wg.Go(func() { <-start; m.Get(context.Background(), Spec{Key: "k", Profile: "p", Fetch: fetch}) })
		wg.Go(func() { <-start; forgetStarted.Store(true); m.Forget("p", false) })
		close(start)
		wg.Wait()
		m.flush()
		m.mu.Lock()
		var inMemory string
		if e := m.entries["k"]; e != nil {
			inMemory = e.creds.AccessKeyID
		}
		m.mu.Unlock()
		onDisk, _ := store.Get("k")
		for where, id := range map[string]string{"memory": inMemory, "store": onDisk.Creds.AccessKeyID} {
			if id == "ASIAOLD" || id == "ASIAPRE" {
				t.Fatalf("iteration %d: %s holds %s after Forget", i, where, id)
			}
		}
	}
}

// blockingStore, once armed, blocks Load of key "slow" and every Save
// until released.
type blockingStore struct {
	credmgrtest.Store
	armed   atomic.Bool
	release chan struct{}
}

func (s *blockingStore) Load(k string) (sigv4.Credentials, string, bool, error) {
	if k == "slow" && s.armed.Load() {
		<-s.release
	}
	return s.Store.Load(k)
}

func (s *blockingStore) Save(k, p string, c sigv4.Credentials) error {
	if s.armed.Load() {
		<-s.release
	}
	return s.Store.Save(k, p, c)
}

func TestASlowStoreStallsNoOtherProfile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &blockingStore{release: make(chan struct{})}
		m, src := newManager(t, Config{Store: store})
		ctx := context.Background()
		if _, err := m.Get(ctx, Spec{Key: "fast", Profile: "a", Fetch: src.Fetch}); err != nil {
			t.Fatal(err)
		}
		m.flush()
		store.armed.Store(true)
		// One request waits on a slow read, another's save waits on the disk.
		go m.Get(ctx, Spec{Key: "slow", Profile: "b", Fetch: src.Fetch})
		other := &credmgrtest.Source{Life: time.Hour}
		if _, err := m.Get(ctx, Spec{Key: "new", Profile: "c", Fetch: other.Fetch}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// Meanwhile, the warm profile, status and forget of another profile
		// all answer.
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := m.Get(ctx, Spec{Key: "fast", Profile: "a", Fetch: src.Fetch}); err != nil {
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
		m.flush()
	})
}

func TestAnEndedMFASessionStopsWarmingAndStatusSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &lockedWriter{}
		m, src := newManager(t, Config{Log: logs.logger()})
		ctx := context.Background()
		m.Get(ctx, spec(src))
		needsCode := broker.Errorf(broker.ErrMFARequired, "p", "MFA required")
		for range 100 {
			src.FailNext(needsCode)
		}
		time.Sleep(46 * time.Minute)
		for range 20 {
			m.RefreshDue(ctx)
			time.Sleep(def.MaxBackoff)
		}
		if n := src.Calls(); n != 2 {
			t.Fatalf("%d fetches, want 1 attempt after the session ended", n)
		}
		st := m.Statuses()[0]
		if !st.NeedsMFA || !strings.Contains(st.LastError, "needs MFA") {
			t.Fatalf("status = %+v", st)
		}
		if l := logs.String(); strings.Count(l, "level=WARN") != 0 || strings.Count(l, "MFA session") != 1 {
			t.Fatalf("log: want one note, no warnings:\n%s", l)
		}
	})
}

func TestACallerThatGivesUpIsNotASourceFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &lockedWriter{}
		m, src := newManager(t, Config{Log: logs.logger()})
		src.Gate = make(chan struct{})
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
		close(src.Gate)
		synctest.Wait()
		if st := m.Statuses()[0]; st.LastError != "" {
			t.Fatalf("status after a caller gave up: %q", st.LastError)
		}

		// Shutting down cancels fetches: not a failure either.
		src2 := &credmgrtest.Source{Life: time.Hour, Gate: make(chan struct{})}
		go m.Get(context.Background(), Spec{Key: "k2", Profile: "p2", Fetch: src2.Fetch})
		synctest.Wait()
		m.Close()
		synctest.Wait()
		if l := logs.String(); strings.Contains(l, "level=WARN") {
			t.Fatalf("a caller giving up, or shutdown, logged a refresh failure:\n%s", l)
		}
	})
}

func TestStatusShowsARefreshUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, src := newManager(t, Config{})
		src.Gate = make(chan struct{})
		go m.Get(context.Background(), spec(src))
		synctest.Wait()
		time.Sleep(30 * time.Second)
		st := m.Statuses()[0]
		if st.RefreshingSince.IsZero() || time.Since(st.RefreshingSince) != 30*time.Second {
			t.Fatalf("status while a fetch hangs = %+v", st)
		}
		close(src.Gate)
		synctest.Wait()
		if !m.Statuses()[0].RefreshingSince.IsZero() {
			t.Fatal("refreshing after the fetch ended")
		}
	})
}

// TestTheReserveIsSaidOncePerStretch: a request whose refresh fails is
// served from the reserve at once (status says so), and the log says it
// once however many requests follow on the reserve, and again only after
// a recovery.
func TestTheReserveIsSaidOncePerStretch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &lockedWriter{}
		m, src := newManager(t, Config{Log: logs.logger()})
		ctx := context.Background()
		m.Get(ctx, spec(src))
		said := func() int { return strings.Count(logs.String(), "running on reserve") }
		for stretch := 1; stretch <= 2; stretch++ {
			time.Sleep(56 * time.Minute) // 4 minutes left: the request refreshes first
			src.FailNext(outage())
			c, err := m.Get(ctx, spec(src))
			if err != nil || c.AccessKeyID != fmt.Sprint("ASIA", 2*stretch-1) {
				t.Fatalf("stretch %d: the request whose refresh failed got %s, %v; want the reserve", stretch, c.AccessKeyID, err)
			}
			if st := m.Statuses()[0]; !st.OnReserve {
				t.Fatalf("stretch %d: status after the failed refresh = %+v, want on reserve", stretch, st)
			}
			for range 5 { // during the backoff
				m.Get(ctx, spec(src))
			}
			if n := said(); n != stretch {
				t.Fatalf("stretch %d: the log says %d times that it runs on reserve, want %d", stretch, n, stretch)
			}
			time.Sleep(def.NearExpiryBackoff * 2) // the next attempt works
			if c, err := m.Get(ctx, spec(src)); err != nil || c.AccessKeyID != fmt.Sprint("ASIA", 2*stretch+1) {
				t.Fatalf("stretch %d: after the backoff got %s, %v; want fresh credentials", stretch, c.AccessKeyID, err)
			}
		}
	})
}
