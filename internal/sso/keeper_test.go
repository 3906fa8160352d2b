package sso

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
)

func TestNext(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)
	tok := Token{AccessToken: "a", ExpiresAt: exp, RefreshToken: "r", ClientID: "c", ClientSecret: "s", RegistrationExpiresAt: now.Add(90 * 24 * time.Hour)}
	base := sessionState{tok: tok, jitter: 2 * time.Minute, lastUsed: now.Add(-time.Hour)}
	with := func(f func(*sessionState)) sessionState { s := base; f(&s); return s }
	for _, tt := range []struct {
		name string
		s    sessionState
		at   time.Time
		act  action
	}{
		{"ahead of expiry, jittered", base, exp.Add(-12 * time.Minute), actRefresh},
		{"expired but refreshable: at once", with(func(s *sessionState) { s.tok.ExpiresAt = now.Add(-time.Minute) }), now.Add(-13 * time.Minute), actRefresh},
		{"unused for 24 hours", with(func(s *sessionState) { s.lastUsed = now.Add(-24 * time.Hour) }), time.Time{}, actIdle},
		{"used 23h59m ago", with(func(s *sessionState) { s.lastUsed = now.Add(-24*time.Hour + time.Minute) }), exp.Add(-12 * time.Minute), actRefresh},
		{"file unusable", with(func(s *sessionState) { s.loadErr = errors.New("x") }), time.Time{}, actNone},
		{"no refresh token", with(func(s *sessionState) { s.tok.RefreshToken = "" }), time.Time{}, actNone},
		{"no client", with(func(s *sessionState) { s.tok.ClientSecret = "" }), time.Time{}, actNone},
		{"registration ended", with(func(s *sessionState) { s.tok.RegistrationExpiresAt = now }), time.Time{}, actNone},
		{"refresh token refused", with(func(s *sessionState) { s.refused = "r" }), time.Time{}, actNone},
		{"an older refresh token refused", with(func(s *sessionState) { s.refused = "old" }), exp.Add(-12 * time.Minute), actRefresh},
		{"lasts to the session's end", with(func(s *sessionState) { s.sessionEnd = exp }), time.Time{}, actNone},
		{"session ends later", with(func(s *sessionState) { s.sessionEnd = exp.Add(time.Hour) }), exp.Add(-12 * time.Minute), actRefresh},
		{"failed once", with(func(s *sessionState) { s.failures, s.lastAttempt = 1, now }), now.Add(15 * time.Second), actRefresh},
		{"failed twice", with(func(s *sessionState) { s.failures, s.lastAttempt = 2, now }), now.Add(30 * time.Second), actRefresh},
		{"failed often: within a minute", with(func(s *sessionState) { s.failures, s.lastAttempt = 40, now }), now.Add(time.Minute), actRefresh},
	} {
		at, act := tt.s.next(now, WarmFor)
		if !at.Equal(tt.at) || act != tt.act {
			t.Errorf("%s: next = %v, %v; want %v, %v", tt.name, at, act, tt.at, tt.act)
		}
	}
}

// keeping runs a Keeper of e's client for the test, with jitter fixed at
// half of RefreshJitter unless cfg says otherwise; stop ends it and waits.
func keeping(t *testing.T, e *env, cfg KeeperConfig) (k *Keeper, stop func()) {
	t.Helper()
	cfg.Client = e.client
	if cfg.Jitter == nil {
		cfg.Jitter = func(max time.Duration) time.Duration { return max / 2 }
	}
	k, err := NewKeeper(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- k.Run(ctx) }()
	return k, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
}

// TestKeeperEightHours is issue #20's simulation: a session of 1-hour
// access tokens that IAM Identity Center ends after 8 hours, signed in
// once, and a git operation every 10 minutes for those 8 hours (the SDK's
// ssocreds reading the token file and GetRoleCredentials with it). No
// operation fails and nobody is asked to sign in again. The keeper
// refreshes 10 to 13 minutes before each expiry: 9 refreshes, the fewest
// that keep 1-hour tokens valid from the sign-in to the last operation at
// 7h50 (8 would end at 8 × 47–50 min + 60 min ≤ 7h40); none after the
// refresh that ran into the session's end. (The "7–8" counts
// tokens refreshed at expiry, which leaves no margin.)
func TestKeeperEightHours(t *testing.T) {
	for _, jitter := range []time.Duration{0, RefreshJitter / 2, RefreshJitter - time.Second} {
		t.Run(jitter.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, true)
				e.fake.SetSSOLifetimes(time.Hour, 8*time.Hour)
				signedIn := time.Now()
				first := e.deviceLogin(t, corp)
				k, stop := keeping(t, e, KeeperConfig{Jitter: func(time.Duration) time.Duration { return jitter }})
				failed := 0
				for op := range 48 {
					k.Use(corp)
					if err := sdkCredentials(t, e, e.client.TokenPath(corp), false); err != nil {
						failed++
						t.Errorf("operation %d at %v: %v", op, time.Since(signedIn), err)
					}
					time.Sleep(10 * time.Minute)
				}
				stop()
				prompts := e.fake.Calls("StartDeviceAuthorization") - 1 // the sign-in
				refreshes := e.fake.CreateTokenCalls(fakests.GrantRefreshToken)
				t.Logf("0 prompts? %d; refreshes %d; failed operations %d", prompts, refreshes, failed)
				if prompts != 0 || refreshes != 9 || failed != 0 {
					t.Errorf("%d prompts, %d refreshes, %d failed operations; want 0, 9, 0", prompts, refreshes, failed)
				}
				st := k.Status()
				end := first.ExpiresAt.Add(7 * time.Hour) // the session began an hour before the first token's end
				if len(st) != 1 || st[0].Refreshes != 9 || !st[0].Expires.Equal(end) || !st[0].SessionEnds.Equal(end) || st[0].Err != nil || !st[0].NextRefresh.IsZero() {
					t.Errorf("Status = %+v; want 9 refreshes, the token and the session ending at %v, nothing planned", st, end)
				}
			})
		})
	}
}

