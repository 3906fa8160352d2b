//go:build unix

package privdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenFileRefusesWhatAnotherUserCouldPlace builds, for each shape a
// file at a path may have, the file and opens it for reading, for appending
// and for creating: a regular 0600 file of ours opens; everything else is
// refused at once with a reason, without following a link, without
// blocking, and without touching what a link points to.
func TestOpenFileRefusesWhatAnotherUserCouldPlace(t *testing.T) {
	root := os.Getuid() == 0
	for _, tc := range []struct {
		name string
		// make builds the file at path; victim is a file of ours a
		// link may point to.
		make     func(t *testing.T, path, victim string)
		needRoot bool
		want     string // in the error; "" means it opens
		missing  bool   // reading gives fs.ErrNotExist
	}{
		{"regular 0600 of ours", func(t *testing.T, p, _ string) { write(t, p, 0o600) }, false, "", false},
		{"missing", func(*testing.T, string, string) {}, false, "", true},
		{"dangling symlink", func(t *testing.T, p, _ string) { symlink(t, filepath.Join(filepath.Dir(p), "nowhere"), p) }, false, "symbolic link", false},
		{"symlink to a file of ours", func(t *testing.T, p, v string) { symlink(t, v, p) }, false, "symbolic link", false},
		{"symlink to another user's file", func(t *testing.T, p, v string) { chown(t, v); symlink(t, v, p) }, true, "symbolic link", false},
		{"FIFO", func(t *testing.T, p, _ string) {
			if err := syscall.Mkfifo(p, 0o666); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, 0o666)
		}, false, "FIFO", false},
		{"directory", func(t *testing.T, p, _ string) { os.Mkdir(p, 0o700) }, false, "directory", false},
		{"another user's file", func(t *testing.T, p, _ string) { write(t, p, 0o600); chown(t, p) }, true, "belongs to uid 65534", false},
		{"mode 0644", func(t *testing.T, p, _ string) { write(t, p, 0o644) }, false, "open to other users (mode -rw-r--r--)", false},
		{"mode 0660", func(t *testing.T, p, _ string) { write(t, p, 0o660) }, false, "open to other users", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needRoot && !root {
				t.Skip("needs root to make a file of another user (uid 65534)")
			}
			dir := t.TempDir()
			path, victim := filepath.Join(dir, "f"), filepath.Join(dir, "victim")
			write(t, victim, 0o600)
			tc.make(t, path, victim)
			before := snapshot(t, victim)
			for _, flag := range []int{os.O_RDONLY, os.O_WRONLY | os.O_APPEND, os.O_WRONLY | os.O_CREATE | os.O_APPEND, os.O_RDWR | os.O_CREATE} {
				f, err := openWithin(t, path, flag)
				switch {
				case tc.want == "" && tc.missing && flag&os.O_CREATE == 0:
					if !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("flag %#x: %v, want not-exist", flag, err)
					}
				case tc.want == "":
					if err != nil {
						t.Errorf("flag %#x: %v, want it open", flag, err)
					}
				default:
					var fe *FileError
					if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), path+" ") {
						t.Errorf("flag %#x: %v, want a *FileError naming %s and saying %q", flag, err, path, tc.want)
					}
				}
				if f != nil {
					f.Close()
				}
			}
			if after := snapshot(t, victim); after != before {
				t.Errorf("what a link points to was changed: %s → %s", before, after)
			}
		})
	}
}

func TestOpenFileRefusesTruncation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	write(t, path, 0o600)
	if _, err := OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
		t.Fatal("O_TRUNC accepted: a file would be cut before it is checked")
	}
	if fi, _ := os.Stat(path); fi.Size() == 0 {
		t.Fatal("the file was truncated")
	}
}

// TestFileErrorFix: only a file of the user's own whose only fault is its
// mode gets chmod as the fix; anything else is moved away or replaced.
func TestFileErrorFix(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "own")
	write(t, own, 0o604)
	link := filepath.Join(dir, "link")
	symlink(t, own, link)
	for path, want := range map[string]string{own: "chmod 600 " + own, link: "move it away, or choose another path with --x"} {
		_, err := OpenFile(path, os.O_RDONLY, 0)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Fix("--x") != want {
			t.Errorf("OpenFile(%s) = %v, want the fix %q", path, err, want)
		}
	}
}

func TestRefusal(t *testing.T) {
	d := filepath.Join(t.TempDir(), "shared")
	os.Mkdir(d, 0o700)
	os.Chmod(d, 0o777|os.ModeSticky)
	err := Refusal(Ensure(d), "keep the cache", "--cache")
	var np *NotPrivateError
	want := "will not keep the cache in " + d + ": it is open to other users (mode dtrwxrwxrwx); choose a path in a private folder of your own with --cache (for example: mkdir -m 700 ~/.codecommitd)"
	if err == nil || err.Error() != want || !errors.As(err, &np) {
		t.Errorf("Refusal = %v\nwant    %s (unwrapping to the *NotPrivateError)", err, want)
	}
	other := errors.New("creating x: no space left on device")
	if err := Refusal(other, "keep the cache", "--cache"); err != other { //nolint:errorlint // the very error, not one wrapping it
		t.Errorf("Refusal changed an error that is not about privacy: %v", err)
	}
	if Refusal(nil, "", "") != nil {
		t.Error("Refusal(nil) is not nil")
	}
}

// openWithin runs OpenFile and fails the test if it does not return within
// a deadline far longer than any open takes: a FIFO must never hold it.
func openWithin(t *testing.T, path string, flag int) (*os.File, error) {
	t.Helper()
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := OpenFile(path, flag, 0o600)
		done <- result{f, err}
	}()
	select {
	case r := <-done:
		return r.f, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("OpenFile(%s, %#x) blocked", path, flag)
		return nil, nil
	}
}

func write(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("content\n"), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, mode)
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
}

// snapshot is what a test can tell of a file's content and mode.
func snapshot(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	fi, serr := os.Stat(path)
	if err != nil || serr != nil {
		return "unreadable"
	}
	return fi.Mode().String() + " " + string(b)
}
