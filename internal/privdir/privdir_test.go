//go:build unix

package privdir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
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

// TestCheckWalksTheAncestors: a private folder is only as private as the
// folders above it. One someone else can write to (not sticky) or owns
// lets them swap the folder for theirs after the check; /tmp (sticky, of
// root) does not. The refusal names the ancestor; Ensure makes nothing
// under one.
func TestCheckWalksTheAncestors(t *testing.T) {
	base := filepath.Join("/tmp", "privdir-"+strings.ReplaceAll(t.Name(), "/", "-"))
	os.RemoveAll(base)
	if err := os.Mkdir(base, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	uid := os.Getuid()
	for _, tc := range []struct {
		name string
		// setup makes the parent of the private folder "leaf" and
		// returns the parent's path.
		setup  func(t *testing.T, dir string) string
		root   bool   // needs root
		reason string // %s: the parent, %o: a link's target, %d: this uid; "" for fine
	}{
		{"under tmp (sticky, of root)", func(t *testing.T, dir string) string { return dir }, false, ""},
		{"under a folder others may write to", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "shared")
			os.Mkdir(p, 0o700)
			os.Chmod(p, 0o777)
			return p
		}, false, "is inside %s, which others may write to (mode drwxrwxrwx): they could put a folder of theirs in its place"},
		{"under a folder its group may write to", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "group")
			os.Mkdir(p, 0o700)
			os.Chmod(p, 0o770)
			return p
		}, false, "is inside %s, which others may write to (mode drwxrwx---): they could put a folder of theirs in its place"},
		{"under a sticky folder others may write to", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "sticky")
			os.Mkdir(p, 0o700)
			os.Chmod(p, 0o777|os.ModeSticky)
			return p
		}, false, ""},
		{"under another user's folder", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "theirs")
			os.Mkdir(p, 0o755)
			os.Chown(p, 65534, 65534)
			return p
		}, true, "is inside %s, which belongs to uid 65534, not to this user (uid %d) or root: that user could put a folder of theirs in its place"},
		{"through another user's link", func(t *testing.T, dir string) string {
			real := filepath.Join(dir, "real")
			os.Mkdir(real, 0o755)
			p := filepath.Join(dir, "link")
			os.Symlink(real, p)
			os.Lchown(p, 65534, 65534)
			return p
		}, true, "is reached through the link %s, which belongs to uid 65534, not to this user (uid %d) or root: that user could put a folder of theirs in its place"},
		{"through a link to a folder others may write to", func(t *testing.T, dir string) string {
			real := filepath.Join(dir, "open")
			os.Mkdir(real, 0o700)
			os.Chmod(real, 0o777)
			p := filepath.Join(dir, "to-open")
			os.Symlink(real, p)
			return p
		}, false, "is inside %o, which others may write to (mode drwxrwxrwx): they could put a folder of theirs in its place"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && uid != 0 {
				t.Skip("needs root to give a folder to another user")
			}
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			os.Mkdir(dir, 0o700)
			parent := tc.setup(t, dir)
			leaf := filepath.Join(parent, "leaf")
			os.Mkdir(leaf, 0o700)
			want := ""
			if tc.reason != "" {
				want = leaf + " " + strings.NewReplacer("%s", parent, "%o", filepath.Join(dir, "open"), "%d", strconv.Itoa(uid)).Replace(tc.reason)
			}
			got := ""
			err := Check(leaf)
			if err != nil {
				got = err.Error()
			}
			if got != want {
				t.Fatalf("Check(%s)\n got: %s\nwant: %s", leaf, got, want)
			}
			if want == "" {
				return
			}
			var np *NotPrivateError
			if !errors.As(err, &np) || strings.Contains(np.Fix("--socket"), "chmod") {
				t.Errorf("Check(%s) = %#v: want a *NotPrivateError whose fix changes no folder", leaf, err)
			}
			fresh := filepath.Join(parent, "fresh", "codecommitd")
			if err := Ensure(fresh); !errors.As(err, &np) {
				t.Errorf("Ensure under it = %v, want a *NotPrivateError", err)
			}
			if _, err := os.Lstat(filepath.Dir(fresh)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Ensure made %s under a folder others control", filepath.Dir(fresh))
			}
		})
	}
}

// BenchmarkCheck is the cost of the check a helper makes of the socket's
// folder at every connection.
func BenchmarkCheck(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "run", "codecommitd")
	if err := Ensure(dir); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := Check(dir); err != nil {
			b.Fatal(err)
		}
	}
}
