package sockpath

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codecommitd/codecommitd/internal/envvar"
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
	if err := Check("/run/user/1000/codecommitd/codecommitd.sock"); err != nil {
		t.Error(err)
	}
	long := "/" + strings.Repeat("d", 120) + "/s.sock"
	if err := Check(long); err == nil || !strings.Contains(err.Error(), envvar.Socket) {
		t.Errorf("Check(long) = %v, want an error naming %s", err, envvar.Socket)
	}
}
