package sso

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// The keeper's policy. An access token is refreshed RefreshAhead plus up to
// RefreshJitter before it expires (aws-vault refreshes 15 minutes ahead;
// 10 to 13 here keeps an 8-hour session of 1-hour tokens at 9 refreshes,
// the fewest that keep it valid throughout); a failed refresh is tried
// again within MaxRetryDelay; a session unused for WarmFor is left alone.
const (
	RefreshAhead  = 10 * time.Minute
	RefreshJitter = 3 * time.Minute
	MaxRetryDelay = time.Minute
	WarmFor       = 24 * time.Hour
	// firstRetryDelay is the wait after a first failure, doubled after each
	// further one up to MaxRetryDelay.
	firstRetryDelay = 15 * time.Second
	// maxSleep bounds the keeper's sleep: token files are read again at
	// least this often, so a sign-in or a logout elsewhere is seen.
	maxSleep = time.Minute
	// capMargin: a refresh whose token lasts this much less than the one
	// before ran into the session's end.
	capMargin = time.Minute
)

type action int

const (
	// actNone: nothing to do but report, until the token file changes.
	actNone action = iota
	// actIdle: the session has not been used for WarmFor.
	actIdle
	// actRefresh: refresh at the time given.
	actRefresh
)

// sessionState is what the keeper knows of one session: the token file as
// last read, and its own record of use, refreshes and failures.
type sessionState struct {
	tok     Token
	loadErr error // the file could not be used
	// jitter is the token's share of RefreshJitter, drawn when it was
	// first seen.
	jitter   time.Duration
	lastUsed time.Time
	// failures counts refreshes of tok that failed in a row, the last at
	// lastAttempt.
	failures    int
	lastAttempt time.Time
	// refused is the refresh token IAM Identity Center refused for good.
	refused string
	// sessionEnd is when the session ends, once a refresh ran into it;
	// lifetime is how long the last token codecommitd redeemed lasted.
	sessionEnd time.Time
	lifetime   time.Duration
}

// next decides, as a ladder of checks, what to do for the session at now
// and when: nothing while it has not been used for warmFor, while its file
// cannot be used, while its token cannot be refreshed (no refresh token,
// the registration ended, the refresh token refused) or already lasts to
// the session's end; else refresh RefreshAhead+jitter before the token
// expires (at once if that is past), or after a failure the retry delay
// after the last attempt.
func (s sessionState) next(now time.Time, warmFor time.Duration) (time.Time, action) {
	switch {
	case now.Sub(s.lastUsed) >= warmFor:
		return time.Time{}, actIdle
	case s.loadErr != nil, !s.tok.CanRefresh():
		return time.Time{}, actNone
	case !s.tok.RegistrationExpiresAt.IsZero() && !now.Before(s.tok.RegistrationExpiresAt):
		return time.Time{}, actNone
	case s.refused != "" && s.refused == s.tok.RefreshToken:
		return time.Time{}, actNone
	case !s.sessionEnd.IsZero() && !s.tok.ExpiresAt.Before(s.sessionEnd):
		return time.Time{}, actNone
	case s.failures > 0:
		return s.lastAttempt.Add(retryDelay(s.failures)), actRefresh
	}
	return s.tok.ExpiresAt.Add(-RefreshAhead - s.jitter), actRefresh
}

// retryDelay is the wait after the nth failure in a row: 15 s, 30 s, then
// a minute.
func retryDelay(n int) time.Duration {
	d := firstRetryDelay << min(n-1, 8)
	return min(d, MaxRetryDelay)
}

// KeeperConfig configures a Keeper.
type KeeperConfig struct {
	// Client reads and refreshes the token files; required.
	Client *Client
	// Log receives refreshes and failures; nil discards.
	Log *slog.Logger
	// WarmFor is how long after its last use a session is kept alive; 0
	// means WarmFor (24 hours).
	WarmFor time.Duration
	// Jitter returns a random duration in [0, max); nil means math/rand.
	Jitter func(max time.Duration) time.Duration
}

