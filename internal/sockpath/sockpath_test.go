package sockpath

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := Default(env(map[string]string{EnvVar: "/x/s.sock", "XDG_RUNTIME_DIR": "/run/user/1"})); got != "/x/s.sock" {
		t.Errorf("override: got %s", got)
	}
	if got, want := Default(env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1"})), "/run/user/1/codecommitd/codecommitd.sock"; got != want {
		t.Errorf("xdg: got %s, want %s", got, want)
	}
	got := Default(env(nil))
	if !strings.HasPrefix(got, os.TempDir()) || filepath.Base(got) != "codecommitd.sock" || !strings.Contains(got, "codecommitd-") {
		t.Errorf("fallback: got %s", got)
	}
}

func TestCheck(t *testing.T) {
	if err := Check("/run/user/1000/codecommitd/codecommitd.sock"); err != nil {
		t.Error(err)
	}
	long := "/" + strings.Repeat("d", 120) + "/s.sock"
	if err := Check(long); err == nil || !strings.Contains(err.Error(), EnvVar) {
		t.Errorf("Check(long) = %v, want an error naming %s", err, EnvVar)
	}
}

func TestCheckPrivate(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "own")
	os.Mkdir(own, 0o700)
	if err := CheckPrivate(own); err != nil {
		t.Errorf("own 0700 dir: %v", err)
	}
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	if err := CheckPrivate(open); err == nil {
		t.Error("a world-writable dir passed")
	}
	link := filepath.Join(dir, "link")
	os.Symlink(own, link)
	if err := CheckPrivate(link); err == nil {
		t.Error("a symlink passed")
	}
	if err := CheckPrivate(filepath.Join(dir, "missing")); !IsNotExist(err) {
		t.Errorf("missing dir: %v, want not-exist", err)
	}
	if os.Getuid() == 0 {
		other := filepath.Join(dir, "other")
		os.Mkdir(other, 0o700)
		os.Chown(other, 65534, 65534)
		if err := CheckPrivate(other); err == nil || !strings.Contains(err.Error(), "uid 65534") {
			t.Errorf("another user's dir: %v", err)
		}
	}
}
