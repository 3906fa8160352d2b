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
//
// What to do is decided apart from the locking (plan.go): a request copies
// its entry's state under the lock, a pure function of that copy and the
// Policy names the action (serve, serve and refresh, serve from the
// reserve, fail fast, wait), and the request acts on it once the lock is
// released; a finished fetch's outcome (keep, back off, need MFA,
// forgotten, shutting down) is decided the same way. The manager reads the
// time from package time, so its tests fake it with testing/synctest.
package credmgr

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/sigv4"
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

// Config configures a Manager. The zero Config is valid: credentials in
// memory only, DefaultPolicy, nothing logged.
type Config struct {
	// Log receives refresh outcomes; nil discards them.
	Log *slog.Logger
	// Store persists temporary credentials; nil keeps them in memory only.
	Store Store
	// Policy says when to refresh and how to retry; the zero Policy means
	// DefaultPolicy.
	Policy Policy
	// Jitter returns a random duration in [0, max); nil means math/rand.
	Jitter func(max time.Duration) time.Duration
}

// CheckAndSetDefaults fills in defaults and checks the policy.
func (c *Config) CheckAndSetDefaults() error {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Policy == (Policy{}) {
		c.Policy = DefaultPolicy()
	}
	if c.Jitter == nil {
		c.Jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return rand.N(max)
		}
	}
	return c.Policy.check()
}