// CheckAndSetDefaults fills in the defaults.
func (c *KeeperConfig) CheckAndSetDefaults() error {
	if c.Client == nil {
		return errors.New("sso: KeeperConfig.Client is required")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	c.Log = c.Log.With("component", "sso keeper")
	if c.WarmFor == 0 {
		c.WarmFor = WarmFor
	}
	if c.Jitter == nil {
		c.Jitter = func(max time.Duration) time.Duration { return rand.N(max) }
	}
	return nil
}

// Keeper keeps the SSO sessions it is told about signed in: each one used
// in the last WarmFor has its access token refreshed with its refresh token
// ahead of expiry, so the session lasts as long as IAM Identity Center
// allows without a prompt. It never prompts: a session that needs a new
// sign-in is reported in Status. It is a Service: Run until the context
// ends.
type Keeper struct {
	cfg  KeeperConfig
	wake chan struct{}

	mu       sync.Mutex
	sessions map[string]*kept // by CacheKey
}

type kept struct {
	sess        Session
	st          sessionState
	refreshes   int
	lastRefresh time.Time
	lastErr     error
}

// NewKeeper returns a Keeper for cfg, after CheckAndSetDefaults.
func NewKeeper(cfg KeeperConfig) (*Keeper, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	return &Keeper{cfg: cfg, wake: make(chan struct{}, 1), sessions: map[string]*kept{}}, nil
}

// String names the keeper for the daemon's supervisor.
func (k *Keeper) String() string { return "SSO session keeper" }

// Use tells the keeper that s was used now (a profile of it resolved),
// adding it if it is new: it is kept alive for WarmFor from now.
func (k *Keeper) Use(s Session) {
	now := time.Now()
	k.mu.Lock()
	e, ok := k.sessions[s.CacheKey()]
	if !ok {
		e = &kept{}
		k.sessions[s.CacheKey()] = e
	}
	e.sess, e.st.lastUsed = s, now
	k.mu.Unlock()
	k.Reread()
}

// Reread makes the keeper read every session's token file again now,
// without counting a use: a sign-in or a sign-out elsewhere
// (`codecommitd login`, `logout`) shows in Status at once.
func (k *Keeper) Reread() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// Run keeps the sessions alive until ctx ends, then returns nil.
func (k *Keeper) Run(ctx context.Context) error {
	for {
		next := k.pass(ctx)
		wait := maxSleep
		if !next.IsZero() {
			wait = min(max(time.Until(next), 0), maxSleep)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-k.wake:
		case <-time.After(wait):
		}
	}
}

// pass reads every session's token file, refreshes those that are due,
// and returns when the next refresh is due (zero: none is planned).
func (k *Keeper) pass(ctx context.Context) time.Time {
	k.mu.Lock()
	keys := make([]string, 0, len(k.sessions))
	for key := range k.sessions {
		keys = append(keys, key)
	}
	k.mu.Unlock()
	var next time.Time
	for _, key := range keys {
		if at := k.keep(ctx, key); !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}

// keep brings one session up to date: its file read, its token refreshed
// if due; it returns when it is next due.
func (k *Keeper) keep(ctx context.Context, key string) time.Time {
	k.mu.Lock()
	e := k.sessions[key]
	s := e.sess
	k.mu.Unlock()

	tok, err := k.cfg.Client.Load(s) // outside the lock: a file read
	now := time.Now()
	k.mu.Lock()
	k.observe(e, tok, err, false)
	at, act := e.st.next(now, k.cfg.WarmFor)
	stale := e.st.tok
	k.mu.Unlock()
	if act != actRefresh || at.After(now) {
		return at
	}

	fresh, redeemed, err := k.cfg.Client.refresh(ctx, s, stale)
	now = time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return time.Time{}
		}
		e.st.failures++
		e.st.lastAttempt, e.lastErr = now, err
		switch ReasonOf(err) {
		case ReasonRevoked, ReasonRegistrationExpired, ReasonExpired:
			e.st.refused = stale.RefreshToken
			k.cfg.Log.WarnContext(ctx, "the SSO session can no longer be renewed", "session", s.String(), "error", err.Error())
		default:
			k.cfg.Log.WarnContext(ctx, "refreshing the SSO token failed; trying again", "session", s.String(), "error", err.Error(),
				"retry_in", retryDelay(e.st.failures))
		}
		at, _ := e.st.next(now, k.cfg.WarmFor)
		return at
	}
	if redeemed {
		e.refreshes++
		e.lastRefresh = now
		lifetime := fresh.ExpiresAt.Sub(now)
		if e.st.lifetime > 0 && lifetime < e.st.lifetime-capMargin || !fresh.ExpiresAt.After(stale.ExpiresAt.Add(capMargin)) {
			e.st.sessionEnd = fresh.ExpiresAt // the session ends then: nothing to gain after
		}
		e.st.lifetime = lifetime
	}
	k.observe(e, fresh, nil, redeemed)
	e.st.failures, e.lastErr = 0, nil
	at, _ = e.st.next(now, k.cfg.WarmFor)
	return at
}

