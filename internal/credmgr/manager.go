// Package credmgr is the credential manager: one entry of credentials per
// resolved-profile key, refreshed ahead of expiry with jitter, one refresh
// in flight per key however many callers wait, stale-while-failing with
// backoff, warm in the background while recently used, and persisted
// through a Store so a restart comes back warm.
//
// It knows nothing about profiles, STS or signing: an entry's FetchFunc,
// given by the caller (package localbroker), says how to get fresh
// credentials.
//
// Its lock guards memory only: the Store is read and written outside it,
// so a slow disk never stalls a request for another profile. Forget wins
// over every concurrent restore, refresh and save.
package credmgr

import (
	"context"
	"errors"
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
// are refreshed RefreshAhead (plus up to RefreshJitter) before expiry, and a
// request that finds less than MinRemaining left refreshes them first. When
// that fails (AWS is down, the network is), credentials are still handed out
// until ReserveFloor before they expire: the daemon runs on its reserve, and
// says so.
const (
	MinRemaining  = 5 * time.Minute
	ReserveFloor  = time.Minute
	RefreshAhead  = 15 * time.Minute
	RefreshJitter = 5 * time.Minute
	// NoExpiryTTL is how long credentials without an expiry (static keys,
	// a credential_process that gives no Expiration) are kept before the
	// source is asked again.
	NoExpiryTTL = time.Hour
	// MinBackoff and MaxBackoff bound the wait between failed refreshes
	// (doubling, with ±50% jitter); NearExpiryBackoff bounds it while the
	// credentials held have less than ten minutes left.
	MinBackoff        = 5 * time.Second
	MaxBackoff        = 5 * time.Minute
	NearExpiryBackoff = 30 * time.Second
	// RefreshTimeout bounds one refresh, whoever waits for it.
	RefreshTimeout = 2 * time.Minute
	// PruneInterval is how often Run drops expired records from the Store.
	PruneInterval = time.Hour
)

// FetchFunc obtains fresh credentials from a source.
type FetchFunc func(ctx context.Context) (sigv4.Credentials, error)

// Store persists credentials between daemon runs. Implementations must
// never keep long-term keys; the Manager only offers them temporary ones.
type Store interface {
	// Load returns the stored credentials of key, if any are unexpired,
	// and the profile they belong to; an error means the store could not
	// be read.
	Load(key string) (c sigv4.Credentials, profile string, ok bool, err error)
	// Save stores credentials for key, which belongs to profile.
	Save(key, profile string, c sigv4.Credentials) error
	// Delete removes key.
	Delete(key string) error
	// DeleteProfile removes every key of profile, or every key when all
	// is set, and returns the keys it removed.
	DeleteProfile(profile string, all bool) ([]string, error)
}

// Pruner is a Store that drops expired records when asked.
type Pruner interface {
	Prune() (int, error)
}

// Manager keeps one entry of credentials per resolved-profile key. The
// zero value is not usable: call CheckAndSetDefaults.
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
	// gen counts Forget calls: a restore that read the store before one
	// ended is not kept.
	gen     uint64
	flights singleflight.Group

	// storeMu orders saves against Forget's deletes, so a save never lands
	// after the forget that should have removed it.
	storeMu sync.Mutex
	// pending counts saves under way; savesDone signals when it is zero.
	savesMu   sync.Mutex
	pending   int
	savesDone *sync.Cond
}

