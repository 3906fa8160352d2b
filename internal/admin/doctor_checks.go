package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/gitversion"
	"github.com/codecommitd/codecommitd/internal/peercred"
	"github.com/codecommitd/codecommitd/internal/privdir"
)

// The checks of doctor. Each is a function of what was found on this
// machine (a command's output, a stat, the daemon's status), so that a
// table test can give every verdict's exact text without a daemon.

// verdict is how much a finding matters. A user must act on a fail, and
// only on a fail: doctor exits non-zero exactly when one is found. A warn
// is something that works but should be looked at; info is a fact.
type verdict int

const (
	vOK verdict = iota
	vInfo
	vWarn
	vFail
)

// String is the verdict as the text report prints it.
func (v verdict) String() string { return [...]string{"ok", "info", "warn", "FAIL"}[v] }

// finding is one line of doctor's report: which check (and, for a
// helper or a profile, which one), its verdict, what was found, and what
// to do about it ("" when nothing, or when what says it).
type finding struct {
	check   string
	subject string
	v       verdict
	what    string
	fix     string
}

// checkGit judges `git --version`'s output (err: it could not be run).
func checkGit(out string, err error) finding {
	f := finding{check: "git"}
	if err != nil {
		f.v, f.what, f.fix = vFail, "git: not found on PATH", "install git 2.31 or later"
		return f
	}
	text := clean.Line(out, 100)
	v, perr := gitversion.Parse(out)
	switch {
	case perr != nil:
		f.v, f.what, f.fix = vWarn, "git: cannot read its version from "+clean.Quote(text, 100), "install git 2.31 or later, and check that git --version prints its version"
	case !v.AtLeast(gitversion.ConfigEnv):
		f.v, f.what = vFail, text+": older than 2.31, which cannot take the password without a command line"
		f.fix = "upgrade git; or, knowing any local user can then read the password in ps, set " + envvar.PasswordInArgv + "=1"
	default:
		f.v, f.what = vOK, text
	}
	return f
}

// checkHelper judges the helper name as PATH finds it (path, or lookErr)
// and what `<path> --version` printed; want is this codecommitd's version.
func checkHelper(name, path string, lookErr error, versionOut, want string) finding {
	f := finding{check: "helper", subject: name}
	got := strings.TrimSpace(versionOut)
	switch {
	case lookErr != nil:
		f.v, f.what, f.fix = vFail, name+": not on PATH, so git cannot use codecommitd", "run `make install`, and put its bin folder (default ~/.local/bin) on PATH"
	case !strings.HasPrefix(got, name+" "):
		f.v, f.what = vFail, fmt.Sprintf("%s: %s is not codecommitd's (it says %s); git would use it", name, path, clean.Quote(clean.Redact(firstLine(got)), 80))
		f.fix = "remove it (pip uninstall git-remote-codecommit) or put codecommitd's bin folder first on PATH"
	case strings.TrimPrefix(got, name+" ") != want:
		f.v, f.what = vWarn, fmt.Sprintf("%s: %s is version %s, this codecommitd is %s", name, path, clean.Quote(clean.Redact(strings.TrimPrefix(got, name+" ")), 60), want)
		f.fix = "reinstall both from one build (make install)"
	default:
		f.v, f.what = vOK, name+": "+path
	}
	return f
}

// serviceState is what the service manager says, for the daemon check:
// known reports that it could be asked, installed that the service is,
// and down why the manager cannot start it now (nil: it can).
type serviceState struct {
	known, installed bool
	down             error
}

// daemonProbe is what doctor learnt about the daemon on socket: its
// status, or why it could not be asked (as askStatus says), and, when it
// is not trusted, whether something listens there and its pid (as the
// kernel says; 0 when it did not).
type daemonProbe struct {
	socket    string
	st        *broker.Status
	err       error
	listening bool
	pid       int
	// who says who started the daemon that answered (services.who).
	who string
	svc serviceState
	// version is this codecommitd's.
	version string
	now     time.Time
}

