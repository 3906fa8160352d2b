// Package svcmgr installs codecommitd as a per-user service through
// github.com/kardianos/service: a systemd user unit on Linux, a LaunchAgent
// on macOS, a Service Control Manager service on Windows.
//
// The unit and the plist are ours, rendered here (Unit, Plist) and handed to
// kardianos as finished text, so `install --print`, the packages and the
// installed files all come from one function. kardianos picks its Linux
// backend by probing /run/systemd/system, which does not exist where systemd
// is installed but not running (containers, images being built); user
// installs choose the systemd backend themselves, so the unit is still
// written and only starting it fails.
package svcmgr

import (
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/kardianos/service"

	"github.com/codecommitd/codecommitd/internal/clean"
)

// Name is the service's name: the unit is codecommitd.service, the
// LaunchAgent's label and file are codecommitd(.plist).
const Name = "codecommitd"

const description = "codecommitd: keeps AWS credentials fresh and signs CodeCommit git passwords"

// Unit renders the systemd user unit that runs exe.
func Unit(exe string) string {
	return `[Unit]
Description=` + description + `
Documentation=https://github.com/codecommitd/codecommitd#readme
ConditionFileIsExecutable=` + systemdQuote(exe) + `

[Service]
Type=simple
ExecStart=` + systemdQuote(exe) + ` run
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2
# Credentials live in this process: no core dumps, private files.
LimitCORE=0
UMask=0077
NoNewPrivileges=yes

[Install]
WantedBy=default.target
`
}

// systemdQuote quotes a path for ExecStart when it needs it.
func systemdQuote(p string) string {
	if !strings.ContainsAny(p, " \t\"'\\") {
		return p
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p) + `"`
}

// Plist renders the LaunchAgent that runs exe, logging into logDir.
func Plist(exe, logDir string) string {
	x := html.EscapeString
	log := x(filepath.Join(logDir, "codecommitd.log"))
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + Name + `</string>
	<key>ProgramArguments</key>
	<array>
		<string>` + x(exe) + `</string>
		<string>run</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<true/>
	<key>ProcessType</key>
	<string>Background</string>
	<key>StandardOutPath</key>
	<string>` + log + `</string>
	<key>StandardErrorPath</key>
	<string>` + log + `</string>
	<key>Umask</key>
	<integer>63</integer>
	<key>SoftResourceLimits</key>
	<dict>
		<key>Core</key>
		<integer>0</integer>
	</dict>
	<key>HardResourceLimits</key>
	<dict>
		<key>Core</key>
		<integer>0</integer>
	</dict>
</dict>
</plist>
`
}

// Config says what to install.
type Config struct {
	// Exe is the absolute path of the codecommitd binary to run.
	Exe string
	// Home is the user's home folder.
	Home string
	// LogDir is where the macOS LaunchAgent logs.
	LogDir string
	// GOOS selects the service manager; "" means this system's.
	GOOS string
	// User and Password are the Windows account the service runs as (the
	// SCM needs the password to start a service as a user); unused
	// elsewhere.
	User, Password string
}

func (c *Config) goos() string {
	if c.GOOS == "" {
		return runtime.GOOS
	}
	return c.GOOS
}

// Rendered is the file a service manager reads.
type Rendered struct {
	Path    string // "" on Windows, where the SCM keeps its own records
	Content string
}

// Render returns the file Install writes, without touching anything.
func Render(c Config) (Rendered, error) {
	switch c.goos() {
	case "linux":
		return Rendered{filepath.Join(c.Home, ".config", "systemd", "user", Name+".service"), Unit(c.Exe)}, nil
	case "darwin":
		return Rendered{filepath.Join(c.Home, "Library", "LaunchAgents", Name+".plist"), Plist(c.Exe, c.LogDir)}, nil
	case "windows":
		return Rendered{"", fmt.Sprintf("Windows service %q: %q run (Service Control Manager, runs as you)", Name, c.Exe)}, nil
	}
	return Rendered{}, fmt.Errorf("no service manager support on %s; run `codecommitd run` from your session's startup instead", c.goos())
}

