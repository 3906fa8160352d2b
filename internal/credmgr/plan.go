package credmgr

import (
	"errors"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// state is what the policy reads of an entry. The manager copies it under
// its lock and decides with the pure functions below (plan, outcomeOf,
// nextWarm, idle), so no decision is taken while locking, and none needs a
// lock to be tested.
type state struct {
	creds sigv4.Credentials
	// refreshAt is when the credentials are due for a refresh.
	refreshAt time.Time
	// retryAt is when the backoff of the last failed refresh ends.
	retryAt  time.Time
	failures int
	lastErr  error
	lastUsed time.Time
	// refreshing is when the refresh under way began; zero when none is.
	refreshing time.Time
	// interactive entries (MFA sessions) need a person to refresh them:
	// only a request that brings a code does.
	interactive bool
	// needsMFA is set when refreshing needs an MFA session that has
	// ended: nothing is retried in the background until a request brings
	// a code.
	needsMFA bool
	// reserve is set while the credentials handed out have less than
	// MinRemaining left because refreshing them fails.
	reserve bool
}

// action is what a request does with an entry.
type action int

const (
	// serve hands out the credentials held.
	serve action = iota
	// serveAndRefresh hands them out and refreshes them in the
	// background: they are due.
	serveAndRefresh
	// serveReserve hands out credentials that have less than MinRemaining
	// left, while a refresh is under way or a failed one's backoff runs.
	serveReserve
	// failFast returns the last error at once: there are no credentials
	// to hand out, and a temporary failure's backoff runs, so an outage
	// costs no call to AWS per request.
	failFast
	// wait refreshes and waits for the refresh (joining one under way);
	// should it fail, credentials still on the reserve are handed out.
	wait
)

var actionNames = [...]string{"serve", "serve and refresh", "serve from the reserve", "fail fast", "wait"}

func (a action) String() string { return actionNames[a] }

// plan decides what a request at now does, a ladder of named checks.
func (s state) plan(now time.Time, p Policy) action {
	if p.usable(s.creds, now) {
		if s.due(now) {
			return serveAndRefresh
		}
		return serve
	}
	if p.onReserve(s.creds, now) && (s.inBackoff(now) || s.inFlight()) {
		return serveReserve
	}
	if s.inBackoff(now) && s.temporary() {
		return failFast
	}
	return wait
}

// due reports whether a request at now should start a background refresh:
// the refresh time has come, no refresh is under way or backing off, and
// no person is needed for it.
func (s state) due(now time.Time) bool {
	return !now.Before(s.refreshAt) && !s.inBackoff(now) && !s.inFlight() && !s.interactive
}

// inBackoff reports whether the backoff of the last failure runs at now.
func (s state) inBackoff(now time.Time) bool { return now.Before(s.retryAt) }

// inFlight reports whether a refresh is under way.
func (s state) inFlight() bool { return !s.refreshing.IsZero() }

// temporary reports whether the last failure may pass by itself (the
// network, throttling, AWS's side). Failures a person can fix (an expired
// SSO session, a denied role) are retried at once: they may just have
// fixed them.
func (s state) temporary() bool { return errors.Is(s.lastErr, broker.ErrTemporary) }

// nextWarm is when the background loop should refresh the entry, or the
// zero time when it leaves it alone: an entry in use within WarmFor, not
// interactive nor waiting for an MFA code, with credentials that may still
// be handed out, and no refresh under way. Then it is the refresh time, or
// the end of the backoff if later.
func (s state) nextWarm(now time.Time, p Policy) time.Time {
	if s.interactive || s.needsMFA || s.inFlight() || !p.onReserve(s.creds, now) || now.Sub(s.lastUsed) > p.WarmFor {
		return time.Time{}
	}
	if s.retryAt.After(s.refreshAt) {
		return s.retryAt
	}
	return s.refreshAt
}

// idle reports whether the entry leaves memory at now: unused for longer
// than WarmFor (an MFA session only once it has expired too, so that its
// owner is not asked for a code again), and no refresh under way. What the
// store holds comes back on the next use.
func (s state) idle(now time.Time, p Policy) bool {
	return now.Sub(s.lastUsed) > p.WarmFor && (!s.interactive || !p.usable(s.creds, now)) && !s.inFlight()
}

// outcome is what a finished fetch does to its entry.
type outcome int

const (
	// keep the new credentials, and save them.
	keep outcome = iota
	// backoff counts a failure, and waits before the next attempt.
	backoff
	// needMFA notes that the MFA session has ended: nothing is retried
	// until a request brings a code.
	needMFA
	// forgotten: the entry was forgotten during the fetch; the caller is
	// answered, nothing is kept.
	forgotten
	// shuttingDown: the fetch was cancelled because the manager stops,
	// which is no failure of the source.
	shuttingDown
)

var outcomeNames = [...]string{"keep", "back off", "need MFA", "forgotten", "shutting down"}

func (o outcome) String() string { return outcomeNames[o] }

// outcomeOf decides what a fetch that ended with err does to its entry,
// which is still the key's (current) or was forgotten meanwhile, while the
// manager runs or stops.
func outcomeOf(current, stopping bool, err error) outcome {
	switch {
	case !current:
		return forgotten
	case err == nil:
		return keep
	case stopping:
		return shuttingDown
	case errors.Is(err, broker.ErrMFARequired):
		return needMFA
	}
	return backoff
}
