//go:build unix

package privdir

import (
	"errors"
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

func TestEnsureCreatesOnlyWhatIsMissingAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "a", "b", "codecommitd")
	if err := Ensure(fresh); err != nil {
		t.Fatalf("Ensure(missing) = %v", err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("created %v, %v; want a 0700 folder", fi, err)
	}
	if err := Ensure(fresh); err != nil {
		t.Fatalf("Ensure(own private) = %v", err)
	}

	for _, tc := range []struct {
		name  string
		mode  os.FileMode
		fixes []string // words the fix must hold
		never string   // advice it must not give
	}{
		{"shared like /tmp", 0o777 | os.ModeSticky, []string{"--socket", "mkdir -m 700"}, "chmod"},
		{"home-like 0755", 0o755, []string{"--socket"}, "chmod"},
		{"codecommitd-named, ours, open", 0o750, []string{"chmod 700"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "x"
			if strings.HasPrefix(tc.name, "codecommitd") {
				name = "codecommitd-1000"
			}
			d := filepath.Join(t.TempDir(), name)
			os.Mkdir(d, 0o700)
			os.Chmod(d, tc.mode)
			before, _ := os.Stat(d)
			err := Ensure(d)
			var np *NotPrivateError
			if !errors.As(err, &np) {
				t.Fatalf("Ensure(%v) = %v, want a NotPrivateError", tc.mode, err)
			}
			after, _ := os.Stat(d)
			if after.Mode() != before.Mode() {
				t.Fatalf("Ensure changed the folder's mode from %v to %v", before.Mode(), after.Mode())
			}
			fix := np.Fix("--socket")
			for _, w := range tc.fixes {
				if !strings.Contains(fix, w) {
					t.Errorf("fix %q does not say %q", fix, w)
				}
			}
			if tc.never != "" && strings.Contains(fix, tc.never) {
				t.Errorf("fix %q advises %q on a folder codecommitd did not create", fix, tc.never)
			}
		})
	}

	// A symlink where the folder should be is refused, not followed.
	target := t.TempDir()
	link := filepath.Join(dir, "link")
	os.Symlink(target, link)
	if err := Ensure(link); err == nil {
		t.Error("Ensure followed a symlink")
	}
}
