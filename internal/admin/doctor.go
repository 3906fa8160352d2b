package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/gitversion"
	"github.com/codecommitd/codecommitd/internal/privdir"
	"github.com/codecommitd/codecommitd/internal/version"
)

type verdict int

const (
	vOK verdict = iota
	vInfo
	vWarn
	vFail
)

func (v verdict) String() string { return [...]string{"ok", "info", "warn", "FAIL"}[v] }

// finding is one line of doctor's report.
type finding struct {
	v    verdict
	what string
	fix  string
}

func newDoctorCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check git, the helpers, the daemon, its socket, recently used profiles and the clock",
		Long: `doctor checks everything codecommitd depends on and prints one line per check,
with what to do when something is wrong: the git version, the helpers on PATH,
whether the daemon answers, its socket's permissions, what the daemon's own
environment holds, whether every profile used in the last week still gives
credentials, and whether this machine's clock agrees with AWS's.
It exits non-zero when a check fails.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := doctor{socket: g.socketPath(), out: cmd.OutOrStdout()}
			if d.run(cmd.Context()) {
				return errSilent
			}
			return nil
		},
	}
}

type doctor struct {
	socket string
	out    io.Writer
	failed bool
	status *broker.Status
}

func (d *doctor) report(f finding) {
	line := fmt.Sprintf("%-4s  %s", f.v, f.what)
	if f.fix != "" {
		line += "\n      fix: " + f.fix
	}
	fmt.Fprintln(d.out, line)
	if f.v == vFail {
		d.failed = true
	}
}

// run reports every check and returns whether one failed.
func (d *doctor) run(ctx context.Context) bool {
	d.report(checkGit(ctx))
	for _, name := range []string{"git-remote-codecommit", "git-credential-codecommit"} {
		d.report(checkHelper(ctx, name))
	}
	d.report(d.checkDaemon(ctx))
	d.report(checkSocket(d.socket))
	if d.status != nil {
		d.report(daemonEnvironment(d.status))
	}
	for _, f := range d.checkProfiles(ctx) {
		d.report(f)
	}
	d.report(d.checkClock(ctx))
	return d.failed
}

func checkGit(ctx context.Context) finding {
	out, err := exec.CommandContext(ctx, "git", "--version").Output()
	if err != nil {
		return finding{vFail, "git: not found on PATH (" + err.Error() + ")", "install git 2.31 or later"}
	}
	v, err := gitversion.Parse(string(out))
	text := strings.TrimSpace(string(out))
	switch {
	case err != nil:
		return finding{vWarn, "git: cannot read its version (" + text + ")", ""}
	case !v.AtLeast(gitversion.ConfigEnv):
		return finding{vFail, text + ": older than 2.31, which cannot take the password without a command line",
			"upgrade git; or, knowing any local user can then read the password in ps, set " + envvar.PasswordInArgv + "=1"}
	case !v.AtLeast(gitversion.ProactiveAuth):
		return finding{vOK, text + " (2.46 or later saves one round trip per operation with http.proactiveAuth)", ""}
	}
	return finding{vOK, text, ""}
}

func checkHelper(ctx context.Context, name string) finding {
	path, err := exec.LookPath(name)
	if err != nil {
		return finding{vFail, name + ": not on PATH", "run `make install`, and put its bin folder (default ~/.local/bin) on PATH"}
	}
	out, _ := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	got := strings.TrimSpace(string(out))
	if !strings.HasPrefix(got, name+" ") {
		return finding{vFail, fmt.Sprintf("%s: %s is not codecommitd's (it says %q); git would use it", name, path, firstLine(got)),
			"remove it (pip uninstall git-remote-codecommit) or put codecommitd's bin folder first on PATH"}
	}
	if v := strings.TrimPrefix(got, name+" "); v != version.Version {
		return finding{vWarn, fmt.Sprintf("%s: %s is version %s, this codecommitd is %s", name, path, v, version.Version), "reinstall both from one build (make install)"}
	}
	return finding{vOK, name + ": " + path, ""}
}

func (d *doctor) checkDaemon(ctx context.Context) finding {
	c, err := client.Dial(d.socket)
	if err != nil {
		return finding{vFail, "daemon: " + err.Error(), ""}
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	switch {
	case errors.Is(err, broker.ErrPermissionDenied):
		return finding{vFail, "daemon: refused us: " + err.Error(), "run your own daemon: set " + envvar.Socket + " to a path of yours"}
	case err != nil:
		return finding{vWarn, "daemon: not running on " + d.socket + " (git starts it when needed)", "start it now and at login: codecommitd install"}
	}
	d.status = st
	if st.Version != version.Version {
		return finding{vWarn, fmt.Sprintf("daemon: pid %d runs version %s, this is %s", st.PID, st.Version, version.Version), "codecommitd restart (or codecommitd stop; git starts the new one)"}
	}
	return finding{vOK, fmt.Sprintf("daemon: pid %d, up %s, on %s", st.PID, time.Since(st.StartedAt).Round(time.Second), d.socket), ""}
}

func checkSocket(path string) finding {
	dir := filepath.Dir(path)
	err := privdir.Check(dir)
	var np *privdir.NotPrivateError
	switch {
	case privdir.IsNotExist(err):
		return finding{vInfo, "socket: " + dir + " does not exist yet (made when the daemon starts)", ""}
	case errors.As(err, &np):
		return finding{vFail, fmt.Sprintf("socket: folder %s %s, so neither the daemon nor the helpers will use it", dir, np.Reason),
			np.Fix(envvar.Socket + " (or --socket)")}
	case err != nil:
		return finding{vFail, "socket: " + err.Error(), ""}
	}
	di, _ := os.Stat(dir)
	si, err := os.Stat(path)
	if err != nil {
		return finding{vInfo, "socket: folder " + dir + " is private; no socket yet", ""}
	}
	if runtime.GOOS != "windows" && si.Mode().Perm()&0o077 != 0 {
		return finding{vWarn, fmt.Sprintf("socket: %s is mode %v (its folder still keeps others out)", path, si.Mode().Perm()), "codecommitd restart"}
	}
	return finding{vOK, fmt.Sprintf("socket: %s (folder %v, socket %v)", path, di.Mode().Perm(), si.Mode().Perm()), ""}
}

func daemonEnvironment(st *broker.Status) finding {
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
	return finding{vInfo, what, ""}
}

// checkProfiles asks for credentials of every profile used in the last
// week (or the default profile when none is known), without prompting.
func (d *doctor) checkProfiles(ctx context.Context) []finding {
	var profiles []string
	if d.status != nil {
		for _, r := range d.status.RecentProfiles {
			profiles = append(profiles, r.Profile)
		}
	}
	if len(profiles) == 0 {
		p := os.Getenv("AWS_PROFILE")
		if p == "" {
			return []finding{{vInfo, "profiles: none used in the last week (and AWS_PROFILE is not set); nothing to check", ""}}
		}
		profiles = []string{p}
	}
	auto := &client.Auto{Socket: d.socket, Stderr: io.Discard}
	defer auto.Close()
	var out []finding
	for _, p := range profiles {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		s, err := auto.SignURL(pctx, &broker.SignRequest{
			Profile: p, Repository: "doctor-check", Env: broker.Environ(os.LookupEnv), Client: "codecommitd doctor",
		})
		cancel()
		var be *broker.Error
		switch {
		case err == nil:
			out = append(out, finding{vOK, fmt.Sprintf("profile %s: credentials good until %s (region %s)", p, s.Expires.Local().Format(time.Kitchen), s.Region), ""})
		case errors.Is(err, broker.ErrMFARequired) && errors.As(err, &be):
			out = append(out, finding{vOK, fmt.Sprintf("profile %s: resolves; the next git command asks for an MFA code (%s)", p, be.MFASerial), ""})
		case errors.Is(err, broker.ErrRegionMissing):
			out = append(out, finding{vInfo, fmt.Sprintf("profile %s: no region of its own; fine when the URLs name one (codecommit::<region>://%s@<repository>)", p, p),
				"to use it without one: add region = <your region> to the profile"})
		default:
			out = append(out, finding{vFail, "profile " + p + ": " + err.Error(), ""})
		}
	}
	return out
}

// checkClock compares this machine's clock with AWS's: the daemon's last
// observation, else the Date header of an unauthenticated request to STS.
func (d *doctor) checkClock(ctx context.Context) finding {
	if d.status != nil && !d.status.ClockSkewAt.IsZero() && time.Since(d.status.ClockSkewAt) < time.Hour {
		return clockFinding(d.status.ClockSkew, d.status.ClockSkewAt, "the daemon's last AWS call")
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL_STS")
	if endpoint == "" {
		endpoint = "https://sts.amazonaws.com/"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return finding{vWarn, "clock: " + err.Error(), ""}
	}
	resp, err := http.DefaultClient.Do(req)
	local := time.Now()
	if err != nil {
		why, fix := awsprofile.NetworkCause(err)
		return finding{vInfo, "clock: not checked: " + why, fix}
	}
	resp.Body.Close()
	remote, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return finding{vInfo, "clock: not checked, " + endpoint + " sent no Date", ""}
	}
	return clockFinding(remote.Sub(local), local, endpoint)
}

func clockFinding(skew time.Duration, at time.Time, source string) finding {
	if skew >= broker.MaxClockSkew || skew <= -broker.MaxClockSkew {
		return finding{vFail, "clock: " + awsprofile.SkewMessage(skew, at), ""}
	}
	return finding{vOK, fmt.Sprintf("clock: within %s of AWS's (per %s)", max(skew, -skew).Round(time.Second)+time.Second, source), ""}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
