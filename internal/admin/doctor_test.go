//go:build unix

package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/peercred"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// Each check's table gives, per verdict it can reach, the exact text of
// what it found and of the fix.

type wantFinding struct {
	v         verdict
	what, fix string
}

func (w wantFinding) check(t *testing.T, got finding) {
	t.Helper()
	if got.v != w.v || got.what != w.what || got.fix != w.fix {
		t.Errorf("got  %s %q\n     fix %q\nwant %s %q\n     fix %q", got.v, got.what, got.fix, w.v, w.what, w.fix)
	}
}

func TestCheckGit(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  string
		err  error
		want wantFinding
	}{
		// 2.46's http.proactiveAuth is not used by the helpers: no
		// word of it.
		{"current", "git version 2.39.5\n", nil, wantFinding{vOK, "git version 2.39.5", ""}},
		{"with a vendor suffix", "git version 2.50.1 (Apple Git-155)\n", nil, wantFinding{vOK, "git version 2.50.1 (Apple Git-155)", ""}},
		{"too old", "git version 2.30.2\n", nil, wantFinding{vFail, "git version 2.30.2: older than 2.31, which cannot take the password without a command line",
			"upgrade git; or, knowing any local user can then read the password in ps, set CODECOMMITD_PASSWORD_IN_ARGV=1"}},
		{"unreadable", "hello\n", nil, wantFinding{vWarn, "git: cannot read its version from hello", "install git 2.31 or later, and check that git --version prints its version"}},
		{"missing", "", exec.ErrNotFound, wantFinding{vFail, "git: not found on PATH", "install git 2.31 or later"}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.want.check(t, checkGit(tc.out, tc.err)) })
	}
}

func TestCheckHelper(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	for _, tc := range []struct {
		name    string
		lookErr error
		out     string
		want    wantFinding
	}{
		{"ours", nil, "git-remote-codecommit 1.2.3\n", wantFinding{vOK, "git-remote-codecommit: /bin/git-remote-codecommit", ""}},
		{"another version", nil, "git-remote-codecommit 1.2.0\n", wantFinding{vWarn, "git-remote-codecommit: /bin/git-remote-codecommit is version 1.2.0, this codecommitd is 1.2.3",
			"reinstall both from one build (make install)"}},
		{"AWS's, printing a key", nil, "Traceback: key " + secret + "\nmore\n", wantFinding{vFail,
			`git-remote-codecommit: /bin/git-remote-codecommit is not codecommitd's (it says "Traceback: key [redacted]"); git would use it`,
			"remove it (pip uninstall git-remote-codecommit) or put codecommitd's bin folder first on PATH"}},
		{"not on PATH", exec.ErrNotFound, "", wantFinding{vFail, "git-remote-codecommit: not on PATH, so git cannot use codecommitd",
			"run `make install`, and put its bin folder (default ~/.local/bin) on PATH"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/bin/git-remote-codecommit"
			if tc.lookErr != nil {
				path = ""
			}
			tc.want.check(t, checkHelper("git-remote-codecommit", path, tc.lookErr, tc.out, "1.2.3"))
		})
	}
}

// daemonErrors returns the errors askStatus gives, made by the real client
// where no daemon is needed: no daemon in a private folder, and a socket in
// a folder open to others.
func daemonErrors(t *testing.T) (sock string, notRunningErr, untrusted error) {
	t.Helper()
	dir := testprobe.ShortDir(t)
	private, open := filepath.Join(dir, "private"), filepath.Join(dir, "open")
	for _, d := range []string{private, open} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, notRunningErr = askStatus(context.Background(), filepath.Join(private, "d.sock"))
	_, _, untrusted = askStatus(context.Background(), filepath.Join(open, "d.sock"))
	if !notRunning(notRunningErr) || !errors.Is(untrusted, broker.ErrUntrustedDaemon) {
		t.Fatalf("askStatus: %v; %v", notRunningErr, untrusted)
	}
	return filepath.Join(private, "d.sock"), notRunningErr, untrusted
}

