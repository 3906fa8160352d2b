//go:build unix

package privdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "own")
	os.Mkdir(own, 0o700)
	if err := Check(own); err != nil {
		t.Errorf("own 0700 dir: %v", err)
	}
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	if err := Check(open); err == nil {
		t.Error("a world-writable dir passed")
	}
	link := filepath.Join(dir, "link")
	os.Symlink(own, link)
	if err := Check(link); err == nil {
		t.Error("a symlink passed")
	}
	if err := Check(filepath.Join(dir, "missing")); !IsNotExist(err) {
		t.Errorf("missing dir: %v, want not-exist", err)
	}
	if os.Getuid() == 0 {
		other := filepath.Join(dir, "other")
		os.Mkdir(other, 0o700)
		os.Chown(other, 65534, 65534)
		if err := Check(other); err == nil || !strings.Contains(err.Error(), "uid 65534") {
			t.Errorf("another user's dir: %v", err)
		}
	}
}
