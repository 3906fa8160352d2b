package client

import (
	"os"
	"path/filepath"
	"runtime"

	"github.com/codecommitd/codecommitd/internal/envvar"
)

// daemonEnviron returns the entries of environ an autostarted daemon keeps
// (package envvar declares them: read by envvar.Kept): where the user's
// files and runtime folders are, locale and time zone, how to reach AWS
// (proxies, endpoints, CA bundles, instance and container metadata), the
// keyring's session bus, and codecommitd's own settings. Everything else
// (GIT_DIR, GIT_CONFIG_*, the repository's hooks' variables, credentials)
// stays behind: the daemon outlives the git command and runs every
// profile's credential_process.
func daemonEnviron(environ []string) []string { return envvar.Filter(environ, envvar.Kept) }

// daemonDir is the working directory of an autostarted daemon: the root,
// so it never keeps a repository's folder busy.
func daemonDir() string {
	if runtime.GOOS == "windows" {
		if d := os.Getenv("SYSTEMDRIVE"); d != "" {
			return d + `\`
		}
		return filepath.VolumeName(os.TempDir()) + `\`
	}
	return "/"
}