func TestCheckDaemon(t *testing.T) {
	sock, down, untrusted := daemonErrors(t)
	openDir := filepath.Join(filepath.Dir(filepath.Dir(sock)), "open")
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	st := &broker.Status{PID: 42, Version: "1.2.3", StartedAt: now.Add(-90 * time.Second)}
	stuck := &client.StuckError{Socket: sock, PID: 42}
	other := &broker.Error{Kind: broker.ErrUnavailable, Msg: "codecommitd does not trust what listens on " + sock,
		Err: fmt.Errorf("%w: %w", broker.ErrUntrustedDaemon, &peercred.OtherUserError{Self: peercred.Self{UID: 0}, Peer: peercred.Peer{UID: 65534, PID: 77}})}
	refused := &broker.Error{Kind: broker.ErrPermissionDenied, Msg: "codecommitd serves only its own user (uid 65534); you are uid 0"}
	notRunningLine := "daemon: not running: no daemon answers on " + sock + " (the daemon is not running); git starts it when it needs it"
	trustFix := "choose a path in a private folder of your own with CODECOMMITD_SOCKET or --socket (for example: mkdir -m 700 ~/.codecommitd)"
	for _, tc := range []struct {
		name string
		p    daemonProbe
		want wantFinding
	}{
		{"answers", daemonProbe{st: st, who: "started on demand"},
			wantFinding{vOK, "daemon: pid 42, started on demand, up 1m30s, on " + sock, ""}},
		{"another version", daemonProbe{st: &broker.Status{PID: 42, Version: "1.1.0", StartedAt: now}},
			wantFinding{vWarn, "daemon: pid 42 runs version 1.1.0, this codecommitd is 1.2.3", "codecommitd restart (or codecommitd stop; git starts the new one)"}},
		{"not running, no service", daemonProbe{err: down, svc: serviceState{known: true}},
			wantFinding{vInfo, notRunningLine, "to have it run from login on: codecommitd install"}},
		{"not running, service installed", daemonProbe{err: down, svc: serviceState{known: true, installed: true}},
			wantFinding{vInfo, notRunningLine, "the service is installed but not running: codecommitd start"}},
		{"not running, service installed, no systemd", daemonProbe{err: down, svc: serviceState{known: true, installed: true, down: errNoSystemd}},
			wantFinding{vInfo, "daemon: not running: no daemon answers on " + sock + " (the daemon is not running); the service is installed, but systemd does not run for this user here (fake), so git starts it when it needs it", ""}},
		{"not running, service unknown", daemonProbe{err: down}, wantFinding{vInfo, notRunningLine, ""}},
		{"stuck", daemonProbe{err: fmt.Errorf("%w; %s", stuck, stuck.Fix())},
			wantFinding{vFail, "daemon: the daemon on " + sock + " (pid 42) does not answer (stopped or stuck)", "kill -CONT 42 if you stopped it, else codecommitd restart (or kill 42)"}},
		{"running, folder open", daemonProbe{err: untrusted, listening: true, pid: 42},
			wantFinding{vFail, "daemon: runs (pid 42) on " + sock + ", but is not trusted: its folder " + openDir + " is open to other users (mode drwxr-xr-x), so neither git's helpers nor codecommitd send it anything", trustFix}},
		{"not running, folder open", daemonProbe{err: untrusted},
			wantFinding{vFail, "daemon: not running, and none can be trusted on " + sock + ": its folder " + openDir + " is open to other users (mode drwxr-xr-x), so git's helpers resolve every request in a process of their own", trustFix}},
		{"another user's", daemonProbe{err: other},
			wantFinding{vFail, "daemon: something runs on " + sock + ", but is not trusted: the other end runs as uid 65534 (pid 77), not as this user (uid 0)", "stop it (kill 77) if it is yours, or choose a socket of your own with CODECOMMITD_SOCKET or --socket"}},
		{"refused us", daemonProbe{err: refused},
			wantFinding{vFail, "daemon: refused us: codecommitd serves only its own user (uid 65534); you are uid 0", "use a daemon of your own: set CODECOMMITD_SOCKET (or --socket) to a path in a private folder of yours"}},
		{"no socket path", daemonProbe{err: errors.New("socket path /x is 200 bytes long; the limit here is 107")},
			wantFinding{vFail, "daemon: socket path /x is 200 bytes long; the limit here is 107", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.socket, tc.p.version, tc.p.now = sock, "1.2.3", now
			if tc.name == "running, folder open" || tc.name == "not running, folder open" {
				tc.p.socket = filepath.Join(openDir, "d.sock")
				tc.want.what = strings.ReplaceAll(tc.want.what, sock, tc.p.socket)
			}
			tc.want.check(t, checkDaemon(tc.p))
		})
	}
}

