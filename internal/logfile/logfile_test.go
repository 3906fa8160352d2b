//go:build unix

package logfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func privateDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCapped writes far more than the limit: at no point do the file and
// its one predecessor hold more than the limit each, nothing else is
// created, no record is split, and the newest records are kept.
func TestCapped(t *testing.T) {
	path := filepath.Join(privateDir(t), "logs", "codecommitd.log")
	const limit = 1000
	w, err := Open(path, limit)
	if err != nil {
		t.Fatal(err)
	}
	const recordSize = 90
	var last []byte
	for i := range 500 {
		last = fmt.Appendf(nil, "%05d %s\n", i, strings.Repeat("x", recordSize-7))
		if _, err := w.Write(last); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + ".1"} {
			if fi, err := os.Stat(p); err == nil && fi.Size() > limit {
				t.Fatalf("after %d records %s holds %d bytes, more than the limit %d", i+1, p, fi.Size(), limit)
			}
		}
	}
	w.Close()
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 2 {
		t.Errorf("the log folder holds %d files, want the log and one .1: %v", len(entries), entries)
	}
	for _, p := range []string{path, path + ".1"} {
		b, _ := os.ReadFile(p)
		fi, _ := os.Stat(p)
		if len(b)%recordSize != 0 || len(b) == 0 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %d bytes, mode %v; want whole 90-byte records, 0600", p, len(b), fi.Mode().Perm())
		}
	}
	if b, _ := os.ReadFile(path); !bytes.HasSuffix(b, last) {
		t.Error("the newest record is not at the end of the log")
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Errorf("log folder made with mode %v, want 0700", fi.Mode().Perm())
	}
}

// TestAppendsAndCountsWhatIsThere: a restarted daemon appends, and counts
// what the file already holds toward the limit.
func TestAppendsAndCountsWhatIsThere(t *testing.T) {
	path := filepath.Join(privateDir(t), "d.log")
	os.WriteFile(path, []byte(strings.Repeat("o", 950)), 0o600)
	w, err := Open(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("short\n"))
	w.Write([]byte(strings.Repeat("n", 60)))
	w.Close()
	if b, _ := os.ReadFile(path + ".1"); string(b) != strings.Repeat("o", 950)+"short\n" {
		t.Errorf(".1 = %d bytes, want the old content and the first record", len(b))
	}
	if b, _ := os.ReadFile(path); string(b) != strings.Repeat("n", 60) {
		t.Errorf("log = %q", b)
	}
	if _, err := w.Write([]byte("late\n")); err == nil {
		t.Error("a write after Close succeeded")
	}
}

// TestRefusesWhatAnotherUserCouldPlace: a log path that is a symlink, a
// FIFO or a file open to others, or a folder open to others, is refused in
// one line at once, and the file behind a link is left alone; so is the
// .1 name at rotation (a link there is replaced, not followed).
func TestRefusesWhatAnotherUserCouldPlace(t *testing.T) {
	for _, tc := range []struct {
		name string
		put  func(t *testing.T, path, victim string)
		want string
	}{
		{"symlink", func(t *testing.T, p, v string) { os.Symlink(v, p) }, "is a symbolic link"},
		{"dangling symlink", func(t *testing.T, p, v string) { os.Symlink(v+".nowhere", p) }, "is a symbolic link"},
		{"FIFO", func(t *testing.T, p, _ string) { syscall.Mkfifo(p, 0o600) }, "is not a regular file (a FIFO)"},
		{"mode 644", func(t *testing.T, p, _ string) { os.WriteFile(p, nil, 0o600); os.Chmod(p, 0o644) }, "chmod 600 "},
		{"folder 777", func(t *testing.T, p, _ string) { os.Chmod(filepath.Dir(p), 0o777) }, "will not keep the log in "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := privateDir(t)
			dir := filepath.Join(root, "logs")
			os.Mkdir(dir, 0o700)
			victim := filepath.Join(root, "victim")
			os.WriteFile(victim, []byte("mine\n"), 0o600)
			path := filepath.Join(dir, "d.log")
			tc.put(t, path, victim)
			done := make(chan error, 1)
			go func() {
				w, err := Open(path, 0)
				if err == nil {
					w.Write([]byte("written\n"))
					w.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Open = %v, want one line saying %q", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Open blocked")
			}
			if b, _ := os.ReadFile(victim); string(b) != "mine\n" {
				t.Errorf("the file behind the link was written: %q", b)
			}
		})
	}
	t.Run("link at .1", func(t *testing.T) {
		dir := privateDir(t)
		victim := filepath.Join(dir, "victim")
		os.WriteFile(victim, []byte("mine\n"), 0o600)
		path := filepath.Join(dir, "d.log")
		os.Symlink(victim, path+".1")
		w, err := Open(path, 10)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("0123456789"))
		w.Write([]byte("next\n"))
		w.Close()
		if b, _ := os.ReadFile(victim); string(b) != "mine\n" {
			t.Errorf("rotation wrote through the link at .1: %q", b)
		}
		if fi, _ := os.Lstat(path + ".1"); !fi.Mode().IsRegular() {
			t.Error(".1 is not the rotated log")
		}
	})
}

// TestAFailedReopenIsTriedAgain: when the file cannot be opened again after
// a rotation (here a FIFO took its place, and the rename failed), writes
// fail at once, the next try comes ReopenInterval later (not at every
// write), it is said once on stderr, and once the file opens the log goes
// on in it.
func TestAFailedReopenIsTriedAgain(t *testing.T) {
	dir := privateDir(t)
	path := filepath.Join(dir, "d.log")
	w, err := Open(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	now := time.Unix(1000, 0)
	var stderr bytes.Buffer
	w.now, w.stderr = func() time.Time { return now }, &stderr
	if _, err := w.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	// The rename to .1 fails (a folder with something in it is there),
	// and what is at the path then is a FIFO.
	os.MkdirAll(filepath.Join(path+".1", "x"), 0o700)
	os.Remove(path)
	syscall.Mkfifo(path, 0o600)
	for i := range 3 {
		if _, err := w.Write([]byte("lost\n")); err == nil {
			t.Fatalf("write %d succeeded with a FIFO at the log's path", i)
		}
		now = now.Add(ReopenInterval / 2)
	}
	want := "codecommitd: cannot open the log again after rotating it: log file " + path + " is not a regular file (a FIFO); move it away, or choose another path with --log-file; what is logged is lost until it opens (tried again once a minute)\n"
	if stderr.String() != want {
		t.Errorf("stderr\n got: %q\nwant: %q", stderr.String(), want)
	}
	os.Remove(path)
	now = now.Add(ReopenInterval / 4) // 3/4 of an interval since the last try
	if _, err := w.Write([]byte("early\n")); err == nil {
		t.Error("tried again before ReopenInterval had passed")
	}
	now = now.Add(ReopenInterval / 4)
	if _, err := w.Write([]byte("back\n")); err != nil {
		t.Fatalf("the write after ReopenInterval: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "back\n" {
		t.Errorf("the reopened log holds %q, want %q", b, "back\n")
	}
	if strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("said more than once:\n%s", stderr.String())
	}
}
