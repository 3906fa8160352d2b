package remotehelper

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/gitversion"
	"github.com/codecommitd/codecommitd/internal/sibling"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// launch runs `git remote-http <remote> <url>` and waits for it. The URL
// carries no credentials. The password the helper already has reaches git
// remote-http in that one process's environment (GIT_CONFIG_PARAMETERS, see
// injectConfig), as an Authorization header scoped to this one repository
// URL: git sends it with its first request, so there is no 401 round trip
// and no second program; curl never learns a user name, so GIT_TRACE_CURL
// has none to print, and git redacts the header in its traces. The same
// scoped configuration empties the credential helpers, so no storage
// helper (osxkeychain, wincred, manager, store) ever sees anything, names
// git-credential-codecommit for the unexpected 401, and turns off git's
// following of redirects, so the header goes to this URL only.
//
// When git remote-http fails after the password stopped working (a push
// that took longer than 15 minutes to send), the helper says so; when it
// fails otherwise, and the server redirects this URL, it says where to.
func launch(ctx context.Context, cfg Config, git string, v gitversion.Version, remoteName string, remote codecommit.Remote, s *broker.SignedURL) error {
	optIn := cfg.Getenv(envvar.PasswordInArgv) == "1"
	switch {
	case !v.AtLeast(gitversion.ConfigEnv) && optIn:
		url := sigv4.Signed{Username: s.Username, Password: s.Password}.InURL(s.URL)
		return run(cfg, git, []string{"git", "remote-http", remoteName, url}, os.Environ(), remote, s)
	case optIn:
		fmt.Fprintf(cfg.Stderr, "git-remote-codecommit: ignoring %s=1: git %s takes the password from its environment, off the command line\n", envvar.PasswordInArgv, v)
	}
	if !v.AtLeast(gitversion.ConfigEnv) {
		return fmt.Errorf("git %s is older than 2.31 and cannot take the password from its environment; upgrade git, or set %s=1 to pass it on git's command line as AWS's helper does (any local user can then read it with ps)",
			v, envvar.PasswordInArgv)
	}
	cred, err := sibling.Find("git-credential-codecommit")
	if err != nil {
		return err
	}
	env := hardenTraces(injectConfig(os.Environ(), s.URL, helperCommand(cred, remote.Profile, s.Region), authorization(s)))
	argv0, argv := git, []string{"git", "remote-http", remoteName, s.URL}
	if direct := remoteHelperIn(cfg.Getenv, "git-remote-https"); direct != "" {
		argv0, argv = direct, []string{"git-remote-https", remoteName, s.URL}
	}
	err = run(cfg, argv0, argv, env, remote, s)
	if exit, ok := errors.AsType[ExitError](err); ok {
		sayIfRedirected(ctx, cfg, int(exit), remote, s)
	}
	return err
}

// remoteHelperIn is git's own http helper name (git-remote-https,
// git-remote-http) in the exec path git gave this helper (GIT_EXEC_PATH),
// or "": running it directly spares the git wrapper that `git remote-http`
// starts first.
func remoteHelperIn(getenv func(string) string, name string) string {
	dir := getenv("GIT_EXEC_PATH")
	if dir == "" || !filepath.IsAbs(dir) {
		return ""
	}
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 && runtime.GOOS != "windows" {
		return ""
	}
	return p
}

// authorization is the HTTP header that carries a signed password.
func authorization(s *broker.SignedURL) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(s.Username+":"+s.Password))
}

// run runs git remote-http and returns what git should see of its end: nil,
// or an ExitError with its exit code, after saying why when the password
// had stopped working.
func run(cfg Config, git string, argv, env []string, remote codecommit.Remote, s *broker.SignedURL) error {
	code, err := cfg.RunGit(git, argv, env)
	if err != nil {
		return fmt.Errorf("running %s: %w", git, err)
	}
	if code == 0 {
		return nil
	}
	if expired(cfg.Now(), s) {
		who := ""
		if remote.Profile != "" {
			who = ", profile " + remote.Profile
		}
		fmt.Fprintf(cfg.Stderr, "git-remote-codecommit: the signed password for repository %s%s stopped working at %s, before this git operation ended "+
			"(CodeCommit accepts one for 15 minutes); run the command again, and it gets a fresh one\n",
			remote.Repository, who, s.Expires.Local().Format("15:04:05"))
	}
	return ExitError(code)
}

