package remotehelper

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/gitversion"
	"github.com/codecommitd/codecommitd/internal/sibling"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// EnvPasswordInArgv set to "1" makes the helper put the signed password in
// git remote-http's command line, as AWS's helper does, where every local
// user can read it; only for git older than 2.31.
const EnvPasswordInArgv = "CODECOMMITD_PASSWORD_IN_ARGV"

// launch replaces the helper with `git remote-http <remote> <url>`. The URL
// carries no credentials: git remote-http gets the password from
// git-credential-codecommit, configured for this one repository URL in the
// child's environment only, after an empty helper so no storage helper
// (osxkeychain, wincred, manager, store) ever sees it.
func launch(cfg Config, remoteName string, remote codecommit.Remote, s *broker.SignedURL) error {
	git, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("git is not on PATH: %w", err)
	}
	v, err := gitversion.Of(git, gitversion.CacheDir(cfg.Getenv))
	if err != nil {
		return err
	}
	optIn := cfg.Getenv(EnvPasswordInArgv) == "1"
	switch {
	case !v.AtLeast(gitversion.ConfigEnv) && optIn:
		url := sigv4.Signed{Username: s.Username, Password: s.Password}.InURL(s.URL)
		return cfg.Exec(git, []string{"git", "remote-http", remoteName, url}, os.Environ())
	case optIn:
		fmt.Fprintf(cfg.Stderr, "git-remote-codecommit: ignoring %s=1: git %s takes the password from its environment, off the command line\n", EnvPasswordInArgv, v)
	}
	if !v.AtLeast(gitversion.ConfigEnv) {
		return fmt.Errorf("git %s is older than 2.31 and cannot take the password from its environment; upgrade git, or set %s=1 to pass it on git's command line as AWS's helper does (any local user can then read it with ps)",
			v, EnvPasswordInArgv)
	}
	cred, err := sibling.Find("git-credential-codecommit")
	if err != nil {
		return err
	}
	env, err := injectConfig(os.Environ(), s.URL, helperCommand(cred, remote.Profile, s.Region), v.AtLeast(gitversion.ProactiveAuth))
	if err != nil {
		return err
	}
	return cfg.Exec(git, []string{"git", "remote-http", remoteName, s.URL}, env)
}

// helperCommand is the credential.helper value that runs our helper with
// the URL's profile (if it named one) and the resolved region. git appends
// the action (get, store, erase); store and erase are answered by the shell
// itself, since our helper would do nothing with them, which saves starting
// a program on every successful git operation.
func helperCommand(path, profile, region string) string {
	cmd := shellQuote(filepath.ToSlash(path)) + " --quiet-fallback --no-config-profile"
	if profile != "" {
		cmd += " --profile " + shellQuote(profile)
	}
	if region != "" {
		cmd += " --region " + shellQuote(region)
	}
	return `!f() { test "$1" = get || { while read -r _; do :; done; exit 0; }; exec ` + cmd + ` get; }; f`
}

// shellQuote quotes s for the POSIX shell git runs "!" helpers with (also
// on Windows, where git brings its own sh).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// injectConfig appends to env the git configuration, scoped to url, that
// makes git ask our helper for the password and no one else. Entries the
// caller already has in GIT_CONFIG_COUNT are kept.
func injectConfig(env []string, url, helper string, proactiveAuth bool) ([]string, error) {
	n := 0
	var out []string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GIT_CONFIG_COUNT="); ok {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 0 {
				return nil, errors.New("GIT_CONFIG_COUNT in the environment is not a number; unset it or fix it")
			}
			continue
		}
		out = append(out, kv)
	}
	entries := [][2]string{
		{"credential." + url + ".helper", ""}, // forget every helper configured so far
		{"credential." + url + ".helper", helper},
		{"credential." + url + ".useHttpPath", "true"},
	}
	if proactiveAuth {
		entries = append(entries, [2]string{"http." + url + ".proactiveAuth", "basic"})
	}
	for i, e := range entries {
		out = append(out, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", n+i, e[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", n+i, e[1]))
	}
	return append(out, "GIT_CONFIG_COUNT="+strconv.Itoa(n+len(entries))), nil
}
