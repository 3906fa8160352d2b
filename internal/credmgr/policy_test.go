package credmgr

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

func most(max time.Duration) time.Duration { return max - 1 }

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	p := DefaultPolicy()
	prev := time.Duration(0)
	for i := 1; i <= 12; i++ {
		d := p.backoff(i, sigv4.Credentials{}, now, most)
		if d < prev {
			t.Fatalf("backoff(%d) = %v < backoff(%d) = %v", i, d, i-1, prev)
		}
		if d >= p.MaxBackoff*3/2 {
			t.Fatalf("backoff(%d) = %v, above the bound", i, d)
		}
		prev = d
	}
	if prev < p.MaxBackoff {
		t.Fatalf("backoff never reached MaxBackoff: %v", prev)
	}
	// Credentials near their end are retried at most NearExpiryBackoff
	// (jittered) apart; just outside NearExpiry, the backoff is not cut.
	if d := p.backoff(12, left(p.NearExpiry-1), now, most); d >= p.NearExpiryBackoff*3/2 {
		t.Fatalf("backoff near expiry = %v, want under %v", d, p.NearExpiryBackoff*3/2)
	}
	if d := p.backoff(12, left(p.NearExpiry), now, most); d < p.MaxBackoff {
		t.Fatalf("backoff with NearExpiry left = %v, want the full %v", d, p.MaxBackoff)
	}
}

func TestRefreshTime(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct {
		name   string
		c      sigv4.Credentials
		jitter func(time.Duration) time.Duration
		want   time.Time
	}{
		{"an hour, no jitter", left(time.Hour), noJitter, now.Add(time.Hour - p.RefreshAhead)},
		{"an hour, most jitter", left(time.Hour), most, now.Add(time.Hour - p.RefreshAhead - p.RefreshJitter + 1)},
		{"short-lived: at half the lifetime", left(20 * time.Minute), noJitter, now.Add(10 * time.Minute)},
		{"no expiry: after NoExpiryTTL", static, most, now.Add(p.NoExpiryTTL)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.refreshTime(tc.c, now, tc.jitter); !got.Equal(tc.want) {
				t.Fatalf("refreshTime = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckArrived(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct {
		name string
		c    sigv4.Credentials
		kind error
	}{
		{"exactly MinRemaining", left(p.MinRemaining), nil},
		{"no expiry", static, nil},
		{"just under MinRemaining", left(p.MinRemaining - time.Second), broker.ErrSourceFailed},
		{"expiring now", left(0), broker.ErrSourceFailed},
		{"no keys", sigv4.Credentials{Expires: now.Add(time.Hour)}, broker.ErrNoCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.checkArrived(tc.c, now, "dev")
			if tc.kind == nil && err != nil || tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Fatalf("checkArrived = %v, want %v", err, tc.kind)
			}
		})
	}
}

// TestScaledDividesEveryDuration: a field added to Policy but not to
// fields would stay unscaled, and unchecked.
func TestScaledDividesEveryDuration(t *testing.T) {
	p := DefaultPolicy()
	v := reflect.ValueOf(p)
	if got, want := len(p.fields()), v.NumField(); got != want {
		t.Fatalf("Policy.fields lists %d of its %d fields", got, want)
	}
	s := reflect.ValueOf(p.Scaled(30))
	for i := range v.NumField() {
		if got, want := s.Field(i).Interface(), v.Field(i).Interface().(time.Duration)/30; got != want {
			t.Errorf("Scaled(30).%s = %v, want %v", v.Type().Field(i).Name, got, want)
		}
	}
	if err := p.Scaled(30).check(); err != nil {
		t.Fatalf("the scaled default policy: %v", err)
	}
}

func TestConfigChecksThePolicy(t *testing.T) {
	with := func(f func(*Policy)) Policy {
		p := DefaultPolicy()
		f(&p)
		return p
	}
	for _, tc := range []struct {
		name   string
		policy Policy
		want   string // "" for no error
	}{
		{"zero: the default", Policy{}, ""},
		{"the default", DefaultPolicy(), ""},
		{"scaled", DefaultPolicy().Scaled(30), ""},
		{"a field left out", with(func(p *Policy) { p.NearExpiry = 0 }), "NearExpiry is 0s; it must be positive"},
		{"negative", with(func(p *Policy) { p.MinBackoff = -time.Second }), "MinBackoff is -1s"},
		{"reserve above the minimum", with(func(p *Policy) { p.ReserveFloor = p.MinRemaining }), "ReserveFloor (5m0s) must be less than MinRemaining (5m0s)"},
		{"backoffs swapped", with(func(p *Policy) { p.MinBackoff = p.MaxBackoff + 1 }), "MinBackoff"},
		{"warm waits swapped", with(func(p *Policy) { p.MinWarmWait = 2 * p.MaxWarmWait }), "MinWarmWait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Policy: tc.policy})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
