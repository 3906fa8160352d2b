// Package svcmgr installs codecommitd as a per-user service through
// github.com/kardianos/service: a systemd user unit on Linux, a LaunchAgent
// on macOS, a Service Control Manager service on Windows. Manager is what
// the service commands ask of the service manager (System is the real one):
// whether the service is installed and running, and whether the manager
// answers here at all, so that they never hand a daemon to a manager that
// cannot run it.
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
	"fmt"
	"html"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/kardianos/service"
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
