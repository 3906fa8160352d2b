package awsprofile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Files are the shared config and credentials files a request reads.
type Files struct {
	Config      []string
	Credentials []string
}

func (f Files) all() []string {
	return append(append([]string(nil), f.Config...), f.Credentials...)
}

// filesFor returns the files named by AWS_CONFIG_FILE and
// AWS_SHARED_CREDENTIALS_FILE in env, else those under env's HOME (falling
// back to the daemon's home directory).
func filesFor(env map[string]string) Files {
	home := env["HOME"]
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	f := Files{
		Config:      []string{filepath.Join(home, ".aws", "config")},
		Credentials: []string{filepath.Join(home, ".aws", "credentials")},
	}
	if v := env["AWS_CONFIG_FILE"]; v != "" {
		f.Config = []string{expandHome(v, home)}
	}
	if v := env["AWS_SHARED_CREDENTIALS_FILE"]; v != "" {
		f.Credentials = []string{expandHome(v, home)}
	}
	return f
}

func expandHome(p, home string) string {
	if p == "~" {
		return home
	}
	if len(p) > 1 && p[0] == '~' && (p[1] == '/' || p[1] == filepath.Separator) {
		return filepath.Join(home, p[2:])
	}
	return p
}

// stamp identifies one version of a file without reading it.
type stamp struct {
	path   string
	exists bool
	size   int64
	mod    time.Time
	ino    uint64
}

func stampOf(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return stamp{path: path}, nil
	}
	if err != nil {
		return stamp{}, err
	}
	return stamp{path: path, exists: true, size: fi.Size(), mod: fi.ModTime(), ino: inode(fi)}, nil
}

func stampsOf(f Files) ([]stamp, error) {
	out := make([]stamp, 0, len(f.Config)+len(f.Credentials))
	for _, p := range append(append([]string(nil), f.Config...), f.Credentials...) {
		s, err := stampOf(p)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func sameStamps(a, b []stamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].path != b[i].path || a[i].exists != b[i].exists || a[i].size != b[i].size ||
			!a[i].mod.Equal(b[i].mod) || a[i].ino != b[i].ino {
			return false
		}
	}
	return true
}