// observe records the token file as read. A token not seen before gets its
// jitter; one that is not ours (a new sign-in, a refresh by another
// program) clears what was learnt of the old one's session. The caller
// holds k.mu.
func (k *Keeper) observe(e *kept, tok Token, err error, ours bool) {
	e.st.loadErr = err
	if err != nil || tok.same(e.st.tok) {
		return
	}
	if !ours {
		e.st.sessionEnd, e.st.lifetime = time.Time{}, 0
	}
	e.st.tok, e.st.failures, e.st.refused = tok, 0, ""
	e.st.jitter = k.cfg.Jitter(RefreshJitter)
}

// Status is what the keeper knows of one session.
type Status struct {
	Session Session
	// Path is its token file.
	Path string
	// Expires is when its access token expires (zero: no usable file).
	Expires time.Time
	// SessionEnds is when the session ends, where known: the end a refresh
	// ran into, else the client registration's end.
	SessionEnds time.Time
	// Renewable reports whether the keeper can renew the token.
	Renewable bool
	// NextRefresh is when the keeper refreshes it next (zero: not planned).
	NextRefresh time.Time
	// LastRefresh is the keeper's last refresh, and Refreshes their count.
	LastRefresh time.Time
	Refreshes   int
	// LastUsed is when Use last named the session; Idle reports that it
	// has not been used for WarmFor, so it is left alone.
	LastUsed time.Time
	Idle     bool
	// Err says why the session cannot be kept alive (no token file, an
	// expired token without a refresh token, a refused refresh) or how the
	// last refresh failed; nil when all is well. It is an *Error.
	Err error
}

// Status returns every session the keeper was told about, by name.
func (k *Keeper) Status() []Status {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]Status, 0, len(k.sessions))
	for _, e := range k.sessions {
		st := Status{Session: e.sess, Path: k.cfg.Client.TokenPath(e.sess), LastRefresh: e.lastRefresh, Refreshes: e.refreshes,
			LastUsed: e.st.lastUsed, Err: e.st.loadErr}
		if e.st.loadErr == nil && e.st.tok.AccessToken != "" {
			t := e.st.tok
			st.Expires, st.SessionEnds = t.ExpiresAt, e.st.sessionEnd
			if st.SessionEnds.IsZero() || (!t.RegistrationExpiresAt.IsZero() && t.RegistrationExpiresAt.Before(st.SessionEnds)) {
				st.SessionEnds = t.RegistrationExpiresAt
			}
			at, act := e.st.next(now, k.cfg.WarmFor)
			st.Idle = act == actIdle
			st.Renewable = act == actRefresh || (act == actIdle && t.CanRefresh())
			if act == actRefresh {
				st.NextRefresh = at
			}
			switch {
			case e.lastErr != nil:
				st.Err = e.lastErr
			case !t.CanRefresh() && !now.Before(t.ExpiresAt):
				st.Err = &Error{Reason: ReasonExpired, Session: e.sess, Path: st.Path, At: t.ExpiresAt}
			}
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Status) int { return cmp.Compare(a.Session.String(), b.Session.String()) })
	return out
}
