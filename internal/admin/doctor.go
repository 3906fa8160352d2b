package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/gitversion"
	"github.com/codecommitd/codecommitd/internal/localbroker"
	"github.com/codecommitd/codecommitd/internal/peercred"
	"github.com/codecommitd/codecommitd/internal/privdir"
	"github.com/codecommitd/codecommitd/internal/svcmgr"
	"github.com/codecommitd/codecommitd/internal/version"
)

// How doctor checks profiles: this many at once, each for at most this
// long.
const (
	doctorParallel       = 4
	doctorProfileTimeout = 30 * time.Second
)

func newDoctorCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check git, the helpers, the daemon, its socket, cache, SSO sessions and git transport, recently used profiles and the clock",
		Long: `doctor checks everything codecommitd depends on and prints one line per finding,
with what to do when something is wrong: the git version, the helpers on PATH,
whether the daemon runs, answers and can be trusted, its socket, what the
daemon's own environment holds, its credential cache, the IAM Identity
Center sessions it keeps signed in, whether git's traffic goes through its
git transport, every profile used in the last week (and AWS_PROFILE), each
with its credentials' expiry and its password's lifetime, and whether this
machine's clock agrees with AWS's. It never prompts: a profile that needs
an MFA code is fine. Its own requests are probes: they count as no use of
a profile.

Each line starts with its verdict: ok; info (a fact, such as a daemon that is
not running: git starts it); warn (works, but look at it); FAIL (you must act:
git fails, or asks for what it should not). doctor exits with status 1 exactly
when a line is FAIL, else 0. --json prints {"ok": …, "findings": [{"check",
"subject", "verdict", "message", "fix"}]} with the same redaction as the text.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := &doctor{socket: g.socketPath(), manager: g.manager, getenv: os.Getenv,
				parallel: doctorParallel, timeout: doctorProfileTimeout}
			out := cmd.OutOrStdout()
			var progress func(finding)
			if !asJSON {
				progress = func(f finding) { writeFindingText(out, f, d.show) }
			}
			findings := d.run(cmd.Context(), progress)
			if asJSON {
				if err := writeFindingsJSON(out, findings, d.show); err != nil {
					return err
				}
			}
			if anyFailed(findings) {
				return errSilent
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print JSON: {"ok": …, "findings": [{"check", "subject", "verdict", "message", "fix"}]}`)
	return cmd
}

// anyFailed reports whether a user must act on one of findings: doctor's
// exit status.
func anyFailed(findings []finding) bool {
	for _, f := range findings {
		if f.v == vFail {
			return true
		}
	}
	return false
}

// doctor gathers what the checks judge.
type doctor struct {
	socket  string
	manager func(svcmgr.Config) svcmgr.Manager
	getenv  func(string) string
	// parallel bounds the profiles checked at once; timeout each one.
	parallel int
	timeout  time.Duration

	mu sync.Mutex
	// secrets are what doctor's own requests brought back (passwords,
	// session tokens): show removes them from whatever it prints.
	secrets []string
}

// show is every string doctor prints, text or JSON: on one line, and
// without any credential doctor's own requests brought back. (What other
// programs wrote, the checks pass through clean.Redact or clean.EnvValue
// themselves: over a whole line, Redact would take names and paths for
// secrets.)
func (d *doctor) show(s string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	s = clean.Line(s, 2000)
	for _, k := range d.secrets {
		if len(k) >= 8 {
			s = strings.ReplaceAll(s, k, clean.Redacted)
		}
	}
	return s
}

// run runs every check, in order, passing each finding to progress (if
// set) as it is made, and returns them all.
func (d *doctor) run(ctx context.Context, progress func(finding)) []finding {
	var all []finding
	emit := func(fs ...finding) {
		for _, f := range fs {
			all = append(all, f)
			if progress != nil {
				progress(f)
			}
		}
	}
	out, err := exec.CommandContext(ctx, "git", "--version").Output()
	emit(checkGit(string(out), err))
	gitVersion, verr := gitversion.Parse(string(out))
	for _, name := range []string{"git-remote-codecommit", "git-credential-codecommit"} {
		emit(d.helper(ctx, name))
	}
	st, daemonErr := d.daemon(ctx, emit)
	if st != nil {
		for _, check := range statusChecks {
			emit(check(st, time.Now())...)
		}
	}
	emit(checkTransport(transportProbe{st: st, daemonErr: daemonErr, getenv: d.getenv,
		gitOld: err == nil && verr == nil && !gitVersion.AtLeast(gitversion.ConfigEnv), now: time.Now()}))
	emit(d.profiles(ctx, st)...)
	emit(d.clock(ctx, st))
	return all
}

func (d *doctor) helper(ctx context.Context, name string) finding {
	path, err := exec.LookPath(name)
	var out []byte
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, statusTimeout)
		out, _ = exec.CommandContext(ctx, path, "--version").CombinedOutput()
		cancel()
	}
	return checkHelper(name, path, err, string(out), version.Version)
}

// daemon checks the daemon and its socket, and returns its status when it
// answers, else why it could not be asked.
func (d *doctor) daemon(ctx context.Context, emit func(...finding)) (*broker.Status, error) {
	st, _, err := askStatus(ctx, d.socket)
	p := daemonProbe{socket: d.socket, st: st, err: err, version: version.Version, now: time.Now()}
	var m svcmgr.Manager
	if c, cerr := serviceConfig(); cerr == nil {
		m = d.manager(c)
		p.svc.known, p.svc.installed = true, m.Installed()
		if p.svc.installed {
			p.svc.down = m.Answers()
		}
	}
	switch {
	case st != nil && m != nil:
		p.who = (&services{m: m}).who(st)
	case st != nil && st.OnDemand:
		p.who = "started on demand"
	case st != nil:
		p.who = "not started on demand"
	case errors.Is(err, broker.ErrUntrustedDaemon):
		p.listening, p.pid = listener(d.socket)
	}
	emit(checkDaemon(p))
	dir := filepath.Dir(d.socket)
	if privdir.Check(dir) == nil {
		di, _ := os.Stat(dir)
		var mode os.FileMode
		si, serr := os.Stat(d.socket)
		if serr == nil {
			mode = si.Mode()
		}
		emit(checkSocket(d.socket, di.Mode(), mode, serr))
	}
	return st, err
}

