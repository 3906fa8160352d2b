// Package credmgr is the credential manager: one entry of credentials per
// resolved-profile key, refreshed ahead of expiry with jitter, one refresh
// in flight per key however many callers wait, stale-while-failing with
// backoff, warm in the background while recently used, and persisted
// through a Store so a restart comes back warm.
//
// It knows nothing about profiles, STS or signing: an entry's FetchFunc,
// given by the caller (package localbroker), says how to get fresh
// credentials.
package credmgr

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/singleflight"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// Refresh policy. A signed password is good for 15 minutes, so credentials
// are never handed out with less than MinRemaining left, and a refresh
// starts RefreshAhead (plus up to RefreshJitter) before expiry.
const (
	MinRemaining  = 5 * time.Minute
	RefreshAhead  = 15 * time.Minute
	RefreshJitter = 5 * time.Minute
	// NoExpiryTTL is how long credentials without an expiry (static keys,
	// a credential_process that gives no Expiration) are kept before the
	// source is asked again.
	NoExpiryTTL = time.Hour
	// MinBackoff and MaxBackoff bound the wait between failed background
	// refreshes (doubling, with ±50% jitter).
	MinBackoff = 5 * time.Second
	MaxBackoff = 5 * time.Minute
	// RefreshTimeout bounds one refresh, whoever waits for it.
	RefreshTimeout = 2 * time.Minute
)

// FetchFunc obtains fresh credentials from a source.
type FetchFunc func(ctx context.Context) (sigv4.Credentials, error)

// Store persists credentials between daemon runs. Implementations must
// never keep long-term keys; the Manager only offers them temporary ones.
type Store interface {
	// Load returns the stored credentials of key, if any are unexpired,
	// and the profile they belong to.
	Load(key string) (c sigv4.Credentials, profile string, ok bool)
	// Save stores credentials for key, which belongs to profile.
	Save(key, profile string, c sigv4.Credentials) error
	// Delete removes key.
	Delete(key string) error
	// DeleteProfile removes every key of profile, or every key when all
	// is set, and returns the keys it removed.
	DeleteProfile(profile string, all bool) ([]string, error)
}

// Manager keeps one entry of credentials per resolved-profile key: it
// refreshes them ahead of expiry, runs one refresh per key however many
// callers wait, keeps serving still-valid credentials when a refresh fails
// and backs off, and rejects credentials that arrive expired.
type Manager struct {
	// Clock is the time source; nil means the real clock.
	Clock clockwork.Clock
	// Log receives refresh outcomes; nil discards them.
	Log *slog.Logger
	// Store persists temporary credentials; nil keeps them in memory only.
	Store Store
	// WarmFor is how long after its last use an entry is refreshed in the
	// background; zero means 24 hours.
	WarmFor time.Duration
	// Jitter returns a random duration in [0, max); nil means math/rand.
	Jitter func(max time.Duration) time.Duration
	// life bounds every fetch; it ends when Run returns. A fetch is never
	// cancelled because the caller that started it went away, since others
	// may be waiting for it.
	life context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	entries map[string]*entry
	flights singleflight.Group
}

type entry struct {
	key, profile, source string
	// interactive entries (MFA sessions) need a person to refresh them,
	// so the background loop leaves them alone.
	interactive bool
	fetch       FetchFunc

	creds      sigv4.Credentials
	refreshAt  time.Time
	retryAt    time.Time
	failures   int
	lastErr    string
	requests   int64
	lastUsed   time.Time
	refreshing bool // a background refresh is under way
}

// CheckAndSetDefaults fills in defaults.
func (m *Manager) CheckAndSetDefaults() error {
	if m.Clock == nil {
		m.Clock = clockwork.NewRealClock()
	}
	if m.Log == nil {
		m.Log = slog.New(slog.DiscardHandler)
	}
	if m.WarmFor == 0 {
		m.WarmFor = 24 * time.Hour
	}
	if m.life == nil {
		m.life, m.stop = context.WithCancel(context.Background())
	}
	if m.Jitter == nil {
		m.Jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return rand.N(max)
		}
	}
	return nil
}

// Usable reports whether c may be handed out at now.
func Usable(c sigv4.Credentials, now time.Time) bool {
	return c.HasKeys() && (c.Expires.IsZero() || c.Expires.Sub(now) >= MinRemaining)
}

// Spec describes the entry a Get call creates when key is new.
type Spec struct {
	Key, Profile, Source string
	Interactive          bool
	Fetch                FetchFunc
}

