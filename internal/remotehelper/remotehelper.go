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
	"os"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/manual"
	"github.com/codecommitd/codecommitd/internal/version"
)

// ErrUsage reports wrong arguments.
var ErrUsage = errors.New("usage: git-remote-codecommit <remote-name> <url>; git runs this for codecommit:// remotes (see git-remote-codecommit --help)")

// Config is what the helper needs from its process.
type Config struct {
	Args   []string
	Getenv func(string) string
	Lookup func(string) (string, bool)
	Stdout io.Writer
	Stderr io.Writer
	// RunGit runs git with this process's stdio, waits for it and returns
	// its exit code; tests substitute it.
	RunGit func(argv0 string, argv, env []string) (int, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// CheckAndSetDefaults fills in the process's own environment and streams.
func (c *Config) CheckAndSetDefaults() error {
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Lookup == nil {
		c.Lookup = os.LookupEnv
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.RunGit == nil {
		c.RunGit = runGit
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
	auto := client.NewAuto(cfg.Getenv, cfg.Stderr)
	defer auto.Close()
	req := &broker.SignRequest{
		Profile: remote.Profile, Region: remote.Region, Repository: remote.Repository,
		Env: broker.Environ(cfg.Lookup), Client: "git-remote-codecommit",
	}
	signCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	signed, err := client.SignWithMFA(signCtx, auto, req, &client.Prompter{Getenv: cfg.Getenv, Stderr: cfg.Stderr})
	if err != nil {
		return err
	}
	for _, w := range signed.Warnings {
		fmt.Fprintln(cfg.Stderr, w)
	}
	auto.Close() // nothing more to ask the daemon while git runs
	return launch(ctx, cfg, remoteName, remote, signed)
}
