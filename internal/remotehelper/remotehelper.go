// Package remotehelper is git-remote-codecommit: git runs it as
// `git-remote-codecommit <remote-name> <url>` for codecommit:// remotes. It
// parses the URL exactly as AWS's helper does, asks the daemon (through
// package client) for a signed password, and runs `git remote-http` (git's
// https helper, which speaks the rest of git's remote-helper protocol) and
// waits for it. It owns that hand-off: the configuration git's https helper
// gets in its environment, so that the password goes as a header to the
// repository's own URL and to no storage helper whatever the user's
// configuration says (launch.go), and what the user is told when git
// fails for a reason the helper can name (an expired password, a redirect:
// redirect.go).
package remotehelper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/gitversion"
	"github.com/codecommitd/codecommitd/internal/manual"
	"github.com/codecommitd/codecommitd/internal/version"
)

// ErrUsage reports wrong arguments.
var ErrUsage = errors.New("usage: git-remote-codecommit <remote-name> <url>; git runs this for codecommit:// remotes (see git-remote-codecommit --help)")

// Config is what the helper needs from its process.
type Config struct {
	Args []string
	// Process is the environment and streams; its zero value means this
	// process's own.
	client.Process
	// RunGit runs git with this process's stdio, waits for it and returns
	// its exit code; tests substitute it.
	RunGit func(argv0 string, argv, env []string) (int, error)
	// GitOutput runs git with this process's stdin and stderr and returns
	// its stdout and exit code; tests substitute it.
	GitOutput func(argv0 string, argv, env []string) ([]byte, int, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// CheckAndSetDefaults fills in the process's own environment and streams.
func (c *Config) CheckAndSetDefaults() error {
	if err := c.Process.CheckAndSetDefaults(); err != nil {
		return err
	}
	if c.RunGit == nil {
		c.RunGit = runGit
	}
	if c.GitOutput == nil {
		c.GitOutput = gitOutput
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Run is the whole helper.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return err
	}
	if len(cfg.Args) == 1 {
		switch cfg.Args[0] {
		case "--version", "-V", "version":
			fmt.Fprintln(cfg.Stdout, "git-remote-codecommit", version.Version)
			return nil
		case "--help", "-h", "help":
			io.WriteString(cfg.Stdout, manual.RemoteHelper.Help())
			return nil
		}
	}
	if len(cfg.Args) != 2 {
		return ErrUsage
	}
	remoteName, rawURL := cfg.Args[0], cfg.Args[1]
	remote, err := codecommit.ParseRemote(rawURL)
	if err != nil {
		return err
	}
	mode, err := TransportMode(cfg.Getenv)
	if err != nil {
		return err
	}
	git, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("git is not on PATH: %w", err)
	}
	v, err := gitversion.Of(git, gitversion.CacheDir(cfg.Getenv))
	if err != nil {
		return err
	}
	auto := client.NewAuto(cfg.Getenv, cfg.Stderr)
	defer auto.Close()
	opts := client.SignOptions{Process: cfg.Process, Broker: auto, Request: broker.SignRequest{
		Profile: remote.Profile, Region: remote.Region, Repository: remote.Repository, Client: "git-remote-codecommit",
	}}
	// The daemon's git transport, when one answers and git can take the
	// capability from its environment; else (no daemon: the one-shot,
	// CODECOMMITD_TRANSPORT=direct, git < 2.31) a signed password.
	if mode == ModeDaemon && v.AtLeast(gitversion.ConfigEnv) {
		c, err := openTransport(ctx, cfg, opts, git, remoteName)
		if err == nil {
			return launchTransport(cfg, git, remoteName, remote, c)
		}
		if !errors.Is(err, client.ErrNoTransport) {
			return err
		}
	}
	signed, err := client.Sign(ctx, opts)
	if err != nil {
		return err
	}
	return launch(ctx, cfg, git, v, remoteName, remote, signed)
}
