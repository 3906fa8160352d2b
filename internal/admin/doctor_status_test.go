//go:build unix

package admin

import (
	"errors"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/paths"
)

func TestCheckCache(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   broker.Status
		want wantFinding
	}{
		{"healthy", broker.Status{CachePath: "/s/cache.db", KeySource: "keyring"}, wantFinding{vOK, "cache: /s/cache.db (key from keyring)", ""}},
		{"set aside", broker.Status{CachePath: "/s/cache.db", KeySource: "keyring",
			CacheProblem: "could not be read at start (not a bbolt file); moved it aside to /s/cache.db.unreadable-20260504 and started an empty one"},
			wantFinding{vWarn, "cache: /s/cache.db: could not be read at start (not a bbolt file); moved it aside to /s/cache.db.unreadable-20260504 and started an empty one",
				"nothing fails meanwhile (credentials are kept in memory); mend the cause (Troubleshooting, the cache), then codecommitd restart"}},
		{"memory only", broker.Status{}, wantFinding{vInfo, "cache: memory only", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.want.check(t, checkCache(&tc.st, time.Now())[0]) })
	}
}

func TestCheckSSOSession(t *testing.T) {
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.Local)
	corp := broker.SSOSessionStatus{Session: "profile dev (sso-session corp)", Name: "corp", StartURL: "https://corp.awsapps.com/start", Region: "us-east-1",
		TokenFile: "/h/.aws/sso/cache/c.json", Expires: now.Add(47 * time.Minute), SessionEnds: now.Add(14 * time.Hour), Renewable: true, NextRefresh: now.Add(35 * time.Minute)}
	legacy := broker.SSOSessionStatus{Session: "profile old", StartURL: "https://old.awsapps.com/start", Region: "us-east-1", Expires: now.Add(30 * time.Minute)}
	with := func(s broker.SSOSessionStatus, f func(*broker.SSOSessionStatus)) broker.SSOSessionStatus {
		f(&s)
		return s
	}
	const notSignedIn = "sso-session corp is not signed in: run codecommitd login --sso-session corp"
	for _, tc := range []struct {
		name string
		s    broker.SSOSessionStatus
		want wantFinding
	}{
		{"renewed", corp, wantFinding{vOK, "sso-session corp: signed in; token good for 47m (renewed by the daemon, next at 12:35), session ends May 5 02:00", ""}},
		{"renewable, no end known", with(corp, func(s *broker.SSOSessionStatus) { s.NextRefresh, s.SessionEnds = time.Time{}, time.Time{} }),
			wantFinding{vOK, "sso-session corp: signed in; token good for 47m (renewable)", ""}},
		{"not renewable, hours left", with(corp, func(s *broker.SSOSessionStatus) {
			s.Renewable, s.NextRefresh, s.SessionEnds, s.Expires = false, time.Time{}, time.Time{}, now.Add(7*time.Hour)
		}), wantFinding{vOK, "sso-session corp: signed in; token good for 7h (not renewable: sign in again then)", ""}},
		{"not renewable, within the hour", legacy, wantFinding{vWarn,
			"profile old: signed in, but its token expires in 30m, at 12:30, and cannot be renewed (no refresh token)", "sign in again before then: codecommitd login --profile old"}},
		{"session ends within the hour", with(corp, func(s *broker.SSOSessionStatus) { s.SessionEnds = now.Add(40 * time.Minute) }),
			wantFinding{vWarn, "sso-session corp: signed in, but the session ends in 40m, at 12:40", "sign in again before then: codecommitd login --sso-session corp"}},
		{"renewing fails, token still good", with(corp, func(s *broker.SSOSessionStatus) {
			s.LastError = "cannot reach IAM Identity Center for sso-session corp: oidc.us-east-1.amazonaws.com does not resolve (DNS: no such host); check the network"
		}), wantFinding{vWarn, "sso-session corp: signed in for 47m more, but renewing its token fails: cannot reach IAM Identity Center for sso-session corp: " +
			"oidc.us-east-1.amazonaws.com does not resolve (DNS: no such host); check the network", ""}},
		{"not signed in", with(corp, func(s *broker.SSOSessionStatus) { s.Expires, s.LastError = time.Time{}, notSignedIn }),
			wantFinding{vFail, "sso-session corp: " + notSignedIn, ""}},
		{"expired, refused", with(corp, func(s *broker.SSOSessionStatus) {
			s.Expires, s.LastError = now.Add(-time.Minute), "sso-session corp: the SSO session has ended or was revoked (InvalidGrantException); sign in with `codecommitd login --sso-session corp`"
		}), wantFinding{vFail, "sso-session corp: the SSO session has ended or was revoked (InvalidGrantException); sign in with `codecommitd login --sso-session corp`", ""}},
		{"expired, renewed at its next use", with(corp, func(s *broker.SSOSessionStatus) { s.Expires, s.NextRefresh = now.Add(-time.Minute), time.Time{} }),
			wantFinding{vOK, "sso-session corp: signed in; its token expired and the daemon renews it at its next use, session ends May 5 02:00", ""}},
		{"signing in", with(corp, func(s *broker.SSOSessionStatus) { s.SigningIn, s.Expires, s.LastError = true, time.Time{}, notSignedIn }),
			wantFinding{vInfo, "sso-session corp: signing in (a git command shows the sign-in)", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.want.check(t, checkSSOSession(tc.s, now)) })
	}
	if got := checkSSOSessions(&broker.Status{SSOSessions: []broker.SSOSessionStatus{corp, legacy}}, now); len(got) != 2 || got[1].subject != "profile old" {
		t.Errorf("checkSSOSessions: %+v, want one finding per session", got)
	}
}