// Get returns usable credentials for spec.Key, fetching them if needed. A
// call that finds usable credentials due for refresh starts one in the
// background and returns at once.
func (m *Manager) Get(ctx context.Context, spec Spec) (sigv4.Credentials, error) {
	now := m.Clock.Now()
	m.mu.Lock()
	e := m.entryLocked(spec)
	e.requests++
	e.lastUsed = now
	c := e.creds
	fetch := e.fetch
	if e.interactive && spec.Fetch != nil {
		fetch = spec.Fetch // an MFA session's fetch carries this caller's code
	}
	background := Usable(c, now) && !e.interactive && !e.refreshing && !now.Before(e.refreshAt) && !now.Before(e.retryAt)
	if background {
		e.refreshing = true
	}
	m.mu.Unlock()
	if Usable(c, now) {
		if background {
			go func() {
				m.refresh(m.life, e, fetch) //nolint:errcheck // outcome is recorded on the entry
				m.mu.Lock()
				e.refreshing = false
				m.mu.Unlock()
			}()
		}
		return c, nil
	}
	return m.refresh(ctx, e, fetch)
}

// Peek returns the credentials of key if it has usable ones, without
// counting a use or fetching. Credentials persisted by an earlier run count.
func (m *Manager) Peek(key string) (sigv4.Credentials, bool) {
	now := m.Clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		if e = m.restoreLocked(key, now); e == nil {
			return sigv4.Credentials{}, false
		}
	}
	return e.creds, Usable(e.creds, now)
}

// Restored entries come back with their profile; their fetch, source and
// kind arrive with the first Get (see entryLocked).

// restoreLocked makes an entry for key from the Store's usable
// credentials, or returns nil. Its fetch comes with the first Get.
func (m *Manager) restoreLocked(key string, now time.Time) *entry {
	if m.Store == nil {
		return nil
	}
	c, profile, ok := m.Store.Load(key)
	if !ok || !Usable(c, now) {
		return nil
	}
	if m.entries == nil {
		m.entries = make(map[string]*entry)
	}
	e := &entry{key: key, profile: profile, creds: c, refreshAt: m.refreshTime(c, now)}
	m.entries[key] = e
	return e
}

func (m *Manager) entryLocked(spec Spec) *entry {
	e, ok := m.entries[spec.Key]
	if !ok {
		e = m.restoreLocked(spec.Key, m.Clock.Now())
	}
	if e == nil {
		e = &entry{key: spec.Key}
		if m.entries == nil {
			m.entries = make(map[string]*entry)
		}
		m.entries[spec.Key] = e
	}
	if e.fetch == nil {
		// New, or restored from the store: it learns how to refresh.
		e.fetch, e.source, e.interactive = spec.Fetch, spec.Source, spec.Interactive
		if spec.Profile != "" {
			e.profile = spec.Profile
		}
	}
	return e
}

// refresh runs fetch once for all concurrent callers of e's key; ctx
// bounds only this caller's wait. An entry forgotten meanwhile stays
// forgotten: the result is neither kept nor saved.
func (m *Manager) refresh(ctx context.Context, e *entry, fetch FetchFunc) (sigv4.Credentials, error) {
	m.mu.Lock()
	profile := e.profile
	m.mu.Unlock()
	ch := m.flights.DoChan(e.key, func() (any, error) {
		fctx, cancel := context.WithTimeout(m.life, RefreshTimeout)
		defer cancel()
		c, err := fetch(fctx)
		now := m.Clock.Now()
		if err == nil {
			err = checkArrived(c, now, profile)
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.entries[e.key] != e {
			if err != nil {
				return nil, err
			}
			return c, nil // forgotten while fetching: serve this caller, keep nothing
		}
		if err != nil {
			e.failures++
			e.lastErr = err.Error()
			e.retryAt = now.Add(m.backoff(e.failures))
			m.Log.LogAttrs(fctx, slog.LevelWarn, "credential refresh failed", slog.String("profile", e.profile),
				slog.String("key", clean.Short(e.key)), slog.Int("failures", e.failures), slog.Time("retry_at", e.retryAt),
				slog.Bool("serving_old", Usable(e.creds, now)), slog.String("error", e.lastErr))
			return nil, err
		}
		e.creds, e.failures, e.lastErr, e.retryAt = c, 0, "", time.Time{}
		e.refreshAt = m.refreshTime(c, now)
		m.Log.LogAttrs(fctx, slog.LevelInfo, "credentials refreshed", slog.String("profile", e.profile),
			slog.String("key", clean.Short(e.key)), slog.Any("credentials", c), slog.Time("next_refresh", e.refreshAt))
		if m.Store != nil && c.SessionToken != "" && !c.Expires.IsZero() {
			if err := m.Store.Save(e.key, e.profile, c); err != nil {
				m.Log.LogAttrs(fctx, slog.LevelWarn, "cannot persist credentials", slog.String("profile", e.profile), slog.String("error", err.Error()))
			}
		}
		return c, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return sigv4.Credentials{}, r.Err
		}
		return r.Val.(sigv4.Credentials), nil
	case <-ctx.Done():
		return sigv4.Credentials{}, ctx.Err()
	}
}

// checkArrived rejects credentials that cannot be handed out.
func checkArrived(c sigv4.Credentials, now time.Time, profile string) error {
	switch {
	case !c.HasKeys():
		return broker.Errorf(broker.ErrNoCredentials, profile, "the credential source of profile %s returned no keys", profile)
	case c.Expires.IsZero():
		return nil
	case !now.Before(c.Expires):
		return broker.Errorf(broker.ErrSourceFailed, profile,
			"the credential source of profile %s returned credentials that had already expired (at %s); check the source and this machine's clock",
			profile, c.Expires.UTC().Format(time.RFC3339))
	case c.Expires.Sub(now) < MinRemaining:
		return broker.Errorf(broker.ErrSourceFailed, profile,
			"the credential source of profile %s returned credentials that expire in %s, less than the %s a signed password needs; make the source issue longer-lived credentials",
			profile, c.Expires.Sub(now).Round(time.Second), MinRemaining)
	}
	return nil
}

// refreshTime is when credentials obtained at now should be replaced:
// RefreshAhead plus jitter before expiry, but no earlier than half their
// lifetime, so short-lived credentials are not refreshed in a loop.
func (m *Manager) refreshTime(c sigv4.Credentials, now time.Time) time.Time {
	if c.Expires.IsZero() {
		return now.Add(NoExpiryTTL)
	}
	ahead := RefreshAhead + m.Jitter(RefreshJitter)
	if half := c.Expires.Sub(now) / 2; ahead > half {
		ahead = half
	}
	return c.Expires.Add(-ahead)
}

func (m *Manager) backoff(failures int) time.Duration {
	d := MinBackoff
	for i := 1; i < failures && d < MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, MaxBackoff)
	return d/2 + m.Jitter(d)
}