// Manager keeps one entry of credentials per resolved-profile key. Build
// one with New (the zero value is not usable). It serves Get, Peek, Forget
// and Statuses from the moment New returns; Run, called once, keeps the
// entries warm. Close (which Run calls when it returns) cancels the
// fetches under way and waits for pending saves; after it, a Manager
// serves only the credentials it holds, and does not run.
type Manager struct {
	log    *slog.Logger
	store  Store
	policy Policy
	jitter func(max time.Duration) time.Duration

	// life bounds every fetch; Close ends it. A fetch is never cancelled
	// because the caller that started it went away, since others may be
	// waiting for it.
	life context.Context
	stop context.CancelFunc
	// ran is set by the first Run.
	ran atomic.Bool

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

// entry is one key's credentials. Its fields are guarded by Manager.mu.
type entry struct {
	key, profile, source string
	// log is scoped to the entry's profile and key.
	log      *slog.Logger
	fetch    FetchFunc
	requests int64
	state
}

// New returns a Manager configured by cfg.
func New(cfg Config) (*Manager, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	m := &Manager{
		log:     cfg.Log.With(slog.String("component", "credmgr")),
		store:   cfg.Store,
		policy:  cfg.Policy,
		jitter:  cfg.Jitter,
		entries: make(map[string]*entry),
	}
	m.life, m.stop = context.WithCancel(context.Background())
	m.savesDone = sync.NewCond(&m.savesMu)
	return m, nil
}

// newEntry returns an empty entry for key of profile. Called with m.mu
// held, or before the entry is shared.
func (m *Manager) newEntry(key, profile string) *entry {
	e := &entry{key: key}
	m.setProfile(e, profile)
	return e
}

// setProfile names the profile e belongs to, in its logs too.
func (m *Manager) setProfile(e *entry, profile string) {
	e.profile = profile
	e.log = m.log.With(slog.String("profile", profile), slog.String("key", clean.Short(e.key)))
}

// Spec describes the entry a Get call creates when key is new.
type Spec struct {
	Key, Profile, Source string
	Interactive          bool
	Fetch                FetchFunc
	// Probe reports a Get that only checks the credentials (codecommitd
	// doctor's): it is served and refreshes as any other, but is not
	// counted, nor does it make the entry used (so it keeps nothing warm).
	Probe bool
}

// Get returns credentials for spec.Key that may be handed out, fetching
// them if needed (see action for each case):
//
//   - usable credentials are returned at once; when they are due, a
//     refresh starts in the background;
//   - credentials with less than MinRemaining left are refreshed first,
//     unless a refresh is under way or a failed one's backoff runs: then,
//     and when the refresh fails, they are served from the reserve until
//     ReserveFloor before they expire;
//   - without credentials, the caller waits for the one refresh of the key,
//     except while a temporary failure's backoff runs: then the last error
//     comes back at once, so an outage costs no call to AWS per request.
func (m *Manager) Get(ctx context.Context, spec Spec) (sigv4.Credentials, error) {
	e := m.lookup(spec.Key, true, spec)
	now := time.Now()
	m.mu.Lock()
	if !spec.Probe {
		e.requests++
		e.lastUsed = now
	}
	s := e.state
	act := s.plan(now, m.policy)
	firstOnReserve := e.begin(act, now)
	fetch, log, profile := e.fetch, e.log, e.profile
	if e.interactive && spec.Fetch != nil {
		fetch = spec.Fetch // an MFA session's fetch carries this caller's code
	}
	m.mu.Unlock()

	switch act {
	case serve:
		return s.creds, nil
	case serveAndRefresh:
		go m.refresh(m.life, e, fetch) //nolint:errcheck // recorded on the entry
		return s.creds, nil
	case serveReserve:
		if firstOnReserve {
			logReserve(ctx, log, s, now)
		}
		return s.creds, nil
	case failFast:
		return sigv4.Credentials{}, gated(profile, s)
	}
	fresh, err := m.refresh(ctx, e, fetch)
	now = time.Now()
	if err == nil || ctx.Err() != nil || !m.policy.onReserve(s.creds, now) {
		return fresh, err
	}
	// The refresh failed, but the credentials held may still be handed out.
	m.mu.Lock()
	firstOnReserve = m.entries[e.key] == e && e.begin(serveReserve, now)
	s.lastErr = e.lastErr
	m.mu.Unlock()
	if firstOnReserve {
		logReserve(ctx, log, s, now)
	}
	return s.creds, nil
}

// begin records on e what a request's action starts at now, and reports
// whether it begins a stretch on the reserve (logged once). Called with
// m.mu held.
func (e *entry) begin(act action, now time.Time) (firstOnReserve bool) {
	switch act {
	case serve:
		e.reserve = false
	case serveAndRefresh:
		e.reserve, e.refreshing = false, now
	case serveReserve:
		firstOnReserve, e.reserve = !e.reserve, true
	}
	return firstOnReserve
}

// logReserve notes that the credentials of s are handed out from the
// reserve.
func logReserve(ctx context.Context, log *slog.Logger, s state, now time.Time) {
	log.LogAttrs(ctx, slog.LevelWarn, "running on reserve: refreshing credentials fails, so credentials that expire soon are handed out",
		slog.Time("expires", s.creds.Expires), slog.Duration("left", s.creds.Expires.Sub(now).Round(time.Second)),
		slog.String("last_error", errText(s.lastErr)))
}

// gated is the error a request for profile gets while a temporary
// failure's backoff runs: the last error, and when the next attempt is.
func gated(profile string, s state) error {
	kind := broker.ErrSourceFailed
	var be *broker.Error
	if errors.As(s.lastErr, &be) {
		kind = be.Kind
	}
	return broker.Errorf(kind, profile, "%s (codecommitd tries again at %s and does not call AWS before then)",
		s.lastErr.Error(), s.retryAt.Local().Format("15:04:05")).WithCause(s.lastErr)
}

// Peek returns the credentials of key if it has usable ones, without
// counting a use or fetching. Credentials persisted by an earlier run count.
func (m *Manager) Peek(key string) (sigv4.Credentials, bool) {
	e := m.lookup(key, false, Spec{})
	if e == nil {
		return sigv4.Credentials{}, false
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	return e.creds, m.policy.usable(e.creds, now)
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
	if e == nil && m.store != nil {
		c, profile, ok, err := m.store.Load(key)
		now := time.Now()
		switch {
		case err != nil:
			m.log.Debug("credential cache not read", "key", clean.Short(key), "error", err.Error())
		case ok && m.policy.onReserve(c, now):
			restored = m.newEntry(key, profile)
			restored.creds, restored.refreshAt = c, m.policy.refreshTime(c, now, m.jitter)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e = m.entries[key]; e == nil {
		switch {
		case restored != nil && m.gen == gen:
			e = restored
		case create:
			e = m.newEntry(key, spec.Profile)
		default:
			return nil
		}
		m.entries[key] = e
	}
	if create && e.fetch == nil {
		// New, or restored from the store: it learns how to refresh.
		e.fetch, e.source, e.interactive = spec.Fetch, spec.Source, spec.Interactive
		if spec.Profile != "" && spec.Profile != e.profile {
			m.setProfile(e, spec.Profile)
		}
	}
	return e
}

// refresh runs fetch once for all concurrent callers of e's key; ctx
// bounds only this caller's wait. It adapts singleflight's (any, error) to
// fetchOnce's result.
func (m *Manager) refresh(ctx context.Context, e *entry, fetch FetchFunc) (sigv4.Credentials, error) {
	ch := m.flights.DoChan(e.key, func() (any, error) { return m.fetchOnce(e, fetch) })
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

// fetchOnce runs fetch, within RefreshTimeout and the manager's life, and
// records the outcome on e. An entry forgotten meanwhile stays forgotten:
// the result is neither kept nor saved.
func (m *Manager) fetchOnce(e *entry, fetch FetchFunc) (sigv4.Credentials, error) {
	m.mu.Lock()
	if e.refreshing.IsZero() {
		e.refreshing = time.Now()
	}
	profile := e.profile
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(m.life, m.policy.RefreshTimeout)
	defer cancel()
	c, err := fetch(ctx)
	now := time.Now()
	if err == nil {
		err = m.policy.checkArrived(c, now, profile)
	}

	m.mu.Lock()
	e.refreshing = time.Time{}
	o := outcomeOf(m.entries[e.key] == e, m.life.Err() != nil, err)
	line := m.settle(e, o, c, err, now)
	log := e.log
	m.mu.Unlock()

	if line.msg != "" {
		log.LogAttrs(ctx, line.level, line.msg, line.attrs...)
	}
	if o == keep {
		m.persist(e, c)
	}
	if err != nil {
		return sigv4.Credentials{}, err
	}
	return c, nil
}

// logLine is a log record to write once the lock is released.
type logLine struct {
	level slog.Level
	msg   string
	attrs []slog.Attr
}

// settle applies outcome o of a fetch (credentials c, or err) to e, and
// returns what to log about it. Called with m.mu held.
func (m *Manager) settle(e *entry, o outcome, c sigv4.Credentials, err error, now time.Time) logLine {
	switch o {
	case keep:
		recovered := e.reserve || e.failures > 0
		e.creds, e.failures, e.lastErr, e.retryAt, e.needsMFA, e.reserve = c, 0, nil, time.Time{}, false, false
		e.refreshAt = m.policy.refreshTime(c, now, m.jitter)
		return logLine{slog.LevelInfo, "credentials refreshed", []slog.Attr{
			slog.Any("credentials", c), slog.Time("next_refresh", e.refreshAt), slog.Bool("recovered", recovered)}}
	case backoff:
		e.failures++
		e.lastErr = err
		e.retryAt = now.Add(m.policy.backoff(e.failures, e.creds, now, m.jitter))
		return logLine{slog.LevelWarn, "credential refresh failed", []slog.Attr{
			slog.Int("failures", e.failures), slog.Time("retry_at", e.retryAt),
			slog.Bool("serving_old", m.policy.onReserve(e.creds, now)), slog.String("error", err.Error())}}
	case needMFA:
		first := !e.needsMFA
		e.needsMFA, e.lastErr = true, err
		if first {
			return logLine{slog.LevelInfo, "credentials need a new MFA session; the next git command that can prompt asks for a code", nil}
		}
	}
	return logLine{} // forgotten, shutting down: nothing to keep or say
}

// persist saves c for e in the background, unless e is forgotten first.
func (m *Manager) persist(e *entry, c sigv4.Credentials) {
	if m.store == nil || c.SessionToken == "" || c.Expires.IsZero() {
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
		current, profile, log := m.entries[e.key] == e && e.creds == c, e.profile, e.log
		m.mu.Unlock()
		if !current {
			return // forgotten, or newer credentials are on their way
		}
		if err := m.store.Save(e.key, profile, c); err != nil {
			log.Debug("credentials not persisted", "error", err.Error())
		}
	}()
}

// flush waits until every credential obtained so far is persisted.
func (m *Manager) flush() {
	m.savesMu.Lock()
	defer m.savesMu.Unlock()
	for m.pending > 0 {
		m.savesDone.Wait()
	}
}

// RefreshDue refreshes every entry used within WarmFor whose refresh time
// or retry time has come, waits for those refreshes, and returns how many it
// ran. Only entries that hold credentials are kept warm: one that failed
// without any, or that needs an MFA code, waits for a request. Idle entries
// leave memory (see state.idle).
func (m *Manager) RefreshDue(ctx context.Context) int {
	now := time.Now()
	type job struct {
		e     *entry
		fetch FetchFunc
	}
	var due []job
	m.mu.Lock()
	for k, e := range m.entries {
		if e.idle(now, m.policy) {
			delete(m.entries, k)
			continue
		}
		if t := e.nextWarm(now, m.policy); t.IsZero() || now.Before(t) {
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
	now := time.Now()
	var next time.Time
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if t := e.nextWarm(now, m.policy); !t.IsZero() && (next.IsZero() || t.Before(next)) {
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
	if m.store != nil {
		var stored []string
		stored, err = m.store.DeleteProfile(profile, all)
		for _, k := range stored {
			gone[k] = true
		}
		for k := range gone { // entries saved under an older profile name
			if derr := m.store.Delete(k); derr != nil && err == nil {
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
	now := time.Now()
	m.mu.Lock()
	out := make([]broker.ProfileStatus, 0, len(m.entries))
	for _, e := range m.entries {
		ps := broker.ProfileStatus{
			Profile: e.profile, ConfigKey: clean.Short(e.key), Source: e.source, Expires: e.creds.Expires,
			LastError: errText(e.lastErr), Requests: e.requests, LastUsed: e.lastUsed,
			RefreshingSince: e.refreshing, NeedsMFA: e.needsMFA, OnReserve: e.reserve && !m.policy.usable(e.creds, now),
		}
		if e.needsMFA {
			ps.LastError = "needs MFA: the next git command that can prompt (a terminal, or an askpass program) asks for a code"
		}
		if e.creds.HasKeys() {
			ps.AccessKeyID = sigv4.Redact(e.creds.AccessKeyID)
			ps.NextRefresh = e.nextWarm(now, m.policy)
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
