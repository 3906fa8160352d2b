// Package gitversion reads the version of a git binary and says what it
// can do, for the remote helper (which must know before it hands git the
// password) and for `codecommitd doctor`. Running `git --version` costs a
// process, so the answer is remembered per binary in a private cache
// folder. It uses only the standard library: the helpers call it on every
// git operation.
package gitversion

import (
	"fmt"
	"io"
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
// cacheDir is created private when missing; one that is not private is
// neither read nor written, and "" means do not remember. The file is
// opened as privdir opens every file another user may have placed: a
// FIFO, a link or another user's file there is not used, never waited on.
func Of(path, cacheDir string) (Version, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Version{}, err
	}
	key := fmt.Sprintf("%s\t%d\t%d", path, fi.Size(), fi.ModTime().UnixNano())
	cacheFile := filepath.Join(cacheDir, cacheName)
	private := cacheDir != "" && privdir.Check(cacheDir) == nil
	var lines []string
	if private {
		lines = read(cacheFile)
		if v, ok := lookup(lines, key); ok {
			return v, nil
		}
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return Version{}, fmt.Errorf("running %s --version: %w", path, err)
	}
	v, err := Parse(string(out))
	if err != nil {
		return Version{}, err
	}
	if cacheDir != "" && !private {
		private = privdir.Ensure(cacheDir) == nil
	}
	if private {
		remember(cacheFile, lines, key, v)
	}
	return v, nil
}

// cacheName is the cache file's name in the cache folder.
const cacheName = "git-versions"

// maxCache bounds what is read of the cache file: it holds a few dozen
// short lines.
const maxCache = 16 << 10

// read returns the lines of the cache file; none when it is missing,
// unreadable, or not a regular 0600 file of this user's.
func read(file string) []string {
	f, err := privdir.OpenFile(file, os.O_RDONLY, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCache))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// lookup finds key's version among the cache's lines.
func lookup(lines []string, key string) (Version, bool) {
	for _, l := range lines {
		k, v, ok := strings.Cut(l, "\tv")
		if ok && k == key {
			if gv, err := Parse("git version " + v); err == nil {
				return gv, true
			}
		}
	}
	return Version{}, false
}

// remember writes the cache's last lines and key's version to file: to a
// new file of its own (privdir.OpenFile, O_EXCL: nothing at that name is
// written through), renamed into place. Failures only cost a git run next
// time.
func remember(file string, lines []string, key string, v Version) {
	if len(lines) > 32 {
		lines = lines[len(lines)-32:]
	}
	lines = append(lines, key+"\tv"+v.String())
	tmp := file + "." + strconv.Itoa(os.Getpid())
	os.Remove(tmp) // left by a process of this pid that died; the folder is private
	f, err := privdir.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return
	}
	_, err = f.WriteString(strings.TrimSpace(strings.Join(lines, "\n")) + "\n")
	if cerr := f.Close(); err == nil && cerr == nil && os.Rename(tmp, file) == nil {
		return
	}
	os.Remove(tmp)
}
