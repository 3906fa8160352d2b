//go:build unix

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// doctorEnv is a world with three profiles: dev (static keys), role
// (assumed from dev's keys) and ops, whose role does not exist, so every
// request for it fails.
func doctorEnv(t *testing.T) *testenv.Env {
	t.Helper()
	e := newEnv(t)
	u := e.STS.AddUser("alice")
	role := e.STS.AddRole(fakests.Role{ARN: "Dev"})
	if err := e.WriteAWS("[profile dev]\nregion = us-east-1\n"+
		"[profile role]\nrole_arn = "+role+"\nsource_profile = dev\nregion = us-east-1\n"+
		"[profile ops]\nrole_arn = "+role+"-gone\nsource_profile = dev\nregion = us-east-1\n",
		"[dev]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx(t), "app"); err != nil {
		t.Fatal(err)
	}
	return e
}

// doctor runs codecommitd doctor (with args) and returns what it printed
// and its exit status.
func doctor(t *testing.T, e *testenv.Env, args ...string) (string, int) {
	t.Helper()
	out, stderr, err := e.Run(ctx(t), "", "codecommitd", append([]string{"doctor"}, args...)...)
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if stderr != "" {
		t.Errorf("doctor wrote to stderr: %s", stderr)
	}
	return out, code
}

func hasLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !regexp.MustCompile(`(?m)^` + w + `$`).MatchString(out) {
			t.Errorf("doctor's output lacks a line matching %s:\n%s", w, out)
		}
	}
}

// TestDoctorChecksEveryProfileUsedThisWeek: two profiles that work and one
// used today that fails (so never recorded as used): doctor names it, exits
// non-zero, and gives each working profile its credentials' expiry and its
// password's lifetime under their own names.
func TestDoctorChecksEveryProfileUsedThisWeek(t *testing.T) {
	e := doctorEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@app")
	git(t, e, "", "ls-remote", "codecommit://role@app")
	gitFails(t, e, "", "ls-remote", "codecommit://ops@app")
	before := requests(t, e)

	out, code := doctor(t, e)
	if code != 1 {
		t.Errorf("doctor exited %d with a failing profile, want 1:\n%s", code, out)
	}
	q := regexp.QuoteMeta
	hasLines(t, out,
		`ok    git version \d+\.\d+\.\d+.*`,
		`ok    git-remote-codecommit: `+q(filepath.Join(bin, "git-remote-codecommit")),
		`ok    git-credential-codecommit: `+q(filepath.Join(bin, "git-credential-codecommit")),
		`ok    daemon: pid \d+, started by hand with codecommitd run, up \d+s, on `+q(e.Socket),
		`ok    socket: `+q(e.Socket)+` \(folder drwx------, socket Srw-------\)`,
		`info  daemon environment: .* AWS_ENDPOINT_URL_STS=`+q(e.STS.URL)+` .*`,
		`ok    cache: \S+ \(key from .+\)`,
		`ok    git transport: http://127\.0\.0\.1:\d+, 0 git operation\(s\) under way, 1 upstream connection\(s\) \(\S+ to `+
			q(e.GitHost())+`, idle \d+s\)`,
		`ok    profile dev: credentials do not expire \(static keys\); password lifetime 15m; region us-east-1`,
		`ok    profile role: credentials good for 1h, until \d\d:\d\d; password lifetime 15m; region us-east-1`,
		`FAIL  profile ops: AWS STS denied the request \(AccessDenied\): .*role/Dev-gone; check the role's trust policy and the profile's role_arn`,
		`ok    clock: within \ds of AWS's \(per the daemon's last AWS call\)`,
	)
	if strings.Contains(out, "proactiveAuth") {
		t.Errorf("doctor speaks of http.proactiveAuth, which the helpers do not use:\n%s", out)
	}

	js, code := doctor(t, e, "--json")
	var report struct {
		OK       bool
		Findings []struct{ Check, Subject, Verdict, Message, Fix string }
	}
	if err := json.Unmarshal([]byte(js), &report); err != nil || code != 1 || report.OK {
		t.Fatalf("doctor --json: exit %d, %v:\n%s", code, err, js)
	}
	verdicts := map[string]string{}
	for _, f := range report.Findings {
		if f.Check == "profile" {
			verdicts[f.Subject] = f.Verdict
		}
	}
	if want := map[string]string{"dev": "ok", "role": "ok", "ops": "fail"}; !maps.Equal(verdicts, want) {
		t.Errorf("doctor --json's profiles: %v, want %v", verdicts, want)
	}

	// doctor's own requests are probes: no use of any profile.
	if after := requests(t, e); !maps.Equal(after, before) {
		t.Errorf("requests per profile: %v before doctor, %v after; doctor's probes counted", before, after)
	}

	// Mended, doctor exits 0.
	cfg, _ := os.ReadFile(filepath.Join(e.Home, ".aws", "config"))
	if err := os.WriteFile(filepath.Join(e.Home, ".aws", "config"), []byte(strings.Replace(string(cfg), "role/Dev-gone", "role/Dev", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := doctor(t, e); code != 0 {
		t.Errorf("doctor exited %d with every profile mended:\n%s", code, out)
	}
}

// TestDoctorTellsUntrustedFromNotRunning: a daemon whose socket folder is
// opened to others while it runs is "not trusted, and why", with its pid,
// not "not running"; with no daemon at all, doctor says git starts it,
// and exits 0.
func TestDoctorTellsUntrustedFromNotRunning(t *testing.T) {
	e := doctorEnv(t)
	e.Extra = []string{"AWS_PROFILE=dev"}
	out, code := doctor(t, e)
	if code != 0 {
		t.Errorf("doctor exited %d with no daemon and a working profile:\n%s", code, out)
	}
	q := regexp.QuoteMeta
	hasLines(t, out,
		`info  daemon: not running: no daemon answers on `+q(e.Socket)+` \(the daemon is not running\); git starts it when it needs it`,
		`      fix: to have it run from login on: codecommitd install`,
		`info  socket: its folder is private; no socket yet at `+q(e.Socket)+` \(made when the daemon starts\)`,
		`ok    profile dev: credentials good \(their expiry is known only to a running daemon\); password lifetime 15m; region us-east-1`,
	)

	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(e.Socket)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) }) // before the world stops its daemon
	out, code = doctor(t, e)
	if code != 1 {
		t.Errorf("doctor exited %d with the socket's folder open, want 1:\n%s", code, out)
	}
	hasLines(t, out,
		`FAIL  daemon: runs \(pid `+strconv.Itoa(e.DaemonPID())+`\) on `+q(e.Socket)+`, but is not trusted: its folder `+q(dir)+
			` is open to other users \(mode drwxr-xr-x\), so neither git's helpers nor codecommitd send it anything`,
		`      fix: choose a path in a private folder of your own with CODECOMMITD_SOCKET or --socket \(for example: mkdir -m 700 ~/.codecommitd\)`,
	)
	if strings.Contains(out, "not running") {
		t.Errorf("doctor says the running daemon is not running:\n%s", out)
	}
}