// RefreshDue refreshes every entry used within WarmFor whose refresh time
// or retry time has come, waits for those refreshes, and returns how many it
// ran. Entries unused for longer than WarmFor leave memory (MFA sessions
// once they expire too): idle credentials are not kept warm forever, and
// what the store holds comes back on the next use.
func (m *Manager) RefreshDue(ctx context.Context) int {
	now := m.Clock.Now()
	type job struct {
		e     *entry
		fetch FetchFunc
	}
	var due []job
	m.mu.Lock()
	for k, e := range m.entries {
		idle := now.Sub(e.lastUsed) > m.WarmFor
		if idle && (!e.interactive || !Usable(e.creds, now)) {
			delete(m.entries, k)
			continue
		}
		if e.interactive || idle || e.refreshing || e.fetch == nil || now.Before(e.refreshAt) || now.Before(e.retryAt) {
			continue
		}
		e.refreshing = true
		due = append(due, job{e, e.fetch})
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, j := range due {
		wg.Go(func() {
			m.refresh(ctx, j.e, j.fetch) //nolint:errcheck // recorded on the entry
			m.mu.Lock()
			j.e.refreshing = false
			m.mu.Unlock()
		})
	}
	wg.Wait()
	return len(due)
}

// NextDue returns the earliest time RefreshDue has work, or the zero time.
func (m *Manager) NextDue() time.Time {
	now := m.Clock.Now()
	var next time.Time
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if e.interactive || now.Sub(e.lastUsed) > m.WarmFor {
			continue
		}
		t := e.refreshAt
		if e.retryAt.After(t) {
			t = e.retryAt
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

// Forget drops the entries of profile (every entry when all is set) from
// memory and the store, including stored ones not loaded yet, and returns
// how many distinct entries it dropped.
func (m *Manager) Forget(profile string, all bool) (int, error) {
	gone := map[string]bool{}
	m.mu.Lock()
	for k, e := range m.entries {
		if all || e.profile == profile {
			gone[k] = true
			delete(m.entries, k)
		}
	}
	m.mu.Unlock()
	for k := range gone {
		m.flights.Forget(k)
	}
	if m.Store == nil {
		return len(gone), nil
	}
	stored, err := m.Store.DeleteProfile(profile, all)
	for _, k := range stored {
		gone[k] = true
	}
	for k := range gone { // entries saved under an older profile name
		if derr := m.Store.Delete(k); derr != nil && err == nil {
			err = derr
		}
	}
	return len(gone), err
}

// Statuses describes every entry, most recently used first.
func (m *Manager) Statuses() []broker.ProfileStatus {
	m.mu.Lock()
	out := make([]broker.ProfileStatus, 0, len(m.entries))
	for _, e := range m.entries {
		ps := broker.ProfileStatus{
			Profile: e.profile, ConfigKey: clean.Short(e.key), Source: e.source, Expires: e.creds.Expires,
			LastError: e.lastErr, Requests: e.requests, LastUsed: e.lastUsed,
		}
		if e.creds.HasKeys() {
			ps.AccessKeyID = sigv4.Redact(e.creds.AccessKeyID)
			if !e.interactive {
				ps.NextRefresh = e.refreshAt
				if e.retryAt.After(ps.NextRefresh) {
					ps.NextRefresh = e.retryAt
				}
			}
		}
		out = append(out, ps)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b broker.ProfileStatus) int { return b.LastUsed.Compare(a.LastUsed) })
	return out
}
