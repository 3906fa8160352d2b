package sso

import "testing"

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
