package remotehelper

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/sibling"
)

// Transport modes (CODECOMMITD_TRANSPORT): ModeDaemon, the daemon's git
// transport; ModeDirect, a signed password handed to git.
const (
	ModeDaemon = "daemon"
	ModeDirect = "direct"
)

// TransportMode reads CODECOMMITD_TRANSPORT as the helper does (and
// doctor, to say which path git takes): unset or "daemon" uses the
// daemon's git transport when a daemon answers; "direct" hands git a
// signed password; anything else is an error that says what to set.
func TransportMode(getenv func(string) string) (string, error) {
	switch v := getenv(envvar.Transport); v {
	case "", ModeDaemon:
		return ModeDaemon, nil
	case ModeDirect:
		return ModeDirect, nil
	default:
		return "", fmt.Errorf("%s=%s is neither %s nor %s; unset it to use the daemon's git transport, or set it to %s to hand git a signed password",
			envvar.Transport, clean.Quote(v, 40), ModeDaemon, ModeDirect, ModeDirect)
	}
}

// maxGitConfig bounds what git's settings may take in a request (the
// daemon reads at most 64 KiB).
const maxGitConfig = 32 << 10

// gitHTTPConfig returns git's configuration entries that may apply to the
// repository's https URL, read by one `git config` in the helper's
// directory and environment (so the repository's .git/config, the global
// and system files, includes, `git -c` and GIT_CONFIG_COUNT, as git's
// https helper would read them): every http.* entry, and the remote's
// remote.<name>.proxy, in the order git reads them. The daemon matches
// them against the URL it resolves. A path in http.sslCAInfo is made
// absolute here, since the daemon runs in "/".
func gitHTTPConfig(cfg Config, git, remoteName string) ([]broker.ConfigEntry, error) {
	out, code, err := cfg.GitOutput(git, []string{"git", "config", "-z", "--get-regexp", `^http\.|^remote\..*\.proxy$`}, os.Environ())
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading git's http settings (git config): %w", err)
	case code == 1: // none
		return nil, nil
	case code != 0:
		return nil, fmt.Errorf("reading git's http settings: git config exited with status %d; run git config --get-regexp '^http\\.' to see why", code)
	}
	var entries []broker.ConfigEntry
	size := 0
	for _, item := range bytes.Split(bytes.TrimSuffix(out, []byte{0}), []byte{0}) {
		if len(item) == 0 {
			continue
		}
		key, value, hasValue := strings.Cut(string(item), "\n")
		if strings.HasPrefix(key, "remote.") && key != "remote."+remoteName+".proxy" {
			continue
		}
		if strings.HasSuffix(key, ".sslcainfo") && value != "" && !strings.HasPrefix(value, "~/") && !filepath.IsAbs(value) {
			if abs, err := filepath.Abs(value); err == nil {
				value = abs
			}
		}
		if size += len(key) + len(value); size > maxGitConfig {
			return nil, fmt.Errorf("git's http settings (git config --get-regexp '^http\\.') are larger than %d KiB; codecommitd cannot pass them to its git transport, so set %s=%s", maxGitConfig>>10, envvar.Transport, ModeDirect)
		}
		entries = append(entries, broker.ConfigEntry{Key: key, Value: value, NoValue: !hasValue})
	}
	return entries, nil
}

// gitHTTPEnv is the helper's values of the variables git's https helper
// reads for its connection (envvar.GitHTTP); a relative CA path made
// absolute.
func gitHTTPEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range envvar.Filter(os.Environ(), envvar.GitHTTP) {
		name, value, _ := strings.Cut(kv, "=")
		if (name == "GIT_SSL_CAINFO" || name == "AWS_CA_BUNDLE") && value != "" && !filepath.IsAbs(value) {
			if abs, err := filepath.Abs(value); err == nil {
				value = abs
			}
		}
		env[name] = value
	}
	return env
}

// openTransport asks the daemon for its git transport for remote, with
// git's settings; an error wrapping client.ErrNoTransport means no daemon
// can carry it, and the caller hands git a signed password.
func openTransport(ctx context.Context, cfg Config, opts client.SignOptions, git, remoteName string) (*broker.Capability, error) {
	entries, err := gitHTTPConfig(cfg, git, remoteName)
	if err != nil {
		return nil, err
	}
	return client.OpenTransport(ctx, opts, entries, gitHTTPEnv())
}

// daemonStopped is what the helper says when the daemon ended the
// transport while git ran, and git failed.
const daemonStopped = "git-remote-codecommit: the codecommitd daemon stopped during this git operation (it was restarted or killed), so the operation failed; run the command again: the next one works"

// daemonStoppedMaybe is what the helper says when the daemon ended the
// transport while git ran, and git's http helper ended with status 0.
const daemonStoppedMaybe = "git-remote-codecommit: the codecommitd daemon stopped during this git operation (it was restarted or killed); if git says the operation failed, run the command again: the next one works"

// endedWait bounds how long the helper waits, after git failed, to learn
// whether the daemon ended the transport: the daemon's end reaches the
// helper's socket about when it reaches git's connection.
const endedWait = time.Second

// launchTransport runs git's http helper on the capability's loopback URL
// and waits for it. The capability header reaches it in that one
// process's environment (never its command line, which holds the URL),
// scoped to the URL, with the same credential-helper reset and redirect
// setting as the password's (injectConfig), and an empty proxy for the
// URL, so a user's http_proxy never takes loopback traffic to a proxy.
// The capability is released when git exits; if the daemon ended it
// meanwhile and git failed, the helper says so in one line.
func launchTransport(cfg Config, git, remoteName string, remote codecommit.Remote, c *broker.Capability) error {
	if c.Release != nil {
		defer c.Release()
	}
	cred, err := sibling.Find("git-credential-codecommit")
	if err != nil {
		return err
	}
	env := hardenTraces(injectConfig(os.Environ(), c.URL, helperCommand(cred, remote.Profile, c.Region), c.Header, [2]string{"proxy", ""}))
	argv0, argv := git, []string{"git", "remote-http", remoteName, c.URL}
	if direct := remoteHelperIn(cfg.Getenv, "git-remote-http"); direct != "" {
		argv0, argv = direct, []string{"git-remote-http", remoteName, c.URL}
	}
	code, err := cfg.RunGit(argv0, argv, env)
	if err != nil {
		return fmt.Errorf("running %s: %w", argv0, err)
	}
	if code == 0 {
		// git's http helper ends with status 0 after a failed request
		// of protocol v2 (git then says "expected flush after ref
		// listing"): whether the operation failed is git's to say.
		select {
		case <-c.Ended:
			fmt.Fprintln(cfg.Stderr, daemonStoppedMaybe)
		default:
		}
		return nil
	}
	if code <= 128 && c.Ended != nil {
		t := time.NewTimer(endedWait)
		defer t.Stop()
		select {
		case <-c.Ended:
			fmt.Fprintln(cfg.Stderr, daemonStopped)
		case <-t.C:
		}
	}
	return ExitError(code)
}

// hardenTraces keeps what git's http helper holds (a password or a
// capability, in GIT_CONFIG_PARAMETERS) out of git's traces, whatever the
// user's environment asks: GIT_TRACE_REDACT=1 (curl's trace then shows
// the Authorization header as <redacted>), and no GIT_TRACE2_CONFIG_PARAMS
// or GIT_TRACE2_ENV_VARS, which would write the header's setting, or the
// variable that holds it, into trace2's logs.
func hardenTraces(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_TRACE_REDACT", "GIT_TRACE2_CONFIG_PARAMS", "GIT_TRACE2_ENV_VARS":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GIT_TRACE_REDACT=1")
}
