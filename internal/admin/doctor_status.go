package admin

import (
	"fmt"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/paths"
	"github.com/codecommitd/codecommitd/internal/remotehelper"
	"github.com/codecommitd/codecommitd/internal/sso"
)

// The checks of what else the daemon reports: its cache, its IAM Identity
// Center sessions and its git transport.

// soon is how close an end must be for doctor to warn of it.
const soon = time.Hour

// checkCache judges the daemon's persistent cache: its path and key
// source, or what is wrong with it (CacheProblem: set aside at start,
// read-only, held by another daemon, turned off), which costs nothing
// but warmth, since credentials are then kept in memory.
func checkCache(st *broker.Status, _ time.Time) []finding {
	f := finding{check: "cache"}
	switch {
	case st.CachePath == "":
		f.v, f.what = vInfo, "cache: memory only"
	case st.CacheProblem != "":
		f.v, f.what = vWarn, "cache: "+st.CachePath+": "+clean.Line(st.CacheProblem, 400)
		f.fix = "nothing fails meanwhile (credentials are kept in memory); mend the cause (Troubleshooting, the cache), then codecommitd restart"
	default:
		f.v, f.what = vOK, "cache: "+st.CachePath+" (key from "+st.KeySource+")"
	}
	return []finding{f}
}

// checkSSOSessions judges each IAM Identity Center session the daemon
// keeps signed in (used in the last day): FAIL when it cannot give
// credentials now, warn when it works now but needs a sign-in within the
// hour or renewing it fails, info while a sign-in is under way.
func checkSSOSessions(st *broker.Status, now time.Time) []finding {
	var out []finding
	for _, s := range st.SSOSessions {
		out = append(out, checkSSOSession(s, now))
	}
	return out
}

func checkSSOSession(s broker.SSOSessionStatus, now time.Time) finding {
	sess := sso.Session{Name: s.Name, StartURL: s.StartURL, Region: s.Region}
	if sess.Legacy() {
		// A legacy profile's session is named after it: "profile dev".
		sess.Profile = strings.TrimPrefix(s.Session, "profile ")
	}
	name := sess.String()
	f := finding{check: "sso", subject: name}
	prefix := name + ": "
	valid := s.Expires.After(now)
	lastErr := strings.TrimPrefix(clean.Redact(clean.Line(s.LastError, 400)), prefix)
	login := sess.LoginCommand()
	switch {
	case s.SigningIn:
		f.v, f.what = vInfo, prefix+"signing in (a git command shows the sign-in)"
	case s.LastError != "" && !valid:
		// The daemon's line says what to run.
		f.v, f.what = vFail, prefix+lastErr
	case s.LastError != "":
		f.v, f.what = vWarn, fmt.Sprintf("%ssigned in for %s more, but renewing its token fails: %s", prefix, short(s.Expires.Sub(now)), lastErr)
	case !valid && s.Renewable:
		f.v, f.what = vOK, prefix+"signed in; its token expired and the daemon renews it at its next use"+sessionEnds(s, now)
	case !valid:
		f.v, f.what, f.fix = vFail, prefix+"not signed in (no usable token in "+s.TokenFile+")", login
	case !s.Renewable && s.Expires.Sub(now) < soon:
		f.v, f.what = vWarn, fmt.Sprintf("%ssigned in, but its token expires in %s, at %s, and cannot be renewed (no refresh token)", prefix, short(s.Expires.Sub(now)), clock(s.Expires, now))
		f.fix = "sign in again before then: " + login
	case !s.SessionEnds.IsZero() && s.SessionEnds.Sub(now) < soon:
		f.v, f.what = vWarn, fmt.Sprintf("%ssigned in, but the session ends in %s, at %s", prefix, short(s.SessionEnds.Sub(now)), clock(s.SessionEnds, now))
		f.fix = "sign in again before then: " + login
	default:
		f.v, f.what = vOK, fmt.Sprintf("%ssigned in; token good for %s (%s)%s", prefix, short(s.Expires.Sub(now)), tokenRenewal(s, now), sessionEnds(s, now))
	}
	return f
}

// tokenRenewal says how the token of s lasts beyond its expiry.
func tokenRenewal(s broker.SSOSessionStatus, now time.Time) string {
	switch {
	case s.Renewable && !s.NextRefresh.IsZero():
		return "renewed by the daemon, next at " + clock(s.NextRefresh, now)
	case s.Renewable:
		return "renewable"
	}
	return "not renewable: sign in again then"
}

func sessionEnds(s broker.SSOSessionStatus, now time.Time) string {
	if s.SessionEnds.IsZero() {
		return ""
	}
	return ", session ends " + clock(s.SessionEnds, now)
}

// transportProbe is what decides which path git takes for codecommit://
// URLs: the daemon's status (nil when none answered, and daemonErr why),
// CODECOMMITD_TRANSPORT in doctor's environment, and whether git is too
// old for the transport.
type transportProbe struct {
	st        *broker.Status
	daemonErr error
	getenv    func(string) string
	gitOld    bool
	now       time.Time
}

// checkTransport says whether git's traffic goes through the daemon's git
// transport, and when not, why and whether that is to be mended.
func checkTransport(p transportProbe) finding {
	f := finding{check: "transport"}
	mode, err := remotehelper.TransportMode(p.getenv)
	switch {
	case err != nil:
		f.v, f.what = vFail, "git transport: "+err.Error()
	case mode == remotehelper.ModeDirect:
		f.v, f.what = vInfo, "git transport: not used: "+envvar.Transport+"=direct here, so git gets a signed password (see How the password reaches git)"
	case p.gitOld:
		f.v, f.what = vInfo, "git transport: not used: git is older than 2.31, so it gets a signed password"
	case p.st == nil && notRunning(p.daemonErr):
		f.v, f.what = vInfo, "git transport: runs in the daemon, which git starts when it needs it"
	case p.st == nil:
		f.v, f.what = vInfo, "git transport: not used while no daemon can be used (git gets a signed password from a one-shot process; the daemon line says why)"
	case p.st.Transport == nil:
		f.v, f.what = vWarn, TransportSummary(nil)
		f.fix = "find `running without the git transport` in the daemon's log (" + paths.LogFile() + " for a daemon git started), mend what it names, then codecommitd restart"
	default:
		f.v, f.what = vOK, TransportSummary(p.st.Transport)+connections(p.st.Transport.Conns, p.now)
	}
	return f
}

// connections lists the transport's upstream connections after its
// summary: host, protocol, and idle time or the requests in flight.
func connections(conns []broker.TransportConn, now time.Time) string {
	var parts []string
	for _, c := range conns {
		state := "idle " + short(now.Sub(c.LastUsed))
		if c.InFlight > 0 {
			state = fmt.Sprintf("%d request(s) in flight", c.InFlight)
		}
		parts = append(parts, fmt.Sprintf("%s to %s, %s", c.Protocol, c.Host, state))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