// expired reports whether the signed password had stopped working at now.
func expired(now time.Time, s *broker.SignedURL) bool {
	return !s.Expires.IsZero() && !now.Before(s.Expires)
}

// ExitError is git remote-http's exit status, which the helper exits with.
type ExitError int

func (e ExitError) Error() string {
	return "git remote-http exited with status " + strconv.Itoa(int(e))
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

// envConfigParameters is where git keeps the settings of `git -c` for the
// programs it runs.
const envConfigParameters = "GIT_CONFIG_PARAMETERS"

// injectConfig returns env with the git configuration, scoped to url, that
// hands git the password (or the transport's capability) as a header,
// makes git ask our helper, and no one else, should the server still want
// credentials, and keeps git from following a redirect with the header to
// another URL; more are further http.<url>.<name> settings (the
// transport's empty proxy).
//
// Nothing the environment or the user's configuration already holds can
// undo or shadow these entries, because they are the last ones git reads:
// git reads its configuration files, then GIT_CONFIG_COUNT's entries, then
// GIT_CONFIG_PARAMETERS from left to right (config.c,
// git_config_from_parameters), and the entries are appended at the end of
// GIT_CONFIG_PARAMETERS. So the empty credential.<url>.helper comes after
// every helper anyone configured (`git -c credential.helper=store`
// included), and followRedirects=false after every other value. Entries
// of the user's, in files, in GIT_CONFIG_COUNT (stale or duplicate
// GIT_CONFIG_KEY_n too: git reads those as it did for the git that ran
// this helper) or in GIT_CONFIG_PARAMETERS, are left as they are and come
// first, so a user's own http.extraHeader is still sent. Of several
// GIT_CONFIG_PARAMETERS, the first is the one git reads; it is extended,
// the others are dropped.
//
// An environment git cannot read (GIT_CONFIG_COUNT not a number, a
// GIT_CONFIG_KEY_n missing below it, a malformed GIT_CONFIG_PARAMETERS)
// never gets here from git, which refuses it before it runs any remote
// helper, naming the variable; run by hand with one, git's https helper
// refuses it the same way before it sends a request.
func injectConfig(env []string, url, helper, header string, more ...[2]string) []string {
	var b strings.Builder
	entries := [][2]string{
		{"credential." + url + ".helper", ""}, // forget every helper configured so far
		{"credential." + url + ".helper", helper},
		{"credential." + url + ".useHttpPath", "true"},
		{"http." + url + ".extraHeader", header},
		{"http." + url + ".followRedirects", "false"},
	}
	for _, m := range more {
		entries = append(entries, [2]string{"http." + url + "." + m[0], m[1]})
	}
	for _, e := range entries {
		b.WriteByte(' ')
		sqQuote(&b, e[0])
		b.WriteByte('=')
		sqQuote(&b, e[1])
	}
	ours := b.String()
	out := make([]string, 0, len(env)+1)
	params, found := "", false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, envConfigParameters+"="); ok {
			if !found {
				params, found = v, true
			}
			continue
		}
		out = append(out, kv)
	}
	if params == "" {
		ours = ours[1:]
	}
	return append(out, envConfigParameters+"="+params+ours)
}

// sqQuote writes s in single quotes, as git's sq_quote_buf does and
// sq_dequote reads back: a single quote inside s closes the quotes, comes
// escaped with a backslash, and opens them again.
func sqQuote(b *strings.Builder, s string) {
	b.WriteByte('\'')
	b.WriteString(strings.ReplaceAll(s, "'", `'\''`))
	b.WriteByte('\'')
}