type entry struct {
	key, profile, source string
	// interactive entries (MFA sessions) need a person to refresh them,
	// so the background loop leaves them alone.
	interactive bool
	fetch       FetchFunc

	creds     sigv4.Credentials
	refreshAt time.Time
	retryAt   time.Time
	failures  int
	lastErr   error
	requests  int64
	lastUsed  time.Time
	// refreshing is when the refresh under way began; zero when none is.
	refreshing time.Time
	// needsMFA is set when refreshing needs an MFA session that has
	// ended: nothing is retried until a request brings a code.
	needsMFA bool
	// reserve is set while the credentials handed out have less than
	// MinRemaining left because refreshing them fails.
	reserve bool
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
	if m.savesDone == nil {
		m.savesDone = sync.NewCond(&m.savesMu)
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

// Usable reports whether c may be handed out at now without refreshing
// first.
func Usable(c sigv4.Credentials, now time.Time) bool {
	return c.HasKeys() && (c.Expires.IsZero() || c.Expires.Sub(now) >= MinRemaining)
}

// onReserve reports whether c may still be handed out at now, when
// refreshing it fails.
func onReserve(c sigv4.Credentials, now time.Time) bool {
	return c.HasKeys() && (c.Expires.IsZero() || c.Expires.Sub(now) >= ReserveFloor)
}

// Spec describes the entry a Get call creates when key is new.
type Spec struct {
	Key, Profile, Source string
	Interactive          bool
	Fetch                FetchFunc
}

// Get returns credentials for spec.Key that may be handed out, fetching
// them if needed:
//
//   - usable credentials are returned at once; when they are due, a
//     refresh starts in the background;
//   - credentials with less than MinRemaining left are refreshed first,
//     unless a refresh already failed and its backoff runs: then, and when
//     the refresh fails, they are served from the reserve until
//     ReserveFloor before they expire;
//   - without credentials, the caller waits for the one refresh of the key,
//     except while a temporary failure's backoff runs: then the last error
//     comes back at once, so an outage costs no call to AWS per request.
func (m *Manager) Get(ctx context.Context, spec Spec) (sigv4.Credentials, error) {
	e := m.lookup(spec.Key, true, spec)
	now := m.Clock.Now()
	m.mu.Lock()
	e.requests++
	e.lastUsed = now
	c, fetch := e.creds, e.fetch
	if e.interactive && spec.Fetch != nil {
		fetch = spec.Fetch // an MFA session's fetch carries this caller's code
	}
	inBackoff := now.Before(e.retryAt)
	switch {
	case Usable(c, now):
		due := !e.interactive && e.refreshing.IsZero() && !now.Before(e.refreshAt) && !inBackoff
		if due {
			e.refreshing = now
		}
		e.reserve = false
		m.mu.Unlock()
		if due {
			go m.refresh(m.life, e, fetch) //nolint:errcheck // recorded on the entry
		}
		return c, nil
	case onReserve(c, now) && (inBackoff || !e.refreshing.IsZero()):
		m.serveReserveLocked(ctx, e, now)
		m.mu.Unlock()
		return c, nil
	case !onReserve(c, now) && inBackoff && errors.Is(e.lastErr, broker.ErrTemporary):
		err := gated(e)
		m.mu.Unlock()
		return sigv4.Credentials{}, err
	}
	m.mu.Unlock()
	fresh, err := m.refresh(ctx, e, fetch)
	if err == nil || ctx.Err() != nil || !onReserve(c, m.Clock.Now()) {
		return fresh, err
	}
	m.mu.Lock()
	if m.entries[e.key] == e {
		m.serveReserveLocked(ctx, e, m.Clock.Now())
	}
	m.mu.Unlock()
	return c, nil
}

// serveReserveLocked notes (once per stretch) that e's credentials are
// handed out from the reserve.
func (m *Manager) serveReserveLocked(ctx context.Context, e *entry, now time.Time) {
	if e.reserve {
		return
	}
	e.reserve = true
	m.Log.LogAttrs(ctx, slog.LevelWarn, "running on reserve: refreshing credentials fails, so credentials that expire soon are handed out",
		slog.String("profile", e.profile), slog.String("key", clean.Short(e.key)), slog.Time("expires", e.creds.Expires),
		slog.Duration("left", e.creds.Expires.Sub(now).Round(time.Second)), slog.String("last_error", errText(e.lastErr)))
}

// gated is the error a request gets while a temporary failure's backoff
// runs: the last error, and when the next attempt is.
func gated(e *entry) error {
	kind := broker.ErrSourceFailed
	var be *broker.Error
	if errors.As(e.lastErr, &be) {
		kind = be.Kind
	}
	return broker.Errorf(kind, e.profile, "%s (codecommitd tries again at %s and does not call AWS before then)",
		e.lastErr.Error(), e.retryAt.Local().Format("15:04:05")).WithCause(e.lastErr)
}

// Peek returns the credentials of key if it has usable ones, without
// counting a use or fetching. Credentials persisted by an earlier run count.
func (m *Manager) Peek(key string) (sigv4.Credentials, bool) {
	e := m.lookup(key, false, Spec{})
	if e == nil {
		return sigv4.Credentials{}, false
	}
	now := m.Clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	return e.creds, Usable(e.creds, now)
}

// lookup returns the entry of key: from memory, else restored from the
// Store, else (when create is set) a new one from spec. The Store is read
// outside the lock; a restore that overlapped a Forget is dropped.
func (m *Manager) lookup(key string, create bool, spec Spec) *entry {
	m.mu.Lock()
	e := m.entries[key]
	gen := m.gen
	m.mu.Unlock()
	var restored *entry
	if e == nil && m.Store != nil {
		c, profile, ok, err := m.Store.Load(key)
		now := m.Clock.Now()
		switch {
		case err != nil:
			m.Log.Debug("credential cache not read", "key", clean.Short(key), "error", err.Error())
		case ok && onReserve(c, now):
			restored = &entry{key: key, profile: profile, creds: c, refreshAt: m.refreshTime(c, now)}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e = m.entries[key]; e == nil {
		switch {
		case restored != nil && m.gen == gen:
			e = restored
		case create:
			e = &entry{key: key}
		default:
			return nil
		}
		if m.entries == nil {
			m.entries = make(map[string]*entry)
		}
		m.entries[key] = e
	}
	if create && e.fetch == nil {
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
	ch := m.flights.DoChan(e.key, func() (any, error) {
		m.mu.Lock()
		if e.refreshing.IsZero() {
			e.refreshing = m.Clock.Now()
		}
		profile := e.profile
		m.mu.Unlock()
		fctx, cancel := context.WithTimeout(m.life, RefreshTimeout)
		defer cancel()
		c, err := fetch(fctx)
		now := m.Clock.Now()
		if err == nil {
			err = checkArrived(c, now, profile)
		}
		return m.record(fctx, e, c, err, now)
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

// record keeps the outcome of a fetch on e.
func (m *Manager) record(ctx context.Context, e *entry, c sigv4.Credentials, err error, now time.Time) (any, error) {
	m.mu.Lock()
	e.refreshing = time.Time{}
	if m.entries[e.key] != e {
		m.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return c, nil // forgotten while fetching: serve this caller, keep nothing
	}
	switch {
	case err != nil && m.life.Err() != nil:
		// Shutting down: not a failure of the source.
		m.mu.Unlock()
		return nil, err
	case errors.Is(err, broker.ErrMFARequired):
		first := !e.needsMFA
		e.needsMFA, e.lastErr = true, err
		m.mu.Unlock()
		if first {
			m.Log.LogAttrs(ctx, slog.LevelInfo, "credentials need a new MFA session; the next git command that can prompt asks for a code",
				slog.String("profile", e.profile), slog.String("key", clean.Short(e.key)))
		}
		return nil, err
	case err != nil:
		e.failures++
		e.lastErr = err
		e.retryAt = now.Add(m.backoff(e.failures, e.creds, now))
		attrs := []slog.Attr{slog.String("profile", e.profile), slog.String("key", clean.Short(e.key)), slog.Int("failures", e.failures),
			slog.Time("retry_at", e.retryAt), slog.Bool("serving_old", onReserve(e.creds, now)), slog.String("error", err.Error())}
		m.mu.Unlock()
		m.Log.LogAttrs(ctx, slog.LevelWarn, "credential refresh failed", attrs...)
		return nil, err
	}
	recovered := e.reserve || e.failures > 0
	e.creds, e.failures, e.lastErr, e.retryAt, e.needsMFA, e.reserve = c, 0, nil, time.Time{}, false, false
	e.refreshAt = m.refreshTime(c, now)
	attrs := []slog.Attr{slog.String("profile", e.profile), slog.String("key", clean.Short(e.key)), slog.Any("credentials", c),
		slog.Time("next_refresh", e.refreshAt), slog.Bool("recovered", recovered)}
	m.mu.Unlock()
	m.Log.LogAttrs(ctx, slog.LevelInfo, "credentials refreshed", attrs...)
	m.persist(e, c)
	return c, nil
}

// persist saves c for e in the background, unless e is forgotten first.
func (m *Manager) persist(e *entry, c sigv4.Credentials) {
	if m.Store == nil || c.SessionToken == "" || c.Expires.IsZero() {
		return
	}
	m.savesMu.Lock()
	m.pending++
	m.savesMu.Unlock()
	go func() {
		defer func() {
			m.savesMu.Lock()
			if m.pending--; m.pending == 0 {
				m.savesDone.Broadcast()
			}
			m.savesMu.Unlock()
		}()
		m.storeMu.Lock()
		defer m.storeMu.Unlock()
		m.mu.Lock()
		current, profile := m.entries[e.key] == e && e.creds == c, e.profile
		m.mu.Unlock()
		if !current {
			return // forgotten, or newer credentials are on their way
		}
		if err := m.Store.Save(e.key, profile, c); err != nil {
			m.Log.Debug("credentials not persisted", "profile", profile, "error", err.Error())
		}
	}()
}

// Flush waits until every credential obtained so far is persisted.
func (m *Manager) Flush() {
	m.savesMu.Lock()
	defer m.savesMu.Unlock()
	for m.pending > 0 {
		m.savesDone.Wait()
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

// backoff is the wait after the failures-th failed refresh in a row; while
// held credentials near their end, it stays short so the next attempt
// comes before they run out.
func (m *Manager) backoff(failures int, held sigv4.Credentials, now time.Time) time.Duration {
	d := MinBackoff
	for i := 1; i < failures && d < MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, MaxBackoff)
	if held.HasKeys() && !held.Expires.IsZero() && held.Expires.Sub(now) < 10*time.Minute {
		d = min(d, NearExpiryBackoff)
	}
	return d/2 + m.Jitter(d)
}

// warmable reports whether the background loop may refresh e at now.
// Called with m.mu held.
func (m *Manager) warmable(e *entry, now time.Time) bool {
	return !e.interactive && !e.needsMFA && e.fetch != nil && e.refreshing.IsZero() &&
		onReserve(e.creds, now) && now.Sub(e.lastUsed) <= m.WarmFor
}

// RefreshDue refreshes every entry used within WarmFor whose refresh time
// or retry time has come, waits for those refreshes, and returns how many it
// ran. Only entries that hold credentials are kept warm: one that failed
// without any, or that needs an MFA code, waits for a request. Entries unused
// for longer than WarmFor leave memory (MFA sessions once they expire too):
// idle credentials are not kept warm forever, and what the store holds comes
// back on the next use.
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
		if idle && (!e.interactive || !Usable(e.creds, now)) && e.refreshing.IsZero() {
			delete(m.entries, k)
			continue
		}
		if !m.warmable(e, now) || now.Before(e.refreshAt) || now.Before(e.retryAt) {
			continue
		}
		e.refreshing = now
		due = append(due, job{e, e.fetch})
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, j := range due {
		wg.Go(func() {
			m.refresh(ctx, j.e, j.fetch) //nolint:errcheck // recorded on the entry
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
		if !m.warmable(e, now) {
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
// how many distinct entries it dropped. Nothing fetched, restored or saved
// concurrently brings them back.
func (m *Manager) Forget(profile string, all bool) (int, error) {
	m.storeMu.Lock()
	defer m.storeMu.Unlock()
	gone := map[string]bool{}
	drop := func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.gen++
		for k, e := range m.entries {
			if all || e.profile == profile {
				gone[k] = true
				delete(m.entries, k)
			}
		}
	}
	drop()
	for k := range gone {
		m.flights.Forget(k)
	}
	var err error
	if m.Store != nil {
		var stored []string
		stored, err = m.Store.DeleteProfile(profile, all)
		for _, k := range stored {
			gone[k] = true
		}
		for k := range gone { // entries saved under an older profile name
			if derr := m.Store.Delete(k); derr != nil && err == nil {
				err = derr
			}
		}
	}
	// A restore that read the store before the delete is dropped too.
	drop()
	return len(gone), err
}

// Statuses describes every entry, most recently used first.
func (m *Manager) Statuses() []broker.ProfileStatus {
	now := m.Clock.Now()
	m.mu.Lock()
	out := make([]broker.ProfileStatus, 0, len(m.entries))
	for _, e := range m.entries {
		ps := broker.ProfileStatus{
			Profile: e.profile, ConfigKey: clean.Short(e.key), Source: e.source, Expires: e.creds.Expires,
			LastError: errText(e.lastErr), Requests: e.requests, LastUsed: e.lastUsed,
			RefreshingSince: e.refreshing, NeedsMFA: e.needsMFA, OnReserve: e.reserve && !Usable(e.creds, now),
		}
		if e.needsMFA {
			ps.LastError = "needs MFA: the next git command that can prompt (a terminal, or an askpass program) asks for a code"
		}
		if e.creds.HasKeys() {
			ps.AccessKeyID = sigv4.Redact(e.creds.AccessKeyID)
			if m.warmable(e, now) {
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

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
