package sso

import (
	"errors"
	"slices"
	"testing"
)

func TestBrowserCommand(t *testing.T) {
	const u = "https://x/authorize?a=1&b=2"
	for goos, want := range map[string][]string{
		"linux":   {"xdg-open", u},
		"freebsd": {"xdg-open", u},
		"darwin":  {"open", u},
		"windows": {"rundll32", "url.dll,FileProtocolHandler", u},
	} {
		name, args := browserCommand(goos, u)
		if got := append([]string{name}, args...); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", goos, got, want)
		}
	}
}

// TestBrowserHere: a browser opens for the person at the keyboard where
// there is a display and an opener; an SSH session without X forwarding,
// or a Mac reached over SSH, signs in with the device code.
func TestBrowserHere(t *testing.T) {
	for _, tt := range []struct {
		name   string
		goos   string
		env    map[string]string
		opener bool
		want   bool
	}{
		{"linux desktop", "linux", map[string]string{"DISPLAY": ":0"}, true, true},
		{"wayland", "linux", map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, true, true},
		{"ssh with X forwarding", "linux", map[string]string{"DISPLAY": "localhost:10.0", "SSH_CONNECTION": "a b c d"}, true, true},
		{"ssh, no display", "linux", map[string]string{"SSH_TTY": "/dev/pts/0"}, true, false},
		{"headless server", "linux", nil, true, false},
		{"no xdg-open", "linux", map[string]string{"DISPLAY": ":0"}, false, false},
		{"mac", "darwin", nil, true, true},
		{"mac over ssh", "darwin", map[string]string{"SSH_CONNECTION": "a b c d"}, true, false},
		{"windows", "windows", nil, false, true},
	} {
		h := host{goos: tt.goos, getenv: func(k string) string { return tt.env[k] }, lookPath: func(string) (string, error) {
			if tt.opener {
				return "/usr/bin/x", nil
			}
			return "", errors.New("not found")
		}}
		if got := browserHere(h); got != tt.want {
			t.Errorf("%s: browserHere = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestChooseFlow(t *testing.T) {
	legacy := Session{Profile: "old", StartURL: startURL, Region: region}
	for _, tt := range []struct {
		name       string
		s          Session
		o          LoginOptions
		canOpen    bool
		pkce, open bool
	}{
		{"sso-session with a browser", corp, LoginOptions{}, true, true, true},
		{"--no-browser prints the URL", corp, LoginOptions{NoBrowser: true}, true, true, false},
		{"--use-device-code", corp, LoginOptions{DeviceCode: true}, true, false, true},
		{"no browser here (SSH)", corp, LoginOptions{}, false, false, false},
		{"legacy profile", legacy, LoginOptions{}, true, false, true},
		{"legacy, --no-browser", legacy, LoginOptions{NoBrowser: true}, true, false, false},
	} {
		pkce, open := chooseFlow(tt.s, tt.o, tt.canOpen)
		if pkce != tt.pkce || open != tt.open {
			t.Errorf("%s: pkce %v, open %v; want %v, %v", tt.name, pkce, open, tt.pkce, tt.open)
		}
	}
}