// checkDaemon tells apart a daemon that runs and answers (and whether its
// version is this one's), one that is not running (git starts it), one
// that runs but does not answer, one that is not trusted and why (the
// words of privdir and peercred the helpers print), and one that refused
// us.
func checkDaemon(p daemonProbe) finding {
	f := finding{check: "daemon"}
	var stuck *client.StuckError
	var np *privdir.NotPrivateError
	var other *peercred.OtherUserError
	switch err := p.err; {
	case err == nil && p.st.Version != p.version:
		f.v, f.what = vWarn, fmt.Sprintf("daemon: pid %d runs version %s, this codecommitd is %s", p.st.PID, p.st.Version, p.version)
		f.fix = "codecommitd restart (or codecommitd stop; git starts the new one)"
	case err == nil:
		f.v, f.what = vOK, fmt.Sprintf("daemon: pid %d, %s, up %s, on %s", p.st.PID, p.who, since(p.now, p.st.StartedAt), p.socket)
	case errors.As(err, &stuck):
		f.v, f.what, f.fix = vFail, "daemon: "+stuck.Error(), stuck.Fix()
	case errors.Is(err, broker.ErrUntrustedDaemon) && errors.As(err, &np):
		fix := np.Fix(envvar.Socket + " or --socket")
		if p.listening {
			f.v, f.what, f.fix = vFail, fmt.Sprintf("daemon: runs%s on %s, but is not trusted: its folder %s %s, so neither git's helpers nor codecommitd send it anything",
				pidNote(p.pid), p.socket, np.Dir, np.Reason), fix
		} else {
			f.v, f.what, f.fix = vFail, fmt.Sprintf("daemon: not running, and none can be trusted on %s: its folder %s %s, so git's helpers resolve every request in a process of their own",
				p.socket, np.Dir, np.Reason), fix
		}
	case errors.Is(err, broker.ErrUntrustedDaemon) && errors.As(err, &other):
		f.v, f.what = vFail, fmt.Sprintf("daemon: something runs on %s, but is not trusted: %s", p.socket, other.Error())
		f.fix = fmt.Sprintf("stop it (kill %d) if it is yours, or choose a socket of your own with %s or --socket", other.Peer.PID, envvar.Socket)
	case errors.Is(err, broker.ErrUntrustedDaemon):
		f.v, f.what = vFail, fmt.Sprintf("daemon: something runs on %s, but is not trusted: the kernel cannot say who it is", p.socket)
		f.fix = fmt.Sprintf("choose a socket of your own with %s or --socket", envvar.Socket)
	case errors.Is(err, broker.ErrPermissionDenied):
		f.v, f.what = vFail, "daemon: refused us: "+clean.Line(err.Error(), 300)
		f.fix = "use a daemon of your own: set " + envvar.Socket + " (or --socket) to a path in a private folder of yours"
	case notRunning(err):
		f.v, f.what = vInfo, "daemon: not running: "+clean.Line(err.Error(), 300)+"; git starts it when it needs it"
		switch {
		case !p.svc.known:
		case !p.svc.installed:
			f.fix = "to have it run from login on: codecommitd install"
		case p.svc.down == nil:
			f.fix = "the service is installed but not running: codecommitd start"
		default:
			f.what = fmt.Sprintf("daemon: not running: %s; the service is installed, but %v, so git starts it when it needs it", clean.Line(err.Error(), 300), p.svc.down)
		}
	default:
		// A socket path that cannot be one, or a daemon that failed the
		// call: the messages say what to do.
		f.v, f.what = vFail, "daemon: "+clean.Redact(clean.Line(err.Error(), 300))
	}
	return f
}

func pidNote(pid int) string {
	if pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (pid %d)", pid)
}

// checkSocket judges the socket file in a folder that is private: dir
// and sock are their modes, sockErr why the socket could not be stat'ed.
func checkSocket(path string, dir, sock os.FileMode, sockErr error) finding {
	f := finding{check: "socket"}
	switch {
	case sockErr != nil:
		f.v, f.what = vInfo, "socket: its folder is private; no socket yet at "+path+" (made when the daemon starts)"
	case runtime.GOOS != "windows" && sock.Perm()&0o077 != 0:
		f.v, f.what, f.fix = vWarn, fmt.Sprintf("socket: %s is mode %v (its folder still keeps others out)", path, sock), "codecommitd restart"
	default:
		f.v, f.what = vOK, fmt.Sprintf("socket: %s (folder %v, socket %v)", path, dir, sock)
	}
	return f
}

// statusChecks are the checks that read the daemon's status alone, run
// when it answers, in this order. (The git transport's check reads
// doctor's environment and git's version too: checkTransport.)
var statusChecks = []func(st *broker.Status, now time.Time) []finding{
	checkEnvironment,
	checkCache,
	checkSSOSessions,
}

// checkEnvironment shows what the daemon's own environment holds of the
// variables that change what it does (a service manager does not pass
// the shell's).
func checkEnvironment(st *broker.Status, _ time.Time) []finding {
	keys := make([]string, 0, len(st.Environment))
	for k := range st.Environment {
		if k != "PATH" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		// The daemon redacts already; a daemon of an older version may not.
		parts = append(parts, k+"="+clean.Quote(clean.EnvValue(k, st.Environment[k]), 200))
	}
	what := "daemon environment: " + strings.Join(parts, " ")
	if len(parts) == 0 {
		what = "daemon environment: no AWS endpoint, proxy or metadata settings"
	}
	return []finding{{check: "environment", v: vInfo, what: what}}
}

