//go:build unix

// Package testenv builds a throw-away world for the helpers to run in: a
// HOME with AWS config files, a fake STS (package fakests), a CodeCommit
// git endpoint that verifies signatures (package gitserver), on request a
// WAN link in front of it (package wanlink), the built binaries first on
// PATH, and a private daemon socket. The end-to-end tests use it, and
// `make demo`, `make bench` and `make chaos` build the same world with Temp.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/gitserver"
	"github.com/codecommitd/codecommitd/internal/wanlink"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// Region is the region the fake endpoint expects signatures for.
const Region = "us-east-1"

// Env is one throw-away world.
type Env struct {
	Dir    string // everything lives under it
	Home   string
	Bin    string // directory of the built binaries
	Socket string
	STS    *fakests.Server
	Git    *gitserver.Server
	// Link is the WAN link in front of Git once SetRTT made one; nil
	// before.
	Link *wanlink.Link
	// Extra is added to the environment of every command.
	Extra []string

	// removeDir is set for a world Temp made: Close removes Dir.
	removeDir bool
}

// New makes a world under dir, with the binaries in bin; opts set how the
// git stand-in speaks HTTP.
func New(dir, bin string, opts ...gitserver.Option) (*Env, error) {
	e := &Env{Dir: dir, Home: filepath.Join(dir, "home"), Bin: bin}
	// Keep the socket path short: the temp dir can be long.
	e.Socket = filepath.Join(dir, "run", "d.sock")
	for _, d := range []string{e.Home, filepath.Join(e.Home, ".aws"), filepath.Join(dir, "run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	e.STS = fakests.New()
	git, err := gitserver.New(dir, Region, e.STS, opts...)
	if err != nil {
		e.STS.Close()
		return nil, err
	}
	e.Git = git
	return e, nil
}

// Temp makes a world in a new temporary folder, which Close removes, with
// the binaries in the folder bin (relative or not) and what `make demo`,
// `make bench` and `make chaos` run against: profile, a role assumed from
// the static keys of profile base (a user of that name), both in Region,
// and a repository "repo" with one commit; opts set how the git stand-in
// speaks HTTP.
func Temp(bin, profile string, opts ...gitserver.Option) (_ *Env, err error) {
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cc"+profile)
	if err != nil {
		return nil, err
	}
	e, err := New(dir, bin, opts...)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	e.removeDir = true
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	u := e.STS.AddUser(profile)
	role := e.STS.AddRole(fakests.Role{ARN: "Developer"})
	if err := e.WriteAWS("[profile "+profile+"]\nrole_arn = "+role+"\nsource_profile = base\nregion = "+Region+"\n\n[profile base]\nregion = "+Region+"\n",
		"[base]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n"); err != nil {
		return nil, err
	}
	if err := e.Seed(context.Background(), "repo"); err != nil {
		return nil, err
	}
	return e, nil
}

// Close stops the daemon, if one runs, the link and the servers, and
// removes the world's folder if Temp made it.
func (e *Env) Close() {
	e.StopDaemon()
	if e.Link != nil {
		e.Link.Close()
	}
	e.Git.Close()
	e.STS.Close()
	if e.removeDir {
		os.RemoveAll(e.Dir)
	}
}

// SetRTT makes git reach the git stand-in through a WAN link with
// round-trip time d (package wanlink: each connection pays one round trip
// to open, each chunk half of one each way), starting the link on first
// use. It applies to commands started from then on: CODE_COMMIT_ENDPOINT
// names the link, whose 127.0.0.1 address the stand-in's certificate
// covers. SetRTT(0) keeps the link, without delay.
func (e *Env) SetRTT(d time.Duration) error {
	if e.Link != nil {
		e.Link.SetRTT(d)
		return nil
	}
	l, err := wanlink.New(wanlink.Config{Target: e.Git.Host, RTT: d})
	if err != nil {
		return err
	}
	e.Link = l
	return nil
}

// GitHost is the host:port git reaches the git stand-in at, the value of
// CODE_COMMIT_ENDPOINT: the link's once SetRTT made one, else Git.Host.
func (e *Env) GitHost() string {
	if e.Link != nil {
		return e.Link.Addr()
	}
	return e.Git.Host
}

// WriteAWS writes ~/.aws/config and ~/.aws/credentials.
func (e *Env) WriteAWS(config, credentials string) error {
	if err := os.WriteFile(filepath.Join(e.Home, ".aws", "config"), []byte(config), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.Home, ".aws", "credentials"), []byte(credentials), 0o600)
}

// Environ is the environment commands run with: nothing of the caller's
// but PATH (after Bin), so the host's AWS settings never leak in.
func (e *Env) Environ() []string {
	env := []string{
		"HOME=" + e.Home,
		"PATH=" + e.Bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"XDG_RUNTIME_DIR=" + filepath.Join(e.Dir, "run"),
		"XDG_STATE_HOME=" + filepath.Join(e.Dir, "state"),
		"XDG_CONFIG_HOME=" + filepath.Join(e.Home, ".config"),
		envvar.Socket + "=" + e.Socket,
		"AWS_ENDPOINT_URL_STS=" + e.STS.URL,
		"AWS_ENDPOINT_URL_SSO=" + e.STS.URL,
		"AWS_ENDPOINT_URL_SSO_OIDC=" + e.STS.URL,
		"AWS_ENDPOINT_URL_SIGNIN=" + e.STS.URL,
		"AWS_EC2_METADATA_DISABLED=true",
		"CODE_COMMIT_ENDPOINT=" + e.GitHost(),
		"GIT_SSL_CAINFO=" + e.Git.CAFile,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + filepath.Join(e.Home, ".gitconfig"),
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"LANG=C",
		envvar.Keyring + "=0",
	}
	return append(env, e.Extra...)
}

// Command returns a command that runs in the world, in directory dir
// (relative to Dir).
func (e *Env) Command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	// The world's PATH starts with Bin; exec looks names up in ours.
	if p := filepath.Join(e.Bin, name); !strings.ContainsRune(name, filepath.Separator) && fileExists(p) {
		name = p
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = filepath.Join(e.Dir, dir)
	cmd.Env = e.Environ()
	return cmd
}

// Run runs a command in the world and returns its stdout and stderr.
func (e *Env) Run(ctx context.Context, dir, name string, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	cmd := e.Command(ctx, dir, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// StartDaemon runs `codecommitd run` in the world and returns once it
// listens. StopDaemon (or Close) stops it.
func (e *Env) StartDaemon(ctx context.Context, args ...string) error {
	cmd, err := e.SpawnDaemon(ctx, filepath.Join(e.Dir, "daemon.log"), args...)
	if err != nil {
		return err
	}
	go cmd.Wait() // reaps it; StopDaemon waits on the lock
	return nil
}

// SpawnDaemon starts `codecommitd run` logging to logFile, with e's
// environment (e.Extra included), and returns once it listens. The caller
// stops it and waits for it.
func (e *Env) SpawnDaemon(ctx context.Context, logFile string, args ...string) (*exec.Cmd, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var stderr bytes.Buffer
	cmd := e.Command(ctx, "", filepath.Join(e.Bin, "codecommitd"), append([]string{"run", "--log-file", logFile}, args...)...)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = append(cmd.Env, envvar.ReadyFD+"=3")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	w.Close()
	report, _ := io.ReadAll(r)
	if outcome, why, err := wire.DecodeReadyReport(report); err != nil || outcome != wire.Ready {
		cmd.Process.Kill()
		cmd.Wait()
		if err == nil {
			err = fmt.Errorf("it reports %q", why)
		}
		return nil, fmt.Errorf("daemon did not start: %w; %s", err, stderr.String())
	}
	return cmd, nil
}

// DaemonLog returns what the daemon logged so far.
func (e *Env) DaemonLog() string {
	b, _ := os.ReadFile(filepath.Join(e.Dir, "daemon.log"))
	auto, _ := os.ReadFile(filepath.Join(e.Dir, "state", "codecommitd", "codecommitd.log"))
	return string(b) + string(auto)
}

// DaemonPID returns the pid recorded in the daemon's lock file (which
// says "<pid>", or "<pid> starting" until the daemon listens), or 0.
func (e *Env) DaemonPID() int {
	b, err := os.ReadFile(e.Socket + ".lock")
	if err != nil {
		return 0
	}
	pid, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	n, _ := strconv.Atoi(pid)
	return n
}

// StopDaemon stops a daemon started in the world, if any, and waits until
// it has exited (it holds its lock file until then).
func (e *Env) StopDaemon() {
	pid := e.DaemonPID()
	if pid <= 0 {
		return
	}
	// Hold the lock file open first: a daemon removes it as it stops,
	// and the lock on this open file is released only when it exits.
	f, err := os.Open(e.Socket + ".lock")
	if err != nil {
		return
	}
	defer f.Close()
	if p, err := os.FindProcess(pid); err == nil {
		p.Signal(syscall.SIGTERM)
	}
	waitUnlocked(f, 10*time.Second, pid)
}

// waitUnlocked blocks until nobody holds the lock on f, at most d, then
// kills pid if it still holds it.
func waitUnlocked(f *os.File, d time.Duration, pid int) {
	done := make(chan struct{})
	go func() {
		unix.Flock(int(f.Fd()), unix.LOCK_EX)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		syscall.Kill(pid, syscall.SIGKILL)
		<-done
	}
}

// Seed creates repository name on the server with one commit on main.
func (e *Env) Seed(ctx context.Context, name string) error {
	if err := e.Git.CreateRepo(name); err != nil {
		return err
	}
	src := filepath.Join(e.Dir, "seed-"+name)
	steps := [][]string{
		{"git", "init", "--quiet", "--initial-branch=main", src},
		{"git", "-C", src, "commit", "--quiet", "--allow-empty", "-m", "seed"},
		{"git", "-C", src, "push", "--quiet", e.Git.RepoDir(name), "main"},
	}
	for _, s := range steps {
		if _, stderr, err := e.Run(ctx, "", s[0], s[1:]...); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(s, " "), err, stderr)
		}
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