// refreshTimes records when each refresh call reached the fake.
func refreshTimes(e *env) func() []time.Time {
	var mu sync.Mutex
	var at []time.Time
	e.setHook(func(r *http.Request) {
		if grant(r) == fakests.GrantRefreshToken {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
		}
	})
	return func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), at...)
	}
}

// TestKeeperRetriesWithinAMinute: a refresh AWS fails is tried again 15 s,
// 30 s, then a minute later, while Status says what failed; once it works,
// the error is gone.
func TestKeeperRetriesWithinAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		times := refreshTimes(e)
		tok := e.deviceLogin(t, corp)
		for range 3 {
			e.fake.FailNext("CreateToken", fakests.Fault{Status: 503, Code: "InternalServerException", Message: "down"})
		}
		k, stop := keeping(t, e, KeeperConfig{Jitter: func(time.Duration) time.Duration { return 0 }})
		defer stop()
		k.Use(corp)
		time.Sleep(time.Until(tok.ExpiresAt) - RefreshAhead + 20*time.Second)
		if st := k.Status(); st[0].Err == nil || ReasonOf(st[0].Err) != ReasonTemporary || time.Until(st[0].NextRefresh) > time.Minute {
			t.Errorf("Status while failing = %+v; want the temporary failure and a retry within a minute", st[0])
		}
		time.Sleep(2 * time.Minute)
		at := times()
		first := tok.ExpiresAt.Add(-RefreshAhead)
		want := []time.Time{first, first.Add(15 * time.Second), first.Add(45 * time.Second), first.Add(105 * time.Second)}
		if len(at) != len(want) {
			t.Fatalf("refresh calls at %v, want %v", at, want)
		}
		for i := range want {
			if !at[i].Equal(want[i]) {
				t.Errorf("refresh %d at %v, want %v", i, at[i], want[i])
			}
		}
		if st := k.Status(); st[0].Err != nil || st[0].Refreshes != 1 {
			t.Errorf("Status after it worked = %+v", st[0])
		}
	})
}

// TestKeeperLeavesAlone: a session unused for 24 hours is no longer
// refreshed; one whose refresh token was refused is not asked again until
// a new sign-in; one without a refresh token is only reported.
func TestKeeperLeavesAlone(t *testing.T) {
	t.Run("unused for a day", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, true)
			e.fake.SetSSOLifetimes(time.Hour, 72*time.Hour)
			e.deviceLogin(t, corp)
			k, stop := keeping(t, e, KeeperConfig{})
			defer stop()
			k.Use(corp)
			time.Sleep(25 * time.Hour)
			n := e.fake.CreateTokenCalls(fakests.GrantRefreshToken)
			time.Sleep(10 * time.Hour)
			if after := e.fake.CreateTokenCalls(fakests.GrantRefreshToken); n < 20 || after != n {
				t.Errorf("%d refreshes in the first day, %d more after it; want about 30, then none", n, after-n)
			}
			if st := k.Status(); !st[0].Idle || !st[0].Renewable || st[0].Err != nil {
				t.Errorf("Status = %+v; want idle, renewable", st[0])
			}
		})
	})
	t.Run("revoked", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, true)
			tok := e.deviceLogin(t, corp)
			e.fake.RevokeSSOSession(tok.AccessToken)
			k, stop := keeping(t, e, KeeperConfig{})
			defer stop()
			k.Use(corp)
			time.Sleep(3 * time.Hour)
			if n := e.fake.CreateTokenCalls(fakests.GrantRefreshToken); n != 1 {
				t.Errorf("%d refresh calls, want 1: a refused refresh token is not tried again", n)
			}
			st := k.Status()
			reasonIs(t, st[0].Err, ReasonRevoked, corp)
			if st[0].Renewable || !st[0].NextRefresh.IsZero() {
				t.Errorf("Status = %+v; want not renewable, nothing planned", st[0])
			}
			e.deviceLogin(t, corp) // signed in again
			k.Use(corp)
			time.Sleep(time.Hour)
			if n := e.fake.CreateTokenCalls(fakests.GrantRefreshToken); n != 2 || k.Status()[0].Err != nil {
				t.Errorf("after a new sign-in: %d refresh calls, status %+v; want the keeper back at work", n, k.Status()[0])
			}
		})
	})
	t.Run("no refresh token", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, true)
			legacy := Session{Profile: "old", StartURL: startURL, Region: region}
			tok, err := e.client.Login(context.Background(), legacy, LoginOptions{Out: &approver{t: t, fake: e.fake}})
			if err != nil {
				t.Fatal(err)
			}
			k, stop := keeping(t, e, KeeperConfig{})
			defer stop()
			k.Use(legacy)
			time.Sleep(time.Hour)
			if st := k.Status(); st[0].Renewable || st[0].Err != nil || !st[0].Expires.Equal(tok.ExpiresAt) {
				t.Errorf("Status = %+v; want the expiry, not renewable, no error yet", st[0])
			}
			time.Sleep(8 * time.Hour)
			k.Use(legacy)
			reasonIs(t, k.Status()[0].Err, ReasonExpired, legacy)
			if n := e.fake.Calls("CreateToken"); n != 1 {
				t.Errorf("%d CreateToken calls, want the sign-in's alone", n)
			}
		})
	})
}
