package testprobe

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestShortDirFitsASocket(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), strings.Repeat("x", 100)))
	d := ShortDir(t)
	fi, err := os.Stat(d)
	if err != nil || fi.Mode().Perm() != 0o700 && runtime.GOOS != "windows" {
		t.Fatalf("ShortDir = %s (%v, %v), want a private folder", d, fi.Mode(), err)
	}
	if len(filepath.Join(d, "run", "codecommitd", "codecommitd.sock.lock")) > 60 {
		t.Errorf("ShortDir = %s: too long for sockets below it", d)
	}
}

// skipRecorder is a testing.TB whose Skipf records the reason and ends
// the goroutine, as the real one does.
type skipRecorder struct {
	testing.TB
	skipped string
}

func (s *skipRecorder) Helper() {}
func (s *skipRecorder) Skipf(format string, args ...any) {
	s.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestRequireOthersCanEnter(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("folder modes are Unix's")
	}
	closed := filepath.Join(t.TempDir(), "closed")
	open := filepath.Join(closed, "open")
	if err := os.MkdirAll(open, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(closed, 0o700)
	defer os.Chmod(closed, 0o755)
	for _, tc := range []struct {
		dir, want string
	}{
		{filepath.Join(open, "x"), "another user cannot enter " + closed + " (mode -rwx------"},
		{"/", ""},
	} {
		r := &skipRecorder{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); RequireOthersCanEnter(r, tc.dir) }()
		<-done
		if tc.want == "" && r.skipped != "" || !strings.HasPrefix(r.skipped, tc.want) {
			t.Errorf("RequireOthersCanEnter(%s) skipped with %q, want %q", tc.dir, r.skipped, tc.want)
		}
	}
}
