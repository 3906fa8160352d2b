package testprobe

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// ShortDir returns a new private folder (0700) for the test whose path is
// short enough for Unix sockets several levels below it, and removes it
// when the test ends. It is made under /tmp, else (Windows, a system
// without /tmp) under the temp dir: TMPDIR may be long (macOS's alone is
// about 49 bytes, a private one of a user's can be 120), while a socket path
// must fit in 107 bytes (103 on macOS). The test's own t.TempDir() is for
// everything else.
func ShortDir(t testing.TB) string {
	t.Helper()
	base := os.TempDir()
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat("/tmp"); err == nil && fi.IsDir() {
			base = "/tmp"
		}
	}
	dir, err := os.MkdirTemp(base, "cc")
	if err != nil {
		t.Fatalf("making a folder for the test's sockets: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// RequireOthersCanEnter skips the test unless every folder above dir lets
// other users pass (search permission for others), as a test that runs a
// process as another user in dir needs. A private TMPDIR (mode 0700) above a
// ShortDir without /tmp is the usual reason; the folders' modes are not the
// test's to change.
func RequireOthersCanEnter(t testing.TB, dir string) {
	t.Helper()
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			t.Skipf("another user cannot enter %s (mode %v, %v), and this test runs a process as another user below it; run it with TMPDIR in a folder others may pass through", d, modeOf(fi), err)
		}
		if parent := filepath.Dir(d); parent == d {
			return
		}
	}
}

func modeOf(fi os.FileInfo) any {
	if fi == nil {
		return "unknown"
	}
	return fi.Mode().Perm()
}