func TestCheckSocket(t *testing.T) {
	const sock = "/run/user/1/codecommitd/codecommitd.sock"
	dir := os.ModeDir | 0o700
	for _, tc := range []struct {
		name string
		mode os.FileMode
		err  error
		want wantFinding
	}{
		{"private", os.ModeSocket | 0o600, nil, wantFinding{vOK, "socket: " + sock + " (folder drwx------, socket Srw-------)", ""}},
		{"open", os.ModeSocket | 0o666, nil, wantFinding{vWarn, "socket: " + sock + " is mode Srw-rw-rw- (its folder still keeps others out)", "codecommitd restart"}},
		{"none yet", 0, os.ErrNotExist, wantFinding{vInfo, "socket: its folder is private; no socket yet at " + sock + " (made when the daemon starts)", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.want.check(t, checkSocket(sock, dir, tc.mode, tc.err)) })
	}
}

func TestProfilesToCheck(t *testing.T) {
	now := time.Now()
	week := now.Add(-7 * 24 * time.Hour)
	st := &broker.Status{
		RecentProfiles: []broker.RecentProfile{{Profile: "dev", LastUsed: now}, {Profile: "ops", LastUsed: now.Add(-time.Hour)}},
		Profiles: []broker.ProfileStatus{
			{Profile: "dev", LastUsed: now},
			// Used today and failing: never recorded as used.
			{Profile: "broken", LastUsed: now.Add(-time.Minute), LastError: "profile broken: AWS STS denied the request"},
			{Profile: "stale", LastUsed: week.Add(-time.Hour)},
		},
	}
	for _, tc := range []struct {
		name       string
		st         *broker.Status
		awsProfile string
		want       []string
	}{
		{"every one used in the week", st, "", []string{"dev", "ops", "broken"}},
		{"and AWS_PROFILE", st, "sandbox", []string{"dev", "ops", "broken", "sandbox"}},
		{"AWS_PROFILE among them", st, "ops", []string{"dev", "ops", "broken"}},
		{"no daemon", nil, "sandbox", []string{"sandbox"}},
		{"nothing", nil, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := profilesToCheck(tc.st, week, tc.awsProfile); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	wantFinding{vInfo, "profiles: none used in the last week, and AWS_PROFILE is not set; nothing to check", ""}.check(t, noProfiles(true))
	wantFinding{vInfo, "profiles: only a daemon that answers knows which were used in the last week, and AWS_PROFILE is not set; nothing checked", ""}.check(t, noProfiles(false))
}

func TestCheckProfile(t *testing.T) {
	now := time.Date(2025, 6, 1, 19, 31, 0, 0, time.Local)
	signed := &broker.SignedURL{Expires: now.Add(15 * time.Minute), Region: "eu-west-1"}
	role := &broker.ProfileStatus{Profile: "dev", Source: "role arn:aws:iam::1:role/Dev ← static keys", Expires: now.Add(59*time.Minute + 40*time.Second)}
	for _, tc := range []struct {
		name string
		c    profileCheck
		want wantFinding
	}{
		// The credentials' expiry and the password's lifetime, each
		// under its own name.
		{"role", profileCheck{signed: signed, entry: role},
			wantFinding{vOK, "profile dev: credentials good for 1h, until 20:31; password lifetime 15m; region eu-west-1", ""}},
		{"tomorrow", profileCheck{signed: signed, entry: &broker.ProfileStatus{Expires: now.Add(11*time.Hour + 2*time.Minute)}},
			wantFinding{vOK, "profile dev: credentials good for 11h2m, until Jun 2 06:33; password lifetime 15m; region eu-west-1", ""}},
		{"static keys", profileCheck{signed: signed, entry: &broker.ProfileStatus{Source: "static keys"}},
			wantFinding{vOK, "profile dev: credentials do not expire (static keys); password lifetime 15m; region eu-west-1", ""}},
		{"credentials end first", profileCheck{signed: &broker.SignedURL{Expires: now.Add(4*time.Minute + 10*time.Second), Region: "eu-west-1"}, entry: &broker.ProfileStatus{Expires: now.Add(4*time.Minute + 10*time.Second)}},
			wantFinding{vOK, "profile dev: credentials good for 4m, until 19:35; password lifetime 4m; region eu-west-1", ""}},
		{"no daemon", profileCheck{signed: signed},
			wantFinding{vOK, "profile dev: credentials good (their expiry is known only to a running daemon); password lifetime 15m; region eu-west-1", ""}},
		{"refresh failing", profileCheck{signed: signed, entry: &broker.ProfileStatus{Expires: now.Add(3 * time.Minute), LastError: "profile dev: AWS STS failed (HTTP 503); codecommitd tries again by itself"}},
			wantFinding{vWarn, "profile dev: credentials good for 3m, until 19:34; password lifetime 15m; region eu-west-1; but refreshing them fails: AWS STS failed (HTTP 503); codecommitd tries again by itself", ""}},
		{"needs MFA", profileCheck{err: &broker.Error{Kind: broker.ErrMFARequired, MFASerial: "arn:aws:iam::1:mfa/me", Msg: "profile dev needs an MFA code"}},
			wantFinding{vOK, "profile dev: resolves; the next git command in a terminal asks for an MFA code (arn:aws:iam::1:mfa/me)", ""}},
		{"no region", profileCheck{err: broker.Errorf(broker.ErrRegionMissing, "dev", "no region for profile dev")},
			wantFinding{vInfo, "profile dev: no region of its own; fine when the URLs name one (codecommit::<region>://dev@<repository>)", "to use it without one: add region = <your region> to the profile"}},
		{"no answer", profileCheck{err: context.DeadlineExceeded, timeout: 30 * time.Second},
			wantFinding{vFail, "profile dev: no credentials within 30s (a credential_process or a source that does not answer?)", "codecommitd status shows what the daemon is doing for it; its log says more"}},
		{"failing", profileCheck{err: broker.Errorf(broker.ErrAccessDenied, "dev", "profile dev: AWS STS denied the request (AccessDenied)\n; check the role's trust policy and the profile's role_arn")},
			wantFinding{vFail, "profile dev: AWS STS denied the request (AccessDenied) ; check the role's trust policy and the profile's role_arn", ""}},
		{"failing, not naming it", profileCheck{err: broker.Errorf(broker.ErrSSOExpired, "dev", "the SSO session of profile dev has expired; run aws sso login --profile dev")},
			wantFinding{vFail, "profile dev: the SSO session of profile dev has expired; run aws sso login --profile dev", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.name = "dev"
			tc.want.check(t, checkProfile(tc.c, now))
		})
	}
}

func TestEntryForIsTheLastUsed(t *testing.T) {
	now := time.Now()
	st := &broker.Status{Profiles: []broker.ProfileStatus{
		{Profile: "dev", ConfigKey: "old", LastUsed: now.Add(-time.Hour)},
		{Profile: "ops", ConfigKey: "ops", LastUsed: now},
		{Profile: "dev", ConfigKey: "new", LastUsed: now},
	}}
	if e := entryFor(st, "dev"); e == nil || e.ConfigKey != "new" {
		t.Errorf("entryFor(dev) = %+v, want the entry used last", e)
	}
	if e := entryFor(st, "gone"); e != nil {
		t.Errorf("entryFor(gone) = %+v", e)
	}
	if e := entryFor(nil, "dev"); e != nil {
		t.Errorf("entryFor without a status = %+v", e)
	}
}

func TestClockFinding(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	wantFinding{vOK, "clock: within 3s of AWS's (per the daemon's last AWS call)", ""}.check(t, clockFinding(-2*time.Second, at, "the daemon's last AWS call"))
	wantFinding{vFail, "clock: this machine's clock is 7m0s behind AWS's (AWS said 2025-06-01T12:07:00Z when the local clock said 2025-06-01T12:00:00Z); AWS refuses signatures more than 5 minutes off: fix the clock (NTP; on WSL after sleep: `sudo hwclock -s`)", ""}.
		check(t, clockFinding(7*time.Minute, at, "x"))
}

func TestCheckEnvironment(t *testing.T) {
	// A daemon of an older version that does not redact.
	st := &broker.Status{Environment: map[string]string{"HTTPS_PROXY": "http://bob:Pa55word@proxy:3128", "PATH": "/bin", "AWS_REGION": "eu-west-1"}}
	wantFinding{vInfo, "daemon environment: AWS_REGION=eu-west-1 HTTPS_PROXY=http://[redacted]@proxy:3128", ""}.check(t, checkEnvironment(st, time.Now())[0])
	wantFinding{vInfo, "daemon environment: no AWS endpoint, proxy or metadata settings", ""}.check(t, checkEnvironment(&broker.Status{}, time.Now())[0])
}

// TestDoctorExitStatus: non-zero exactly when a finding is a fail, whatever
// else there is.
func TestDoctorExitStatus(t *testing.T) {
	for _, tc := range []struct {
		verdicts []verdict
		fails    bool
	}{
		{nil, false},
		{[]verdict{vOK}, false},
		{[]verdict{vOK, vInfo, vWarn, vWarn}, false},
		{[]verdict{vOK, vFail}, true},
		{[]verdict{vInfo, vWarn, vFail, vOK}, true},
	} {
		var fs []finding
		for _, v := range tc.verdicts {
			fs = append(fs, finding{v: v})
		}
		if got := anyFailed(fs); got != tc.fails {
			t.Errorf("anyFailed(%v) = %v, want %v", tc.verdicts, got, tc.fails)
		}
		var out bytes.Buffer
		if err := writeFindingsJSON(&out, fs, func(s string) string { return s }); err != nil {
			t.Fatal(err)
		}
		var got struct{ OK bool }
		if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.OK == tc.fails {
			t.Errorf("JSON for %v: ok = %v (%v), want %v", tc.verdicts, got.OK, err, !tc.fails)
		}
	}
}

// TestDoctorReportShapeAndRedaction renders findings that carry, as they
// can, a proxy password (from an older daemon), a secret key (printed by
// a helper that is not ours) and the session token and password of
// doctor's own request: neither the text nor the JSON shows any of them,
// and the JSON has exactly the documented fields.
func TestDoctorReportShapeAndRedaction(t *testing.T) {
	const (
		proxyPassword = "Pr0xyPa55"
		secretKey     = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		sessionToken  = "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJHMEUCIQ"
		password      = "20250601T120000Z1a2b3c4d5e6f"
	)
	d := &doctor{secrets: []string{password, sessionToken}}
	findings := []finding{
		checkHelper("git-remote-codecommit", "/bin/git-remote-codecommit", nil, "oops "+secretKey, "1.2.3"),
		checkEnvironment(&broker.Status{Environment: map[string]string{"HTTPS_PROXY": "user:" + proxyPassword + "@proxy:3128"}}, time.Now())[0],
		// A message that echoes what the request carried.
		{check: "profile", subject: "dev", v: vFail, what: "profile dev: rejected " + sessionToken + " and " + password, fix: "not " + password},
	}
	var text, js bytes.Buffer
	for _, f := range findings {
		writeFindingText(&text, f, d.show)
	}
	if err := writeFindingsJSON(&js, findings, d.show); err != nil {
		t.Fatal(err)
	}
	for what, out := range map[string]string{"text": text.String(), "JSON": js.String()} {
		for _, secret := range []string{proxyPassword, secretKey, sessionToken, password} {
			if strings.Contains(out, secret) {
				t.Errorf("the %s report shows %q:\n%s", what, secret, out)
			}
		}
	}
	wantText := `FAIL  git-remote-codecommit: /bin/git-remote-codecommit is not codecommitd's (it says "oops [redacted]"); git would use it
      fix: remove it (pip uninstall git-remote-codecommit) or put codecommitd's bin folder first on PATH
info  daemon environment: HTTPS_PROXY=[redacted]@proxy:3128
FAIL  profile dev: rejected [redacted] and [redacted]
      fix: not [redacted]
`
	if text.String() != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), wantText)
	}
	var got map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ok": false, "findings": []any{
		map[string]any{"check": "helper", "subject": "git-remote-codecommit", "verdict": "fail",
			"message": `git-remote-codecommit: /bin/git-remote-codecommit is not codecommitd's (it says "oops [redacted]"); git would use it`,
			"fix":     "remove it (pip uninstall git-remote-codecommit) or put codecommitd's bin folder first on PATH"},
		map[string]any{"check": "environment", "verdict": "info", "message": "daemon environment: HTTPS_PROXY=[redacted]@proxy:3128"},
		map[string]any{"check": "profile", "subject": "dev", "verdict": "fail", "message": "profile dev: rejected [redacted] and [redacted]", "fix": "not [redacted]"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JSON:\n%s\nwant %v", js.String(), want)
	}
}

