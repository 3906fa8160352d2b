package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

func mfaService(t *testing.T) (*Service, *clockwork.FakeClock, *mfaSession) {
	clock := clockwork.NewFakeClockAt(t0)
	svc, err := NewService(clock, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc, clock, &mfaSession{key: "mfa:src:serial", serial: "arn:aws:iam::1:mfa/me", profile: "dev"}
}

func TestMFAOnePrompterOthersWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, clock, s := mfaService(t)
		ctx := context.Background()
		err := svc.ensureMFA(ctx, s, "")
		if !errors.Is(err, broker.ErrMFARequired) {
			t.Fatalf("first caller: %v, want ErrMFARequired (it prompts)", err)
		}
		const waiters = 15
		results := make(chan error, waiters)
		for range waiters {
			go func() { results <- svc.ensureMFA(ctx, s, "") }()
		}
		synctest.Wait() // all 15 wait for the prompter, none prompts
		select {
		case err := <-results:
			t.Fatalf("a waiter returned before the prompter finished: %v", err)
		default:
		}
		// The prompter comes back with a code that works.
		src := &source{clock: clock, life: 12 * time.Hour}
		spec := Spec{Key: s.key, Profile: s.profile, Interactive: true, Fetch: src.fetch}
		if _, err := svc.Manager.Get(ctx, spec); err != nil {
			t.Fatal(err)
		}
		svc.mfa.finish(s.key, nil)
		for range waiters {
			if err := <-results; err != nil {
				t.Errorf("waiter: %v", err)
			}
		}
	})
}

func TestMFAWaitersLearnOfAWrongCodeAndGiveUpInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, clock, s := mfaService(t)
		ctx := context.Background()
		svc.ensureMFA(ctx, s, "") // claims the prompt
		wrong := make(chan error, 1)
		go func() { wrong <- svc.ensureMFA(ctx, s, "") }()
		synctest.Wait()
		svc.mfa.finish(s.key, errors.New("AWS rejected the MFA code"))
		if err := <-wrong; !errors.Is(err, broker.ErrMFAInvalid) || !strings.Contains(err.Error(), "another git process") {
			t.Fatalf("waiter after a wrong code: %v", err)
		}

		// A prompter who never answers: waiters give up after the timeout.
		if err := svc.ensureMFA(ctx, s, ""); !errors.Is(err, broker.ErrMFARequired) {
			t.Fatalf("new prompt not claimed: %v", err)
		}
		late := make(chan error, 1)
		go func() { late <- svc.ensureMFA(ctx, s, "") }()
		synctest.Wait()
		clock.Advance(DefaultMFAPromptTimeout + time.Second)
		if err := <-late; !errors.Is(err, broker.ErrSourceFailed) || !strings.Contains(err.Error(), "gave up after") {
			t.Fatalf("waiter after the timeout: %v", err)
		}
		// After the timeout, the next caller may prompt again.
		if err := svc.ensureMFA(ctx, s, ""); !errors.Is(err, broker.ErrMFARequired) {
			t.Fatalf("after the timeout: %v, want a new prompt", err)
		}
	})
}

type stored struct {
	c       sigv4.Credentials
	profile string
}

type memStore struct{ m map[string]stored }

func (s *memStore) Load(k string) (sigv4.Credentials, string, bool) {
	v, ok := s.m[k]
	return v.c, v.profile, ok
}
func (s *memStore) Save(k, p string, c sigv4.Credentials) error {
	s.m[k] = stored{c, p}
	return nil
}
func (s *memStore) Delete(k string) error { delete(s.m, k); return nil }
func (s *memStore) DeleteProfile(p string, all bool) ([]string, error) {
	var gone []string
	for k, v := range s.m {
		if all || v.profile == p {
			gone = append(gone, k)
			delete(s.m, k)
		}
	}
	return gone, nil
}

func TestManagerRestoresFromStore(t *testing.T) {
	store := &memStore{m: map[string]stored{}}
	m, _, src := newManager(t)
	m.Store = store
	if _, err := m.Get(context.Background(), spec(src)); err != nil {
		t.Fatal(err)
	}
	if _, ok := store.m["k"]; !ok {
		t.Fatal("temporary credentials were not persisted")
	}
	// A new manager (a restarted daemon) serves them without fetching.
	m2, _, src2 := newManager(t)
	m2.Store = store
	if c, ok := m2.Peek("k"); !ok || c.AccessKeyID != "ASIA1" {
		t.Fatalf("Peek after restart = %v, %v", c, ok)
	}
	if c, err := m2.Get(context.Background(), spec(src2)); err != nil || c.AccessKeyID != "ASIA1" || src2.calls.Load() != 0 {
		t.Fatalf("Get after restart = %v, %v with %d fetches; want the stored ASIA1 and none", c, err, src2.calls.Load())
	}
	// Long-term keys are never offered to the store.
	static := &source{clock: m.Clock}
	m.Get(context.Background(), Spec{Key: "static", Fetch: static.fetch})
	if _, ok := store.m["static"]; ok {
		t.Fatal("credentials without an expiry were persisted")
	}
}