// requests is how many requests the daemon counts per profile, and when
// each was last used.
func requests(t *testing.T, e *testenv.Env) map[string]string {
	t.Helper()
	out, _, err := e.Run(ctx(t), "", "codecommitd", "status", "--json")
	var st struct {
		Profiles []struct {
			Profile  string
			LastUsed string `json:"last_used"`
			Requests int64
		}
	}
	if err != nil || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	m := map[string]string{}
	for _, p := range st.Profiles {
		m[p.Profile] = fmt.Sprintf("%d requests, last used %s", p.Requests, p.LastUsed)
	}
	return m
}

// TestDoctorChecksSSOSessions: a session signed in and used is ok, with
// its token's lifetime and renewal; once its token file is gone (and the
// daemon has read that), it is FAIL naming the command that signs it in,
// and doctor exits 1.
func TestDoctorChecksSSOSessions(t *testing.T) {
	e := ssoEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	login := e.Command(ctx(t), "", "codecommitd", "login", "--sso-session", "corp", "--use-device-code")
	screen := &screen{fake: e.STS}
	login.Stdout, login.Stderr = screen, screen
	if err := login.Run(); err != nil {
		t.Fatalf("login: %v\n%s", err, screen)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")

	out, code := doctor(t, e)
	if code != 0 {
		t.Errorf("doctor exited %d with the session signed in:\n%s", code, out)
	}
	hasLines(t, out,
		`ok    sso-session corp: signed in; token good for \S+ \(renewed by the daemon, next at \d\d:\d\d\), session ends .+`,
		`ok    profile dev: credentials good for .*`,
		`ok    git transport: http://127\.0\.0\.1:\d+, .*`,
	)

	if err := os.Remove(tokenFile(e, "corp")); err != nil {
		t.Fatal(err)
	}
	// As codecommitd login and logout do: the daemon reads the file now.
	a := &client.Auto{Socket: e.Socket}
	defer a.Close()
	if err := a.SSOSessionChanged(ctx(t), broker.SSOSession{Name: "corp"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		st, _, _ := e.Run(ctx(t), "", "codecommitd", "status", "--json")
		if strings.Contains(st, `"last_error": "`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon never saw the token file go:\n%s", st)
		}
		time.Sleep(50 * time.Millisecond) // polling, with a deadline
	}
	out, code = doctor(t, e)
	if code != 1 {
		t.Errorf("doctor exited %d with the session's token file gone, want 1:\n%s", code, out)
	}
	hasLines(t, out, `FAIL  sso-session corp: .*not signed in.*`+regexp.QuoteMeta("codecommitd login --sso-session corp")+`.*`)
}