// systemdAlways is kardianos' systemd backend, detected whether or not
// systemd runs right now.
type systemdAlways struct{ service.System }

func (systemdAlways) Detect() bool { return true }

// noop is the kardianos program of the install commands, which never run
// the service in this process.
type noop struct{}

func (noop) Start(service.Service) error { return nil }
func (noop) Stop(service.Service) error  { return nil }

// New returns the kardianos service for c, with our own unit or plist.
func New(c Config, opts service.KeyValue) (service.Service, error) {
	if c.goos() == "linux" {
		// Probing /run/systemd/system misses installed-but-not-running
		// systemd: for a user unit, systemd it is.
		for _, s := range service.AvailableSystems() {
			if s.String() == "linux-systemd" {
				service.ChooseSystem(systemdAlways{s})
			}
		}
	}
	if opts == nil {
		opts = service.KeyValue{}
	}
	opts["UserService"] = c.goos() != "windows"
	opts["SystemdScript"] = Unit(c.Exe)
	opts["LaunchdConfig"] = Plist(c.Exe, c.LogDir)
	opts["RunAtLoad"] = true
	opts["KeepAlive"] = true
	if c.Password != "" {
		opts["Password"] = c.Password
	}
	return service.New(noop{}, &service.Config{
		Name:        Name,
		DisplayName: "codecommitd",
		Description: description,
		Executable:  c.Exe,
		Arguments:   []string{"run"},
		UserName:    c.User,
		Option:      opts,
	})
}

// InstallResult says what Install did.
type InstallResult struct {
	// Path is the unit or plist written ("" on Windows).
	Path string
	// Started reports that the service manager started the service.
	Started bool
	// NotStarted says why it could not start it now, when it did not.
	NotStarted string
}

// Summary is one line for people: where the service is and whether it
// runs, or why not and what happens instead.
func (r InstallResult) Summary(c Config) string {
	where := "registered with the Service Control Manager"
	if r.Path != "" {
		where = "installed (" + r.Path + ")"
	}
	if r.Started {
		return "service: " + where + " and running; it starts at every login"
	}
	return "service: " + where + ", but it could not start now: " + r.NotStarted + ". " + hint(c)
}

// Install writes the service file, registers it and starts the service.
// Writing is what counts: where no service manager answers (a container,
// an image being built), the file is in place for the next login, and the
// result says why it is not running.
func Install(c Config) (InstallResult, error) {
	r, err := Render(c)
	if err != nil {
		return InstallResult{}, err
	}
	res := InstallResult{Path: r.Path}
	if r.Path != "" {
		if old, err := os.ReadFile(r.Path); err == nil {
			if string(old) == r.Content {
				return start(c, res)
			}
			if err := os.Remove(r.Path); err != nil {
				return res, fmt.Errorf("replacing %s: %w", r.Path, err)
			}
		}
		if c.goos() == "darwin" {
			if err := os.MkdirAll(c.LogDir, 0o700); err != nil {
				return res, err
			}
		}
	}
	s, err := New(c, nil)
	if err != nil {
		return res, err
	}
	ierr := s.Install()
	if r.Path != "" {
		if _, err := os.Stat(r.Path); err != nil {
			return res, fmt.Errorf("installing %s: %w", r.Path, errors.Join(ierr, err))
		}
	} else if ierr != nil {
		return res, fmt.Errorf("registering the service: %w", ierr)
	}
	return start(c, res)
}

func start(c Config, res InstallResult) (InstallResult, error) {
	s, err := New(c, nil)
	if err != nil {
		return res, err
	}
	if err := s.Start(); err != nil {
		switch c.goos() {
		case "linux":
			res.NotStarted = "systemd does not run for this user here (systemctl --user: " + oneLine(err) + ")"
		case "darwin":
			res.NotStarted = "launchd did not load it (launchctl: " + oneLine(err) + ")"
		default:
			res.NotStarted = "the Service Control Manager did not start it (" + oneLine(err) + ")"
		}
		return res, nil
	}
	res.Started = true
	return res, nil
}

