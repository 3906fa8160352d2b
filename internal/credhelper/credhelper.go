// Package credhelper is git-credential-codecommit: a git credential helper
// that answers for CodeCommit https:// URLs with a password the daemon signs.
// git runs it as `git-credential-codecommit get|store|erase`; store and
// erase do nothing (a signed password is never worth storing).
//
// It recognises git-codecommit[-fips].<region>.amazonaws.com[.cn],
// vpce-….git-codecommit[-fips].<region>.vpce.amazonaws.com and the host in
// CODE_COMMIT_ENDPOINT, each with an optional port (codecommit.CheckEndpoint),
// takes the profile from --profile, else git config codecommit.profile
// (URL-scoped like credential.<url>.*), else AWS_PROFILE, else "default",
// and stays silent for any other host so git asks its next helper. A host
// that starts as a CodeCommit host but is not a valid host[:port] (a port
// that is not 1–65535, a user, a path), or a CODE_COMMIT_ENDPOINT that is
// not one, is an error: git shows it, and asks its next helper.
package credhelper

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/manual"
	"github.com/codecommitd/codecommitd/internal/version"
)

// ErrUsage reports wrong arguments.
var ErrUsage = errors.New("usage: git-credential-codecommit [--profile NAME] [--region REGION] get|store|erase")

// Config is what the helper needs from its process.
type Config struct {
	Args  []string
	Stdin io.Reader
	// Process is the environment and the other streams; its zero value
	// means this process's own.
	client.Process
	// Broker answers requests; nil means the daemon (client.Auto).
	Broker broker.Broker
	// GitConfig looks up a URL-matched git config key; nil runs
	// `git config --get-urlmatch`.
	GitConfig func(ctx context.Context, key, url string) (string, error)

	fallbackNote io.Writer
}

// CheckAndSetDefaults fills in the process's own environment and streams.
func (c *Config) CheckAndSetDefaults() error {
	if err := c.Process.CheckAndSetDefaults(); err != nil {
		return err
	}
	if c.Stdin == nil {
		c.Stdin = os.Stdin
	}
	if c.GitConfig == nil {
		c.GitConfig = gitConfigURLMatch
	}
	c.fallbackNote = c.Stderr
	return nil
}

// Run is the whole helper.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return err
	}
	fs := flag.NewFlagSet("git-credential-codecommit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	profile := fs.String("profile", "", "AWS profile")
	region := fs.String("region", "", "AWS region")
	showVersion := fs.Bool("version", false, "print the version")
	// Both set by git-remote-codecommit: it already said when the daemon
	// was down (one note per git operation is enough), and the profile is
	// the one its URL meant (--profile, else AWS_PROFILE or default), never
	// a codecommit.profile from git config.
	quiet := fs.Bool("quiet-fallback", false, "do not note resolving without the daemon")
	noConfig := fs.Bool("no-config-profile", false, "ignore git config codecommit.profile")
	if err := fs.Parse(cfg.Args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, err = io.WriteString(cfg.Stdout, manual.CredentialHelper.Help())
			return err
		}
		return fmt.Errorf("%w (%w)", ErrUsage, err)
	}
	if *showVersion {
		fmt.Fprintln(cfg.Stdout, "git-credential-codecommit", version.Version)
		return nil
	}
	if fs.NArg() != 1 {
		return ErrUsage
	}
	switch fs.Arg(0) {
	case "get":
	case "store", "erase":
		// Nothing is stored, so nothing to store or erase; read git's
		// request so it never sees a closed pipe.
		_, err := io.Copy(io.Discard, io.LimitReader(cfg.Stdin, maxRequest))
		return err
	default:
		return ErrUsage
	}
	req, err := ParseRequest(cfg.Stdin)
	if err != nil {
		return err
	}
	if *quiet {
		cfg.fallbackNote = io.Discard
	}
	if *noConfig {
		cfg.GitConfig = func(context.Context, string, string) (string, error) { return "", nil }
	}
	return get(ctx, cfg, req, *profile, *region)
}

func get(ctx context.Context, cfg Config, req Request, profile, region string) error {
	if req.Protocol != "https" {
		return nil // not ours: git asks the next helper
	}
	host, err := codecommit.CheckEndpoint(req.Host, cfg.Getenv("CODE_COMMIT_ENDPOINT"))
	if errors.Is(err, codecommit.ErrNotEndpoint) {
		return nil // not a CodeCommit host: git asks its next helper
	}
	if err != nil {
		return err // a CodeCommit host with a bad port, a user or a path; a broken CODE_COMMIT_ENDPOINT
	}
	if req.Path == "" {
		return fmt.Errorf("git sent no repository path for %s, and CodeCommit signs per repository: run `git config --global credential.https://%s.useHttpPath true`", req.Host, req.Host)
	}
	repo, err := codecommit.ParseRepositoryPath(req.Path)
	if err != nil {
		return err
	}
	if region == "" {
		region = host.Region // "" for CODE_COMMIT_ENDPOINT: the profile's
	}
	url := "https://" + req.Host + "/" + strings.TrimPrefix(req.Path, "/")
	if profile == "" {
		if profile, err = cfg.GitConfig(ctx, "codecommit.profile", url); err != nil {
			return err
		}
	}
	s, err := client.Sign(ctx, client.SignOptions{Process: cfg.Process, Note: cfg.fallbackNote, Broker: cfg.Broker,
		Request: broker.SignRequest{Profile: profile, Region: region, Repository: repo, Host: req.Host, Client: "git-credential-codecommit"}})
	if err != nil {
		return err
	}
	return Response{Username: s.Username, Password: s.Password, ExpiryUnix: s.Expires.Unix()}.Write(cfg.Stdout)
}

// gitConfigURLMatch runs `git config --get-urlmatch key url`: the value of
// key for the most specific <section>.<url>.<name> matching url, or of the
// plain key; "" when none is set.
func gitConfigURLMatch(ctx context.Context, key, url string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", "config", "--get-urlmatch", key, url).Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return "", nil // not set
	}
	if err != nil {
		return "", fmt.Errorf("reading git config %s: %w", key, err)
	}
	return strings.TrimSpace(string(out)), nil
}
