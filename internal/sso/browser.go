package sso

import (
	"os"
	"os/exec"
	"runtime"
)

// host is what decides whether and how a browser opens here.
type host struct {
	goos     string
	getenv   func(string) string
	lookPath func(string) (string, error)
}

func platform() host { return host{runtime.GOOS, os.Getenv, exec.LookPath} }

// browserHere reports whether a browser can be opened for the person at
// this machine's keyboard, on this machine (the authorization code grant's
// answer comes back to 127.0.0.1 here): on Windows always; on macOS unless
// this is an SSH session (open would show it on the console, to whoever
// sits there); elsewhere where a display is set (X11, including SSH's X
// forwarding, or Wayland) and xdg-open is installed.
func browserHere(h host) bool {
	ssh := h.getenv("SSH_CONNECTION") != "" || h.getenv("SSH_TTY") != ""
	name, _ := browserCommand(h.goos, "")
	switch h.goos {
	case "windows":
		return true
	case "darwin":
		if ssh {
			return false
		}
	default:
		if h.getenv("DISPLAY") == "" && h.getenv("WAYLAND_DISPLAY") == "" {
			return false
		}
	}
	_, err := h.lookPath(name)
	return err == nil
}

// browserCommand is the platform's opener of url: xdg-open, open, or
// Windows' URL handler through rundll32 (no shell: the URL's & stays a
// character).
func browserCommand(goos, url string) (name string, args []string) {
	switch goos {
	case "darwin":
		return "open", []string{url}
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", url}
	}
	return "xdg-open", []string{url}
}

// openBrowser opens url with the platform's opener. It does not wait for
// the opener (some stay with the browser they start); a goroutine reaps it.
func openBrowser(url string) error {
	name, args := browserCommand(runtime.GOOS, url)
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // its exit says nothing about the browser
	return nil
}
