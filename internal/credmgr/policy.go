package credmgr

import (
	"fmt"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// Policy is when credentials are refreshed and how failed refreshes are
// retried. A signed password is good for 15 minutes, so credentials are
// refreshed RefreshAhead (plus up to RefreshJitter) before expiry, and a
// request that finds less than MinRemaining left refreshes them first. When
// that fails (AWS is down, the network is), credentials are still handed out
// until ReserveFloor before they expire: the manager runs on its reserve,
// and says so.
//
// Every field must be positive; DefaultPolicy is the daemon's, and Scaled
// shrinks it (the fault suite runs a ten-minute outage in seconds).
type Policy struct {
	// MinRemaining is the least time credentials may have left to be
	// handed out without refreshing them first; credentials that arrive
	// with less are refused. Default 5 minutes.
	MinRemaining time.Duration
	// ReserveFloor is the least time credentials may have left to be
	// handed out at all, while refreshing them fails. Default 1 minute.
	ReserveFloor time.Duration
	// RefreshAhead, plus a random part of RefreshJitter, is how long before
	// expiry credentials are refreshed (at most half their lifetime, so
	// short-lived ones are not refreshed in a loop). Defaults 15 and 5
	// minutes.
	RefreshAhead, RefreshJitter time.Duration
	// NoExpiryTTL is how long credentials without an expiry (static keys,
	// a credential_process that gives no Expiration) are kept before the
	// source is asked again. Default 1 hour.
	NoExpiryTTL time.Duration
	// MinBackoff and MaxBackoff bound the wait between failed refreshes
	// (doubling, with ±50% jitter); NearExpiryBackoff bounds it while the
	// credentials held have less than NearExpiry left. Defaults 5 seconds,
	// 5 minutes, 30 seconds and 10 minutes.
	MinBackoff, MaxBackoff, NearExpiryBackoff, NearExpiry time.Duration
	// RefreshTimeout bounds one refresh, whoever waits for it. Default 2
	// minutes.
	RefreshTimeout time.Duration
	// WarmFor is how long after its last use an entry is refreshed in the
	// background. Default 24 hours.
	WarmFor time.Duration
	// MinWarmWait and MaxWarmWait bound the background loop's sleep: it
	// never spins, and it sees entries created meanwhile. Defaults 1
	// second and 1 minute.
	MinWarmWait, MaxWarmWait time.Duration
}

// DefaultPolicy returns the daemon's policy, the figures README states.
func DefaultPolicy() Policy {
	return Policy{
		MinRemaining:      5 * time.Minute,
		ReserveFloor:      time.Minute,
		RefreshAhead:      15 * time.Minute,
		RefreshJitter:     5 * time.Minute,
		NoExpiryTTL:       time.Hour,
		MinBackoff:        5 * time.Second,
		MaxBackoff:        5 * time.Minute,
		NearExpiryBackoff: 30 * time.Second,
		NearExpiry:        10 * time.Minute,
		RefreshTimeout:    2 * time.Minute,
		WarmFor:           24 * time.Hour,
		MinWarmWait:       time.Second,
		MaxWarmWait:       time.Minute,
	}
}

// policyField is one of a Policy's durations, named for messages.
type policyField struct {
	name string
	d    *time.Duration
}

// fields lists p's durations, for Scaled and check.
func (p *Policy) fields() []policyField {
	return []policyField{
		{"MinRemaining", &p.MinRemaining}, {"ReserveFloor", &p.ReserveFloor},
		{"RefreshAhead", &p.RefreshAhead}, {"RefreshJitter", &p.RefreshJitter}, {"NoExpiryTTL", &p.NoExpiryTTL},
		{"MinBackoff", &p.MinBackoff}, {"MaxBackoff", &p.MaxBackoff},
		{"NearExpiryBackoff", &p.NearExpiryBackoff}, {"NearExpiry", &p.NearExpiry},
		{"RefreshTimeout", &p.RefreshTimeout}, {"WarmFor", &p.WarmFor},
		{"MinWarmWait", &p.MinWarmWait}, {"MaxWarmWait", &p.MaxWarmWait},
	}
}

// Scaled returns p with every duration divided by div (at least 1): the
// same policy, div times faster.
func (p Policy) Scaled(div int) Policy {
	for _, f := range p.fields() {
		*f.d /= time.Duration(max(div, 1))
	}
	return p
}

// check reports the first field of p that is not positive or contradicts
// another.
func (p Policy) check() error {
	for _, f := range p.fields() {
		if *f.d <= 0 {
			return fmt.Errorf("credential policy: %s is %s; it must be positive", f.name, *f.d)
		}
	}
	switch {
	case p.ReserveFloor >= p.MinRemaining:
		return fmt.Errorf("credential policy: ReserveFloor (%s) must be less than MinRemaining (%s)", p.ReserveFloor, p.MinRemaining)
	case p.MinBackoff > p.MaxBackoff:
		return fmt.Errorf("credential policy: MinBackoff (%s) must not exceed MaxBackoff (%s)", p.MinBackoff, p.MaxBackoff)
	case p.MinWarmWait > p.MaxWarmWait:
		return fmt.Errorf("credential policy: MinWarmWait (%s) must not exceed MaxWarmWait (%s)", p.MinWarmWait, p.MaxWarmWait)
	}
	return nil
}

// usable reports whether c may be handed out at now without refreshing
// it first.
func (p Policy) usable(c sigv4.Credentials, now time.Time) bool {
	return c.HasKeys() && (c.Expires.IsZero() || c.Expires.Sub(now) >= p.MinRemaining)
}

// onReserve reports whether c may still be handed out at now, when
// refreshing it fails.
func (p Policy) onReserve(c sigv4.Credentials, now time.Time) bool {
	return c.HasKeys() && (c.Expires.IsZero() || c.Expires.Sub(now) >= p.ReserveFloor)
}

// checkArrived rejects credentials that cannot be handed out.
func (p Policy) checkArrived(c sigv4.Credentials, now time.Time, profile string) error {
	switch {
	case !c.HasKeys():
		return broker.Errorf(broker.ErrNoCredentials, profile, "the credential source of profile %s returned no keys", profile)
	case c.Expires.IsZero():
		return nil
	case !now.Before(c.Expires):
		return broker.Errorf(broker.ErrSourceFailed, profile,
			"the credential source of profile %s returned credentials that had already expired (at %s); check the source and this machine's clock",
			profile, c.Expires.UTC().Format(time.RFC3339))
	case c.Expires.Sub(now) < p.MinRemaining:
		return broker.Errorf(broker.ErrSourceFailed, profile,
			"the credential source of profile %s returned credentials that expire in %s, less than the %s a signed password needs; make the source issue longer-lived credentials",
			profile, c.Expires.Sub(now).Round(time.Second), p.MinRemaining)
	}
	return nil
}

// refreshTime is when credentials obtained at now should be replaced:
// RefreshAhead plus jitter before expiry, but no earlier than half their
// lifetime.
func (p Policy) refreshTime(c sigv4.Credentials, now time.Time, jitter func(time.Duration) time.Duration) time.Time {
	if c.Expires.IsZero() {
		return now.Add(p.NoExpiryTTL)
	}
	ahead := p.RefreshAhead + jitter(p.RefreshJitter)
	if half := c.Expires.Sub(now) / 2; ahead > half {
		ahead = half
	}
	return c.Expires.Add(-ahead)
}

// backoff is the wait after the failures-th failed refresh in a row; while
// held credentials near their end, it stays short so the next attempt
// comes before they run out.
func (p Policy) backoff(failures int, held sigv4.Credentials, now time.Time, jitter func(time.Duration) time.Duration) time.Duration {
	d := p.MinBackoff
	for i := 1; i < failures && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	if held.HasKeys() && !held.Expires.IsZero() && held.Expires.Sub(now) < p.NearExpiry {
		d = min(d, p.NearExpiryBackoff)
	}
	return d/2 + jitter(d)
}
