//go:build unix

package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListenNeverChangesAFolderItDidNotCreate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode os.FileMode
	}{
		{"shared like /tmp", 0o777 | os.ModeSticky},
		{"like a home folder", 0o755},
		{"group-readable", 0o750},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			os.Mkdir(dir, 0o700)
			os.Chmod(dir, tc.mode)
			before, _ := os.Stat(dir)
			s, err := listen(filepath.Join(dir, "cc.sock"))
			if err == nil {
				s.Close()
				t.Fatal("listened in a folder open to other users")
			}
			after, _ := os.Stat(dir)
			if after.Mode() != before.Mode() {
				t.Fatalf("the daemon changed %s from %v to %v", dir, before.Mode(), after.Mode())
			}
			msg := err.Error()
			if !strings.Contains(msg, "--socket") || strings.Contains(msg, "chmod") {
				t.Errorf("refusal %q: want the --socket fix and no chmod advice", msg)
			}
			if _, err := os.Stat(filepath.Join(dir, "cc.sock.lock")); err == nil {
				t.Error("a lock file was created in the refused folder")
			}
		})
	}
}

func TestListenCreatesItsOwnFolderPrivateAndCleansUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "codecommitd")
	sock := filepath.Join(dir, "d.sock")
	s, err := listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	si, _ := os.Stat(sock)
	if fi.Mode().Perm() != 0o700 || si.Mode().Perm()&0o077 != 0 {
		t.Errorf("folder %v, socket %v: want 0700 and 0600", fi.Mode().Perm(), si.Mode().Perm())
	}
	if _, err := listen(sock); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("a second listen = %v, want ErrAlreadyRunning", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sock, sock + ".lock"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left behind after a clean stop", p)
		}
	}
}

func TestLockFileIsNeverFollowed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "codecommitd")
	os.Mkdir(dir, 0o700)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep me\n"), 0o600)
	os.Symlink(victim, filepath.Join(dir, "d.sock.lock"))
	if s, err := listen(filepath.Join(dir, "d.sock")); err == nil {
		s.Close()
		t.Fatal("took a lock through a symlink")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me\n" {
		t.Fatalf("the symlink's target was written: %q", b)
	}
}
