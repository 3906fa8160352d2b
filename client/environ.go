package client

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// daemonVars are the variables an autostarted daemon keeps from the
// environment of the git process that starts it: where the user's files
// and runtime folders are, locale and time zone, how to reach AWS (proxies,
// endpoints, CA bundles, instance and container metadata), the keyring's
// session bus, and codecommitd's own settings. Everything else (GIT_DIR,
// GIT_CONFIG_*, the repository's hooks' variables, credentials) stays
// behind: the daemon outlives the git command and runs every profile's
// credential_process.
var daemonVars = map[string]bool{
	"HOME": true, "USER": true, "LOGNAME": true, "PATH": true, "SHELL": true, "TMPDIR": true, "TZ": true,
	"LANG": true, "LANGUAGE": true,
	"XDG_RUNTIME_DIR": true, "XDG_STATE_HOME": true, "XDG_CONFIG_HOME": true, "XDG_CACHE_HOME": true, "XDG_DATA_HOME": true,
	"DBUS_SESSION_BUS_ADDRESS": true,
	"HTTP_PROXY":               true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
	"AWS_CA_BUNDLE": true, "AWS_EC2_METADATA_DISABLED": true, "AWS_EC2_METADATA_SERVICE_ENDPOINT": true,
	"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": true, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": true,
	"AWS_CONTAINER_CREDENTIALS_FULL_URI": true, "AWS_CONTAINER_AUTHORIZATION_TOKEN": true,
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": true, "AWS_STS_REGIONAL_ENDPOINTS": true, "AWS_USE_DUALSTACK_ENDPOINT": true,
	"AWS_MAX_ATTEMPTS": true, "AWS_RETRY_MODE": true,
	"CODECOMMITD_KEYRING": true, "GOGC": true, "GOMEMLIMIT": true,
	// Windows: what a process needs to start and find the user's profile.
	"SYSTEMROOT": true, "SYSTEMDRIVE": true, "WINDIR": true, "USERPROFILE": true, "APPDATA": true, "LOCALAPPDATA": true,
	"PROGRAMDATA": true, "TEMP": true, "TMP": true, "USERNAME": true, "USERDOMAIN": true, "COMSPEC": true, "PATHEXT": true,
}

// daemonVarPrefixes are families of variables kept the same way.
var daemonVarPrefixes = []string{"LC_", "AWS_ENDPOINT_URL"}

// daemonEnviron returns the entries of environ an autostarted daemon
// keeps.
func daemonEnviron(environ []string) []string {
	out := make([]string, 0, 24)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		name := k
		if runtime.GOOS == "windows" || strings.HasSuffix(strings.ToLower(k), "_proxy") {
			name = strings.ToUpper(k)
		}
		keep := daemonVars[name]
		for _, p := range daemonVarPrefixes {
			keep = keep || strings.HasPrefix(name, p)
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

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
