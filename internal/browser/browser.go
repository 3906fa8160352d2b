// Package browser opens a web page for the person at this machine's
// keyboard, with the platform's opener (xdg-open, open, or Windows' URL
// handler through rundll32), and says whether one can be opened here at
// all: it owns that decision for the IAM Identity Center sign-ins of
// `codecommitd login` (package sso) and of the helpers git runs (package
// client). It imports nothing beyond the standard library, so the helpers
// stay thin.
package browser

import (
	"os"
	"os/exec"
	"runtime"
)

// Host is what decides whether and how a browser opens: the operating
// system, the environment and the programs installed. The zero value is
// not usable; Here is this machine.
type Host struct {
	GOOS     string
	Getenv   func(string) string
	LookPath func(string) (string, error)
}

// Here is this process's machine, environment and PATH, with getenv
// reading the environment (nil: os.Getenv).
func Here(getenv func(string) string) Host {
	if getenv == nil {
		getenv = os.Getenv
	}
	return Host{GOOS: runtime.GOOS, Getenv: getenv, LookPath: exec.LookPath}
}

// CanOpen reports whether a browser can be opened for the person at this
// machine's keyboard, on this machine (a sign-in's answer may come back to
// 127.0.0.1 here): on Windows always; on macOS unless this is an SSH
// session (open would show it on the console, to whoever sits there);
// elsewhere where a display is set (X11, including SSH's X forwarding, or
// Wayland) and xdg-open is installed.
func (h Host) CanOpen() bool {
	ssh := h.Getenv("SSH_CONNECTION") != "" || h.Getenv("SSH_TTY") != ""
	name, _ := command(h.GOOS, "")
	switch h.GOOS {
	case "windows":
		return true
	case "darwin":
		if ssh {
			return false
		}
	default:
		if h.Getenv("DISPLAY") == "" && h.Getenv("WAYLAND_DISPLAY") == "" {
			return false
		}
	}
	_, err := h.LookPath(name)
	return err == nil
}

// command is the platform's opener of url: xdg-open, open, or Windows' URL
// handler through rundll32 (no shell: the URL's & stays a character).
func command(goos, url string) (name string, args []string) {
	switch goos {
	case "darwin":
		return "open", []string{url}
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", url}
	}
	return "xdg-open", []string{url}
}

// Open opens url with the platform's opener, found on PATH. It does not
// wait for the opener (some stay with the browser they start), nor pass it
// this process's standard streams (what it prints is not this program's
// to show; git's stdout is the helpers' protocol); a goroutine reaps it.
func Open(url string) error {
	name, args := command(runtime.GOOS, url)
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // its exit says nothing about the browser
	return nil
}
