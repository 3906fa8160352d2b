//go:build unix

package gitversion

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stubGit writes a git that prints version 2.45.1 and notes each run.
func stubGit(t *testing.T) (git, runs string) {
	t.Helper()
	dir := t.TempDir()
	git, runs = filepath.Join(dir, "git"), filepath.Join(dir, "runs")
	os.WriteFile(git, []byte("#!/bin/sh\necho run >> "+runs+"\necho 'git version 2.45.1'\n"), 0o755)
	return git, runs
}

// ofWithin runs Of and fails the test if it does not return within a
// deadline far longer than a git run takes: nothing at the cache's name may
// hold it.
func ofWithin(t *testing.T, git, cacheDir string) Version {
	t.Helper()
	done := make(chan Version, 1)
	go func() {
		v, err := Of(git, cacheDir)
		if err != nil {
			t.Errorf("Of: %v", err)
		}
		done <- v
	}()
	select {
	case v := <-done:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("Of(%s, %q) blocked", git, cacheDir)
		return Version{}
	}
}

// TestAnotherUsersCacheIsNotOpened: a cache folder of another user's
// (0755, uid 65534) with a FIFO open to all at the cache's name is neither
// read nor written: git is asked, at once, and the FIFO is left alone.
func TestAnotherUsersCacheIsNotOpened(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to make a folder of another user (uid 65534)")
	}
	dir := filepath.Join(t.TempDir(), "codecommitd")
	os.Mkdir(dir, 0o755)
	fifo := filepath.Join(dir, cacheName)
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(fifo, 0o666)
	if err := os.Lchown(fifo, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	git, _ := stubGit(t)
	if v := ofWithin(t, git, dir); v != (Version{2, 45, 1}) {
		t.Errorf("Of = %v, want 2.45.1", v)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v, %v", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Of wrote into another user's folder: %v", entries)
	}
}

// TestNoCacheDirMeansNoCacheFile: without a cache folder Of neither reads
// nor writes a cache file, not even one in the working directory (git's,
// the repository's), where a FIFO of that name would hold it.
func TestNoCacheDirMeansNoCacheFile(t *testing.T) {
	cwd := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(cwd, cacheName), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(cwd)
	git, runs := stubGit(t)
	for range 2 {
		if v := ofWithin(t, git, ""); v != (Version{2, 45, 1}) {
			t.Errorf("Of = %v, want 2.45.1", v)
		}
	}
	if b, _ := os.ReadFile(runs); strings.Count(string(b), "run") != 2 {
		t.Errorf("git ran %d times for 2 lookups without a cache, want 2", strings.Count(string(b), "run"))
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 1 {
		t.Errorf("Of wrote into the working directory: %v", entries)
	}
}

// TestAFIFOInOurCacheIsNotWaitedOn: in a private cache folder of ours, a
// FIFO at the cache's name is not opened for reading (it would block); the
// version is remembered in a regular file put in its place.
func TestAFIFOInOurCacheIsNotWaitedOn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "codecommitd")
	os.Mkdir(dir, 0o700)
	if err := syscall.Mkfifo(filepath.Join(dir, cacheName), 0o600); err != nil {
		t.Fatal(err)
	}
	git, runs := stubGit(t)
	for range 2 {
		if v := ofWithin(t, git, dir); v != (Version{2, 45, 1}) {
			t.Errorf("Of = %v, want 2.45.1", v)
		}
	}
	if b, _ := os.ReadFile(runs); strings.Count(string(b), "run") != 1 {
		t.Errorf("git ran %d times for 2 lookups, want 1 (then the cache)", strings.Count(string(b), "run"))
	}
}