// profilesToCheck are the profiles doctor checks: every one the daemon
// says was used since (its record of use, and the profiles it keeps
// credentials for, failing ones too), then awsProfile (AWS_PROFILE) when
// set and not among them.
func profilesToCheck(st *broker.Status, since time.Time, awsProfile string) []string {
	var out []string
	add := func(p string) {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if st != nil {
		for _, r := range st.RecentProfiles {
			add(r.Profile)
		}
		for _, p := range st.Profiles {
			if !p.LastUsed.Before(since) {
				add(p.Profile)
			}
		}
	}
	add(awsProfile)
	return out
}

// noProfiles is the finding when there is no profile to check.
func noProfiles(daemonAnswered bool) finding {
	what := "profiles: none used in the last week, and AWS_PROFILE is not set; nothing to check"
	if !daemonAnswered {
		what = "profiles: only a daemon that answers knows which were used in the last week, and AWS_PROFILE is not set; nothing checked"
	}
	return finding{check: "profile", v: vInfo, what: what}
}

// profileCheck is one profile's outcome: the password SignURL gave (or
// its error), and the daemon's entry for the profile after it (nil when
// no daemon answered).
type profileCheck struct {
	name    string
	signed  *broker.SignedURL
	err     error
	entry   *broker.ProfileStatus
	timeout time.Duration
}

// checkProfile judges one profile: its credentials' expiry, as the daemon
// keeps them, and the lifetime of the password signed with them, each
// under its own name; MFA needed is fine (the next git command in a
// terminal asks); a profile without a region is fine where URLs name one.
func checkProfile(c profileCheck, now time.Time) finding {
	f := finding{check: "profile", subject: c.name}
	prefix := "profile " + c.name + ": "
	var be *broker.Error
	switch err := c.err; {
	case err == nil:
		f.v, f.what = vOK, prefix+credentialsNote(c.entry, now)+"; password lifetime "+short(c.signed.Expires.Sub(now))+"; region "+c.signed.Region
		if c.entry != nil && c.entry.LastError != "" {
			f.v = vWarn
			f.what += "; but refreshing them fails: " + strings.TrimPrefix(clean.Redact(clean.Line(c.entry.LastError, 400)), prefix)
		}
	case errors.Is(err, broker.ErrMFARequired) && errors.As(err, &be):
		f.v, f.what = vOK, prefix+"resolves; the next git command in a terminal asks for an MFA code ("+be.MFASerial+")"
	case errors.Is(err, broker.ErrRegionMissing):
		f.v, f.what = vInfo, fmt.Sprintf("%sno region of its own; fine when the URLs name one (codecommit::<region>://%s@<repository>)", prefix, c.name)
		f.fix = "to use it without one: add region = <your region> to the profile"
	case errors.Is(err, context.DeadlineExceeded):
		f.v, f.what = vFail, fmt.Sprintf("%sno credentials within %s (a credential_process or a source that does not answer?)", prefix, c.timeout)
		f.fix = "codecommitd status shows what the daemon is doing for it; its log says more"
	default:
		// The daemon's message names the profile, what failed and what
		// to do; it redacts already, a daemon of an older version may not.
		f.v, f.what = vFail, prefix+strings.TrimPrefix(clean.Redact(clean.Line(err.Error(), 400)), prefix)
	}
	return f
}

// credentialsNote says when the credentials behind a password expire, as
// the daemon keeps them (entry; nil without a daemon).
func credentialsNote(entry *broker.ProfileStatus, now time.Time) string {
	switch {
	case entry == nil:
		return "credentials good (their expiry is known only to a running daemon)"
	case entry.Expires.IsZero() && entry.Source != "":
		return "credentials do not expire (" + entry.Source + ")"
	case entry.Expires.IsZero():
		return "credentials do not expire"
	}
	return fmt.Sprintf("credentials good for %s, until %s", short(entry.Expires.Sub(now)), clock(entry.Expires, now))
}

// entryFor is the daemon's entry for profile that was used last, or nil.
// (doctor's own request is a probe, which leaves the last use alone: where
// a config edit left two entries of the profile, the one git used last is
// the one git uses.)
func entryFor(st *broker.Status, profile string) *broker.ProfileStatus {
	if st == nil {
		return nil
	}
	var best *broker.ProfileStatus
	for i, p := range st.Profiles {
		if p.Profile == profile && (best == nil || p.LastUsed.After(best.LastUsed)) {
			best = &st.Profiles[i]
		}
	}
	return best
}

// clockFinding judges skew, AWS's clock ahead of this one's, observed at
// at from source.
func clockFinding(skew time.Duration, at time.Time, source string) finding {
	f := finding{check: "clock"}
	if skew >= broker.MaxClockSkew || skew <= -broker.MaxClockSkew {
		f.v, f.what = vFail, "clock: "+awsprofile.SkewMessage(skew, at)
		return f
	}
	f.v, f.what = vOK, fmt.Sprintf("clock: within %s of AWS's (per %s)", max(skew, -skew).Round(time.Second)+time.Second, source)
	return f
}

// short is d for people: whole minutes from a minute on ("59m", "1h2m"),
// whole seconds below.
func short(d time.Duration) string {
	if d < time.Minute {
		return max(d, 0).Round(time.Second).String()
	}
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// clock is t as a time of day to the nearest minute, with its date when
// it is not today.
func clock(t, now time.Time) string {
	t, now = t.Round(time.Minute).Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("Jan 2 15:04")
}

// since is how long ago t was, to the second.
func since(now, t time.Time) string { return now.Sub(t).Round(time.Second).String() }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