func hint(c Config) string {
	switch c.goos() {
	case "linux":
		return "It starts at your next login where systemd runs (or: systemctl --user enable --now codecommitd); meanwhile git starts the daemon when it needs it"
	case "darwin":
		return "It starts at your next login (or: launchctl load ~/Library/LaunchAgents/codecommitd.plist); meanwhile git starts the daemon when it needs it"
	}
	return "Meanwhile git starts the daemon when it needs it"
}

// Uninstall stops the service and removes it. Where the service manager
// does not answer, the file is removed all the same.
func Uninstall(c Config, out io.Writer) error {
	s, err := New(c, nil)
	if err != nil {
		return err
	}
	r, err := Render(c)
	if err == nil && r.Path != "" {
		if _, serr := os.Stat(r.Path); errors.Is(serr, fs.ErrNotExist) {
			fmt.Fprintln(out, "codecommitd is not installed as a service")
			return nil
		}
	}
	_ = s.Stop() // it may not be running
	uerr := s.Uninstall()
	if err != nil || r.Path == "" {
		if uerr != nil {
			return fmt.Errorf("uninstalling: %w", uerr)
		}
		fmt.Fprintln(out, "uninstalled")
		return nil
	}
	if rerr := os.Remove(r.Path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", r.Path, errors.Join(uerr, rerr))
	}
	// systemctl --user enable works offline and leaves this link behind.
	os.Remove(filepath.Join(filepath.Dir(r.Path), "default.target.wants", Name+".service"))
	fmt.Fprintf(out, "removed %s\n", r.Path)
	if uerr != nil {
		fmt.Fprintf(out, "the service manager did not answer (%s); nothing was running under it\n", oneLine(uerr))
	}
	return nil
}

// Installed reports whether the service is installed: its unit or plist
// is in place, or (Windows) the Service Control Manager knows it.
func Installed(c Config) bool {
	r, err := Render(c)
	if err != nil {
		return false
	}
	if r.Path != "" {
		_, err := os.Stat(r.Path)
		return err == nil
	}
	s, err := New(c, nil)
	if err != nil {
		return false
	}
	_, err = s.Status()
	return !errors.Is(err, service.ErrNotInstalled)
}

// Control runs start, stop or restart.
func Control(c Config, action string) error {
	s, err := New(c, nil)
	if err != nil {
		return err
	}
	return service.Control(s, action)
}

func oneLine(err error) string { return clean.Line(err.Error(), 300) }

// RunManaged runs run under the service manager's control, for Windows,
// whose Service Control Manager must be answered by the process it starts:
// Start launches run in a goroutine, Stop cancels its context and waits.
func RunManaged(c Config, run func(stop <-chan struct{}) error) error {
	p := &managed{run: run, stop: make(chan struct{}), done: make(chan error, 1)}
	s, err := service.New(p, &service.Config{Name: Name, Option: service.KeyValue{"UserService": c.goos() != "windows"}})
	if err != nil {
		return err
	}
	if err := s.Run(); err != nil {
		return err
	}
	return <-p.done
}

type managed struct {
	run      func(stop <-chan struct{}) error
	stop     chan struct{}
	stopOnce sync.Once
	done     chan error
}

func (m *managed) Start(service.Service) error {
	go func() {
		err := m.run(m.stop)
		select {
		case <-m.stop:
			m.done <- err
		default:
			// The daemon ended on its own: exit, so the service
			// manager sees the service stop (and may restart it)
			// rather than one that runs with nothing behind it.
			fmt.Fprintln(os.Stderr, "codecommitd: the daemon stopped:", err)
			os.Exit(1)
		}
	}()
	return nil
}

// Stop cancels the daemon; the service manager may call it more than
// once.
func (m *managed) Stop(service.Service) error {
	m.stopOnce.Do(func() { close(m.stop) })
	return nil
}

// Interactive reports whether this process runs in a session rather than
// under a service manager.
func Interactive() bool { return service.Interactive() }
