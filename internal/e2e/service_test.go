//go:build unix

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestInstallWritesTheUserUnit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the systemd user unit is Linux's")
	}
	e := newEnv(t)
	// No session bus: systemctl --user cannot reach any real user manager,
	// whatever the machine running the test has.
	e.Extra = []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent"}
	unit := filepath.Join(e.Home, ".config", "systemd", "user", "codecommitd.service")
	exe := filepath.Join(bin, "codecommitd")

	printed, _, err := e.Run(ctx(t), "", "codecommitd", "install", "--print")
	if err != nil || !strings.Contains(printed, "ExecStart="+exe+" run\n") || !strings.Contains(printed, "WantedBy=default.target") {
		t.Fatalf("install --print: %v\n%s", err, printed)
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Fatal("install --print wrote the unit")
	}

	// A daemon git started holds the socket: install hands it over to the
	// service (or the service's daemon would find the socket taken).
	if out, stderr, err := e.Run(ctx(t), "", "codecommitd", "start"); err != nil {
		t.Fatalf("start: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err := e.Run(ctx(t), "", "codecommitd", "install")
	if err != nil {
		t.Fatalf("install failed where systemd does not run: %v\n%s%s", err, out, stderr)
	}
	if !strings.Contains(out, "stopped the daemon that was running") {
		t.Errorf("install did not hand the running daemon over:\n%s", out)
	}
	if _, err := net.Dial("unix", e.Socket); err == nil {
		t.Error("the autostarted daemon still answers after install")
	}
	written, err := os.ReadFile(unit)
	if err != nil {
		t.Fatalf("no unit in ~/.config/systemd/user: %v\n%s", err, out)
	}
	if string(written) != printed {
		t.Errorf("installed unit differs from install --print:\n%s", written)
	}
	if !strings.Contains(out, "service: installed ("+unit+"), but it could not start now: systemd does not run for this user here") ||
		!strings.Contains(out, "meanwhile git starts the daemon when it needs it") || strings.Count(out, "\n") != 2 {
		t.Errorf("install did not say in one line what it did and did not do:\n%s", out)
	}

	out, _, err = e.Run(ctx(t), "", "codecommitd", "uninstall")
	if err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Errorf("uninstall left the unit: %v", err)
	}
}
