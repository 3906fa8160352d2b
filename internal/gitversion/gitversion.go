// Package gitversion reads the version of a git binary and says what it
// can do, for the remote helper (which must know before it hands git the
// password) and for `codecommitd doctor`. Running `git --version` costs a
// process, so the answer is remembered per binary in a private cache
// folder. It uses only the standard library: the helpers call it on every
// git operation.
package gitversion

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/codecommitd/codecommitd/internal/privdir"
)

// Version is a git version: major, minor, patch.
type Version [3]int

// Versions that change how codecommitd hands git the password.
var (
	// ConfigEnv reads configuration from GIT_CONFIG_COUNT/KEY_n/VALUE_n and
	// the quoted 'key'='value' form of GIT_CONFIG_PARAMETERS.
	ConfigEnv = Version{2, 31, 0}
	// ProactiveAuth knows http.proactiveAuth, which asks for credentials
	// before the first request instead of after a 401.
	ProactiveAuth = Version{2, 46, 0}
)

// AtLeast reports whether v is min or newer.
func (v Version) AtLeast(min Version) bool {
	for i := range v {
		if v[i] != min[i] {
			return v[i] > min[i]
		}
	}
	return true
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

var versionRE = regexp.MustCompile(`git version (\d+)\.(\d+)(?:\.(\d+))?`)

// Parse reads the output of `git --version`.
func Parse(out string) (Version, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return Version{}, fmt.Errorf("cannot read the git version from %q", strings.TrimSpace(out))
	}
	var v Version
	for i := range 3 {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v, nil
}

// CacheDir is where versions are remembered: $XDG_CACHE_HOME/codecommitd,
// else the platform's user cache folder (~/.cache, ~/Library/Caches), as
// getenv reports the environment; "" when there is none.
func CacheDir(getenv func(string) string) string {
	if d := getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "codecommitd")
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "codecommitd")
}

// Of returns the version of the git binary at path, remembered in a file
// in cacheDir keyed by the binary's path, size and modification time.
// cacheDir is created private when missing and never trusted or written
// when it is not private; "" means do not remember.
func Of(path, cacheDir string) (Version, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Version{}, err
	}
	key := fmt.Sprintf("%s\t%d\t%d", path, fi.Size(), fi.ModTime().UnixNano())
	cacheFile := filepath.Join(cacheDir, "git-versions")
	private := cacheDir != "" && privdir.Check(cacheDir) == nil
	if v, ok := lookup(cacheFile, key); ok && private {
		return v, nil
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return Version{}, fmt.Errorf("running %s --version: %w", path, err)
	}
	v, err := Parse(string(out))
	if err != nil {
		return Version{}, err
	}
	if cacheDir != "" && !private && os.MkdirAll(cacheDir, 0o700) == nil {
		private = privdir.Check(cacheDir) == nil
	}
	if private {
		remember(cacheFile, key, v)
	}
	return v, nil
}

func lookup(file, key string) (Version, bool) {
	f, err := os.Open(file)
	if err != nil {
		return Version{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "\tv")
		if ok && k == key {
			if gv, err := Parse("git version " + v); err == nil {
				return gv, true
			}
		}
	}
	return Version{}, false
}

// remember adds key's version to file; failures only cost a git run next
// time.
func remember(file, key string, v Version) {
	old, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSpace(string(old)), "\n")
	if len(lines) > 32 {
		lines = lines[len(lines)-32:]
	}
	lines = append(lines, key+"\tv"+v.String())
	tmp := file + "." + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, []byte(strings.TrimSpace(strings.Join(lines, "\n"))+"\n"), 0o600); err == nil {
		if os.Rename(tmp, file) != nil {
			os.Remove(tmp)
		}
	}
}
