package remotehelper

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/codecommitd/codecommitd/internal/sockpath"
)

type gitVersion [3]int

func (v gitVersion) atLeast(min gitVersion) bool {
	for i := range v {
		if v[i] != min[i] {
			return v[i] > min[i]
		}
	}
	return true
}

func (v gitVersion) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

var gitVersionRE = regexp.MustCompile(`git version (\d+)\.(\d+)(?:\.(\d+))?`)

func parseGitVersion(out string) (gitVersion, error) {
	m := gitVersionRE.FindStringSubmatch(out)
	if m == nil {
		return gitVersion{}, fmt.Errorf("cannot read the git version from %q", strings.TrimSpace(out))
	}
	var v gitVersion
	for i := range 3 {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v, nil
}

// versionOf returns the version of the git binary at path. Running git
// costs a process per git operation, so the answer is remembered in a file
// in the daemon's private socket folder, keyed by the binary's path, size
// and modification time.
func versionOf(path string, getenv func(string) string) (gitVersion, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return gitVersion{}, err
	}
	key := fmt.Sprintf("%s\t%d\t%d", path, fi.Size(), fi.ModTime().UnixNano())
	dir := filepath.Dir(sockpath.Default(getenv))
	cacheFile := filepath.Join(dir, "git-versions")
	private := sockpath.CheckPrivate(dir) == nil // never trust or feed a folder others can write
	if v, ok := lookupVersion(cacheFile, key); ok && private {
		return v, nil
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return gitVersion{}, fmt.Errorf("running %s --version: %w", path, err)
	}
	v, err := parseGitVersion(string(out))
	if err != nil {
		return gitVersion{}, err
	}
	if private {
		rememberVersion(cacheFile, key, v)
	}
	return v, nil
}

func lookupVersion(file, key string) (gitVersion, bool) {
	f, err := os.Open(file)
	if err != nil {
		return gitVersion{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "\tv")
		if ok && k == key {
			if gv, err := parseGitVersion("git version " + v); err == nil {
				return gv, true
			}
		}
	}
	return gitVersion{}, false
}

// rememberVersion adds key's version to file, if its folder exists (the
// daemon makes it private); failures only cost a git run next time.
func rememberVersion(file, key string, v gitVersion) {
	if _, err := os.Stat(filepath.Dir(file)); err != nil {
		return
	}
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
