package svcmgr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/kardianos/service"

	"github.com/codecommitd/codecommitd/internal/clean"
)

// Manager is the user's service manager as the service commands use it.
// A unit can be installed where no manager runs (a container, CI, a login
// without systemd): Answers says whether this one can run the service now.
// System is the real one; tests of the commands use a fake.
type Manager interface {
	// String names the manager for people: "systemd", "launchd", "the
	// Service Control Manager".
	String() string
	// Path is the unit or plist the service is installed as ("" on
	// Windows, where the Service Control Manager keeps its own records).
	Path() string
	// Installed reports whether the service is installed.
	Installed() bool
	// Answers returns nil when the manager runs for this user here and can
	// start the service now, else why not, in a few words.
	Answers() error
	// Active reports whether the manager runs the service now.
	Active() bool
	// Install writes the unit or plist and registers it, so it starts at
	// every login; it does not start it.
	Install() error
	// Uninstall unregisters the service and removes its file, whether or
	// not the manager answers; it does not stop it.
	Uninstall() error
	// Start starts the service now; Stop stops it.
	Start() error
	Stop() error
	// Later says how the service starts where the manager did not answer
	// now: "at your next login where systemd runs (or: …)".
	Later() string
}

// System is the service manager of this system for c, through
// kardianos/service.
func System(c Config) Manager { return &system{c: c} }

type system struct{ c Config }

func (m *system) String() string {
	switch m.c.goos() {
	case "linux":
		return "systemd"
	case "darwin":
		return "launchd"
	}
	return "the Service Control Manager"
}

func (m *system) Path() string {
	r, err := Render(m.c)
	if err != nil {
		return ""
	}
	return r.Path
}

func (m *system) Installed() bool {
	if p := m.Path(); p != "" {
		_, err := os.Stat(p)
		return err == nil
	}
	s, err := New(m.c, nil)
	if err != nil {
		return false
	}
	_, err = s.Status()
	return !errors.Is(err, service.ErrNotInstalled)
}

// Answers asks systemd for its version: it answers only where a user
// manager runs (systemctl --user reaches it over the session bus).
// launchd and the Service Control Manager run wherever this user is logged
// in; a failure to start says otherwise.
func (m *system) Answers() error {
	if m.c.goos() != "linux" {
		return nil
	}
	if err := exec.Command("systemctl", "--user", "show", "--property=Version").Run(); err != nil {
		return fmt.Errorf("systemd does not run for this user here (systemctl --user: %s)", oneLine(err))
	}
	return nil
}

func (m *system) Active() bool {
	s, err := New(m.c, nil)
	if err != nil {
		return false
	}
	st, err := s.Status()
	return err == nil && st == service.StatusRunning
}

// Install writes the file and registers it. Writing is what counts: where
// the manager does not answer, the file is in place for the next login
// (systemctl --user enable works without a manager).
func (m *system) Install() error {
	r, err := Render(m.c)
	if err != nil {
		return err
	}
	if r.Path != "" {
		if old, err := os.ReadFile(r.Path); err == nil {
			if string(old) == r.Content {
				return nil
			}
			if err := os.Remove(r.Path); err != nil {
				return fmt.Errorf("replacing %s: %w", r.Path, err)
			}
		}
		if m.c.goos() == "darwin" {
			if err := os.MkdirAll(m.c.LogDir, 0o700); err != nil {
				return err
			}
		}
	}
	s, err := New(m.c, nil)
	if err != nil {
		return err
	}
	ierr := s.Install()
	if r.Path == "" {
		if ierr != nil {
			return fmt.Errorf("registering the service: %s", oneLine(ierr))
		}
		return nil
	}
	if _, err := os.Stat(r.Path); err != nil {
		return fmt.Errorf("installing %s: %w", r.Path, errors.Join(ierr, err))
	}
	return nil
}

// Uninstall removes the file (and the link systemctl --user enable made)
// whether or not the manager answers.
func (m *system) Uninstall() error {
	s, err := New(m.c, nil)
	if err != nil {
		return err
	}
	uerr := s.Uninstall()
	r, err := Render(m.c)
	if err != nil || r.Path == "" {
		if uerr != nil {
			return fmt.Errorf("unregistering the service: %s", oneLine(uerr))
		}
		return nil
	}
	if rerr := os.Remove(r.Path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", r.Path, rerr)
	}
	os.Remove(filepath.Join(filepath.Dir(r.Path), "default.target.wants", Name+".service"))
	return nil
}

func (m *system) Start() error { return m.control("start") }
func (m *system) Stop() error  { return m.control("stop") }

func (m *system) control(action string) error {
	s, err := New(m.c, nil)
	if err != nil {
		return err
	}
	if err := service.Control(s, action); err != nil {
		return fmt.Errorf("%s did not %s it (%s)", m, action, oneLine(err))
	}
	return nil
}

func (m *system) Later() string {
	switch m.c.goos() {
	case "linux":
		return "at your next login where systemd runs (or: systemctl --user enable --now codecommitd)"
	case "darwin":
		return "at your next login (or: launchctl load ~/Library/LaunchAgents/codecommitd.plist)"
	}
	return "when the Service Control Manager starts it"
}

func oneLine(err error) string { return clean.Line(err.Error(), 300) }