// listener reports whether something listens on socket, and its pid as
// the kernel says (0 when it does not). It connects and sends nothing:
// what listens there is not trusted.
func listener(socket string) (bool, int) {
	conn, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return false, 0
	}
	defer conn.Close()
	if uc, ok := conn.(syscall.Conn); ok {
		if p, err := peercred.Of(uc); err == nil {
			return true, p.PID
		}
	}
	return true, 0
}

// profiles asks for a password for every profile to check (profilesToCheck),
// parallel at most d.parallel at a time, each for at most d.timeout, without
// ever prompting, through the daemon (or, where it cannot be used, a
// one-shot child, as git would). Then it reads the daemon's entries, for
// the credentials' expiry.
func (d *doctor) profiles(ctx context.Context, st *broker.Status) []finding {
	names := profilesToCheck(st, time.Now().Add(-localbroker.RecentWindow), d.getenv("AWS_PROFILE"))
	if len(names) == 0 {
		return []finding{noProfiles(st != nil)}
	}
	env := broker.Environ(os.LookupEnv)
	checks := make([]profileCheck, len(names))
	var g errgroup.Group
	g.SetLimit(d.parallel)
	for i, name := range names {
		g.Go(func() error {
			pctx, cancel := context.WithTimeout(ctx, d.timeout)
			defer cancel()
			a := &client.Auto{Socket: d.socket, Stderr: io.Discard}
			defer a.Close()
			s, err := a.SignURL(pctx, &broker.SignRequest{
				Profile: name, Repository: "doctor-check", Env: env, Prompt: broker.PromptUnavailable, Client: "codecommitd doctor", Probe: true,
			})
			if err != nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
				err = context.DeadlineExceeded
			}
			if s != nil {
				d.mu.Lock()
				_, token, _ := strings.Cut(s.Username, "%")
				d.secrets = append(d.secrets, s.Password, token)
				d.mu.Unlock()
			}
			checks[i] = profileCheck{name: name, signed: s, err: err, timeout: d.timeout}
			return nil
		})
	}
	g.Wait() //nolint:errcheck // every outcome is in checks
	var after *broker.Status
	if st != nil {
		after, _ = daemonStatus(ctx, d.socket)
	}
	out := make([]finding, len(checks))
	now := time.Now()
	for i, c := range checks {
		c.entry = entryFor(after, c.name)
		out[i] = checkProfile(c, now)
	}
	return out
}

// clock compares this machine's clock with AWS's: the daemon's last
// observation, else the Date header of an unauthenticated request to STS.
func (d *doctor) clock(ctx context.Context, st *broker.Status) finding {
	if st != nil && !st.ClockSkewAt.IsZero() && time.Since(st.ClockSkewAt) < time.Hour {
		return clockFinding(st.ClockSkew, st.ClockSkewAt, "the daemon's last AWS call")
	}
	endpoint := d.getenv("AWS_ENDPOINT_URL_STS")
	if endpoint == "" {
		endpoint = "https://sts.amazonaws.com/"
	}
	shown := clean.EnvValue("AWS_ENDPOINT_URL_STS", endpoint)
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return finding{check: "clock", v: vWarn, what: "clock: not checked: AWS_ENDPOINT_URL_STS, " + clean.Quote(shown, 200) + ", is not a URL",
			fix: "set AWS_ENDPOINT_URL_STS to an https:// URL, or unset it"}
	}
	resp, err := http.DefaultClient.Do(req)
	local := time.Now()
	if err != nil {
		// doctor's own request, in doctor's environment: NetworkCause's
		// fix speaks of the daemon's settings.
		why, _ := awsprofile.NetworkCause(err)
		return finding{check: "clock", v: vInfo, what: "clock: not checked: " + why}
	}
	resp.Body.Close()
	remote, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return finding{check: "clock", v: vInfo, what: "clock: not checked, " + shown + " sent no Date"}
	}
	return clockFinding(remote.Sub(local), local, shown)
}

// writeFindingText prints f as the text report does: the verdict, what
// was found, and on the next line the fix.
func writeFindingText(w io.Writer, f finding, show func(string) string) {
	fmt.Fprintf(w, "%-4s  %s\n", f.v, show(f.what))
	if f.fix != "" {
		fmt.Fprintf(w, "      fix: %s\n", show(f.fix))
	}
}

type doctorJSON struct {
	OK       bool          `json:"ok"`
	Findings []findingJSON `json:"findings"`
}

type findingJSON struct {
	Check   string `json:"check"`
	Subject string `json:"subject,omitempty"`
	Verdict string `json:"verdict"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// writeFindingsJSON prints findings as one JSON object; ok is the exit
// status's rule.
func writeFindingsJSON(w io.Writer, findings []finding, show func(string) string) error {
	out := doctorJSON{OK: !anyFailed(findings), Findings: []findingJSON{}}
	for _, f := range findings {
		out.Findings = append(out.Findings, findingJSON{Check: f.check, Subject: show(f.subject),
			Verdict: strings.ToLower(f.v.String()), Message: show(f.what), Fix: show(f.fix)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
