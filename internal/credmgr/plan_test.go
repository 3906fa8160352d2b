package credmgr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

var now = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// left returns credentials that have d left at now.
func left(d time.Duration) sigv4.Credentials {
	return sigv4.Credentials{AccessKeyID: "ASIA1", SecretAccessKey: "s", SessionToken: "t", Expires: now.Add(d)}
}

var (
	temporaryErr = broker.Errorf(broker.ErrSourceFailed, "p", "sts down").WithCause(errors.Join(broker.ErrTemporary, errors.New("500")))
	fixableErr   = broker.Errorf(broker.ErrSSOExpired, "p", "run aws sso login")
	static       = sigv4.Credentials{AccessKeyID: "AKIA1", SecretAccessKey: "s"}
)

// TestPlan is every branch of what a request does, at its boundaries.
// Credentials last an hour and are due 45 minutes in unless a row says
// otherwise.
func TestPlan(t *testing.T) {
	p := DefaultPolicy()
	later, earlier := now.Add(time.Minute), now.Add(-time.Minute)
	for _, tc := range []struct {
		name string
		s    state
		want action
	}{
		{"no credentials", state{}, wait},
		{"fresh", state{creds: left(time.Hour), refreshAt: later}, serve},
		{"due exactly now", state{creds: left(time.Hour), refreshAt: now}, serveAndRefresh},
		{"due, a refresh in flight", state{creds: left(time.Hour), refreshAt: earlier, refreshing: earlier}, serve},
		{"due, in backoff", state{creds: left(time.Hour), refreshAt: earlier, retryAt: later}, serve},
		{"due, backoff just ended", state{creds: left(time.Hour), refreshAt: earlier, retryAt: now}, serveAndRefresh},
		{"due, interactive", state{creds: left(time.Hour), refreshAt: earlier, interactive: true}, serve},
		{"exactly MinRemaining left, due", state{creds: left(p.MinRemaining), refreshAt: earlier}, serveAndRefresh},
		{"exactly MinRemaining left, in backoff", state{creds: left(p.MinRemaining), refreshAt: earlier, retryAt: later}, serve},
		{"just under MinRemaining", state{creds: left(p.MinRemaining - time.Nanosecond), refreshAt: earlier}, wait},
		{"just under MinRemaining, in backoff", state{creds: left(p.MinRemaining - 1), refreshAt: earlier, retryAt: later}, serveReserve},
		{"just under MinRemaining, a refresh in flight", state{creds: left(p.MinRemaining - 1), refreshAt: earlier, refreshing: earlier}, serveReserve},
		{"just under MinRemaining, backoff just ended", state{creds: left(p.MinRemaining - 1), refreshAt: earlier, retryAt: now}, wait},
		{"exactly ReserveFloor left, in backoff", state{creds: left(p.ReserveFloor), retryAt: later, lastErr: temporaryErr}, serveReserve},
		{"just under ReserveFloor, temporary failure's backoff", state{creds: left(p.ReserveFloor - 1), retryAt: later, lastErr: temporaryErr}, failFast},
		{"just under ReserveFloor, fixable failure's backoff", state{creds: left(p.ReserveFloor - 1), retryAt: later, lastErr: fixableErr}, wait},
		{"just under ReserveFloor, a refresh in flight", state{creds: left(p.ReserveFloor - 1), refreshing: earlier}, wait},
		{"expired, temporary failure's backoff", state{creds: left(-time.Minute), retryAt: later, lastErr: temporaryErr}, failFast},
		{"none, temporary failure's backoff", state{retryAt: later, lastErr: temporaryErr}, failFast},
		{"none, temporary failure's backoff just ended", state{retryAt: now, lastErr: temporaryErr}, wait},
		{"none, fixable failure's backoff", state{retryAt: later, lastErr: fixableErr}, wait},
		{"none, a refresh in flight", state{refreshing: earlier}, wait},
		{"none, interactive, MFA needed", state{interactive: true, needsMFA: true, lastErr: broker.ErrMFARequired}, wait},
		{"interactive, under MinRemaining, in backoff", state{creds: left(time.Minute * 2), interactive: true, retryAt: later}, serveReserve},
		{"static keys, not due", state{creds: static, refreshAt: later}, serve},
		{"static keys, due", state{creds: static, refreshAt: now}, serveAndRefresh},
		{"static keys, due, temporary failure's backoff", state{creds: static, refreshAt: earlier, retryAt: later, lastErr: temporaryErr}, serve},
		{"no secret", state{creds: sigv4.Credentials{AccessKeyID: "ASIA1", Expires: now.Add(time.Hour)}, retryAt: later, lastErr: temporaryErr}, failFast},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.plan(now, p); got != tc.want {
				t.Fatalf("plan = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestOutcome is every branch of what a finished fetch does to its entry.
func TestOutcome(t *testing.T) {
	mfa := fmt.Errorf("role: %w", broker.Errorf(broker.ErrMFARequired, "p", "MFA session ended"))
	for _, tc := range []struct {
		name              string
		current, stopping bool
		err               error
		want              outcome
	}{
		{"credentials", true, false, nil, keep},
		{"credentials while stopping", true, true, nil, keep},
		{"temporary failure", true, false, temporaryErr, backoff},
		{"fixable failure", true, false, fixableErr, backoff},
		{"RefreshTimeout", true, false, context.DeadlineExceeded, backoff},
		{"MFA session ended", true, false, mfa, needMFA},
		{"cancelled: stopping", true, true, context.Canceled, shuttingDown},
		{"MFA needed while stopping", true, true, mfa, shuttingDown},
		{"forgotten with credentials", false, false, nil, forgotten},
		{"forgotten with a failure", false, false, temporaryErr, forgotten},
		{"forgotten while stopping", false, true, context.Canceled, forgotten},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := outcomeOf(tc.current, tc.stopping, tc.err); got != tc.want {
				t.Fatalf("outcome = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestWarm is what the background loop does with an entry: when it
// refreshes it (nextWarm), and whether it drops it (idle).
func TestWarm(t *testing.T) {
	p := DefaultPolicy()
	used := now.Add(-time.Hour)
	refreshAt, retryAt := now.Add(time.Minute), now.Add(2*time.Minute)
	for _, tc := range []struct {
		name     string
		s        state
		nextWarm time.Time
		idle     bool
	}{
		{"used, credentials", state{creds: left(time.Hour), refreshAt: refreshAt, lastUsed: used}, refreshAt, false},
		{"used, backing off past the refresh time", state{creds: left(time.Hour), refreshAt: refreshAt, retryAt: retryAt, lastUsed: used}, retryAt, false},
		{"used exactly WarmFor ago", state{creds: left(time.Hour), refreshAt: refreshAt, lastUsed: now.Add(-p.WarmFor)}, refreshAt, false},
		{"unused for longer than WarmFor", state{creds: left(time.Hour), refreshAt: refreshAt, lastUsed: now.Add(-p.WarmFor - 1)}, time.Time{}, true},
		{"never used (restored by Peek)", state{creds: left(time.Hour), refreshAt: refreshAt}, time.Time{}, true},
		{"a refresh in flight", state{creds: left(time.Hour), refreshAt: refreshAt, lastUsed: used, refreshing: now}, time.Time{}, false},
		{"idle, a refresh in flight", state{creds: left(time.Hour), lastUsed: now.Add(-p.WarmFor - 1), refreshing: now}, time.Time{}, false},
		{"interactive", state{creds: left(time.Hour), refreshAt: refreshAt, lastUsed: used, interactive: true}, time.Time{}, false},
		{"interactive, idle, still usable", state{creds: left(time.Hour), lastUsed: now.Add(-p.WarmFor - 1), interactive: true}, time.Time{}, false},
		{"interactive, idle, expired", state{creds: left(-time.Second), lastUsed: now.Add(-p.WarmFor - 1), interactive: true}, time.Time{}, true},
		{"needs MFA", state{creds: left(time.Hour), refreshAt: refreshAt, lastUsed: used, needsMFA: true}, time.Time{}, false},
		{"no credentials", state{retryAt: retryAt, lastUsed: used}, time.Time{}, false},
		{"exactly ReserveFloor left", state{creds: left(p.ReserveFloor), refreshAt: refreshAt, lastUsed: used}, refreshAt, false},
		{"under ReserveFloor", state{creds: left(p.ReserveFloor - 1), refreshAt: refreshAt, lastUsed: used}, time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.nextWarm(now, p); !got.Equal(tc.nextWarm) {
				t.Errorf("nextWarm = %v, want %v", got, tc.nextWarm)
			}
			if got := tc.s.idle(now, p); got != tc.idle {
				t.Errorf("idle = %v, want %v", got, tc.idle)
			}
		})
	}
}

// TestLogsSayWhoWroteThem: every line names the component, and an entry's
// lines its profile and key, once each.
func TestLogsSayWhoWroteThem(t *testing.T) {
	logs := &lockedWriter{}
	m, src := newManager(t, Config{Log: logs.logger()})
	src.FailNext(temporaryErr)
	m.Get(context.Background(), Spec{Key: "k", Profile: "dev", Fetch: src.Fetch})
	m.Get(context.Background(), Spec{Key: "k2", Profile: "dev", Fetch: src.Fetch})
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a failure and a refresh logged:\n%s", logs.String())
	}
	for _, l := range lines {
		if strings.Count(l, "component=credmgr") != 1 || strings.Count(l, "profile=dev") != 1 || strings.Count(l, " key=") != 1 {
			t.Errorf("line does not name its component, profile and key once each: %s", l)
		}
	}
}
