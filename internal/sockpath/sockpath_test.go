package sockpath

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestDefault(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := Default(env(map[string]string{envvar.Socket: "/x/s.sock", "XDG_RUNTIME_DIR": "/run/user/1"})); got != "/x/s.sock" {
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
	dir := testprobe.ShortDir(t)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	long := "/" + strings.Repeat("d", 120) + "/s.sock"
	huge := "/" + strings.Repeat("é", 150) + "/s.sock"
	cut := strings.ToValidUTF8(huge[:MaxLen/2], "") + "…" + strings.ToValidUTF8(huge[len(huge)-MaxLen/2:], "")
	for _, tc := range []struct {
		name, path, want string
	}{
		{"the default", "/run/user/1000/codecommitd/codecommitd.sock", ""},
		{"nothing there yet", filepath.Join(dir, "d.sock"), ""},
		{"in a folder not made yet", filepath.Join(dir, "run", "d.sock"), ""},
		{"too long", long, fmt.Sprintf("socket path %s is 128 bytes long; the limit here is %d (107 on Linux, 103 on macOS and the BSDs): choose a shorter path with CODECOMMITD_SOCKET or --socket", long, MaxLen)},
		{"much too long: the middle is cut", huge, fmt.Sprintf("socket path %s is 308 bytes long; the limit here is %d (107 on Linux, 103 on macOS and the BSDs): choose a shorter path with CODECOMMITD_SOCKET or --socket", cut, MaxLen)},
		{"a regular file", file, "socket path " + file + " is a regular file, not a socket; move it away, or choose another path with CODECOMMITD_SOCKET or --socket"},
		{"a folder", dir, "socket path " + dir + " is a folder, not a socket; move it away, or choose another path with CODECOMMITD_SOCKET or --socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := Check(tc.path); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Check(%s)\n got: %s\nwant: %s", tc.path, got, tc.want)
			}
		})
	}
}
