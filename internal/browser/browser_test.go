package browser

import (
	"errors"
	"slices"
	"testing"
)

func TestCommand(t *testing.T) {
	const u = "https://x/authorize?a=1&b=2"
	for goos, want := range map[string][]string{
		"linux":   {"xdg-open", u},
		"freebsd": {"xdg-open", u},
		"darwin":  {"open", u},
		"windows": {"rundll32", "url.dll,FileProtocolHandler", u},
	} {
		name, args := command(goos, u)
		if got := append([]string{name}, args...); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", goos, got, want)
		}
	}
}

// TestCanOpen: a browser opens for the person at the keyboard where there
// is a display and an opener; an SSH session without X forwarding, or a
// Mac reached over SSH, signs in with the device code.
func TestCanOpen(t *testing.T) {
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
		h := Host{GOOS: tt.goos, Getenv: func(k string) string { return tt.env[k] }, LookPath: func(string) (string, error) {
			if tt.opener {
				return "/usr/bin/x", nil
			}
			return "", errors.New("not found")
		}}
		if got := h.CanOpen(); got != tt.want {
			t.Errorf("%s: CanOpen = %v, want %v", tt.name, got, tt.want)
		}
	}
}