// TestDoctorClock: the daemon's recent observation when there is one, else
// STS's Date header, in doctor's own environment.
func TestDoctorClock(t *testing.T) {
	behind := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", time.Now().Add(-10*time.Minute).UTC().Format(http.TimeFormat))
	}))
	defer behind.Close()
	refusing := "http://" + testprobe.RefusingAddr(t)
	recent := &broker.Status{ClockSkew: time.Second, ClockSkewAt: time.Now().Add(-time.Minute)}
	for _, tc := range []struct {
		name     string
		st       *broker.Status
		endpoint string
		want     string
		v        verdict
	}{
		{"the daemon's", recent, refusing, "clock: within 2s of AWS's (per the daemon's last AWS call)", vOK},
		{"STS's Date", nil, behind.URL, "clock: this machine's clock is 10m", vFail},
		{"no network", nil, refusing, "clock: not checked: " + strings.TrimPrefix(refusing, "http://") + " refused the connection", vInfo},
		{"not a URL", nil, "http://user:Pa55word@host:bad port/", `clock: not checked: AWS_ENDPOINT_URL_STS, "http://[redacted]@host:bad port/", is not a URL`, vWarn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &doctor{getenv: func(k string) string {
				if k == "AWS_ENDPOINT_URL_STS" {
					return tc.endpoint
				}
				return ""
			}}
			f := d.clock(context.Background(), tc.st)
			if f.v != tc.v || !strings.HasPrefix(f.what, tc.want) {
				t.Errorf("got %s %q, want %s %q…", f.v, f.what, tc.v, tc.want)
			}
		})
	}
}