func TestCheckTransport(t *testing.T) {
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.Local)
	running := &broker.Status{Transport: &broker.TransportStatus{URL: "http://127.0.0.1:41234", Grants: 1, Conns: []broker.TransportConn{
		{Host: "git-codecommit.us-east-1.amazonaws.com:443", Protocol: "h2", Opened: now.Add(-time.Hour), LastUsed: now.Add(-2 * time.Minute)},
		{Host: "git-codecommit.eu-west-1.amazonaws.com:443", Protocol: "http/1.1", Opened: now.Add(-time.Minute), LastUsed: now, InFlight: 1},
	}}}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "CODECOMMITD_TRANSPORT" {
				return v
			}
			return ""
		}
	}
	notRunningErr := &broker.Error{Kind: broker.ErrUnavailable, Msg: "no daemon answers on /s (the daemon is not running)"}
	for _, tc := range []struct {
		name string
		p    transportProbe
		want wantFinding
	}{
		{"running", transportProbe{st: running, getenv: env("")}, wantFinding{vOK, "git transport: http://127.0.0.1:41234, 1 git operation(s) under way, 2 upstream connection(s) " +
			"(h2 to git-codecommit.us-east-1.amazonaws.com:443, idle 2m; http/1.1 to git-codecommit.eu-west-1.amazonaws.com:443, 1 request(s) in flight)", ""}},
		{"running, no connection yet", transportProbe{st: &broker.Status{Transport: &broker.TransportStatus{URL: "http://127.0.0.1:41234"}}, getenv: env("daemon")},
			wantFinding{vOK, "git transport: http://127.0.0.1:41234, 0 git operation(s) under way, 0 upstream connection(s)", ""}},
		{"the daemon runs none", transportProbe{st: &broker.Status{}, getenv: env("")}, wantFinding{vWarn,
			"git transport: not running (git-remote-codecommit hands git a signed password); the daemon's log says why",
			"find `running without the git transport` in the daemon's log (" + paths.LogFile() + " for a daemon git started), mend what it names, then codecommitd restart"}},
		{"direct by the user's setting", transportProbe{st: running, getenv: env("direct")},
			wantFinding{vInfo, "git transport: not used: CODECOMMITD_TRANSPORT=direct here, so git gets a signed password (see How the password reaches git)", ""}},
		{"a value that is neither", transportProbe{st: running, getenv: env("loopback")}, wantFinding{vFail,
			"git transport: CODECOMMITD_TRANSPORT=loopback is neither daemon nor direct; unset it to use the daemon's git transport, or set it to direct to hand git a signed password", ""}},
		{"git too old", transportProbe{st: running, getenv: env(""), gitOld: true},
			wantFinding{vInfo, "git transport: not used: git is older than 2.31, so it gets a signed password", ""}},
		{"no daemon running", transportProbe{daemonErr: notRunningErr, getenv: env("")},
			wantFinding{vInfo, "git transport: runs in the daemon, which git starts when it needs it", ""}},
		{"no daemon can be used", transportProbe{daemonErr: errors.New("untrusted"), getenv: env("")},
			wantFinding{vInfo, "git transport: not used while no daemon can be used (git gets a signed password from a one-shot process; the daemon line says why)", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.now = now
			tc.want.check(t, checkTransport(tc.p))
		})
	}
}
