package client

import (
	"slices"
	"testing"
)

func TestDaemonEnviron(t *testing.T) {
	in := []string{
		"HOME=/home/me", "PATH=/bin", "XDG_RUNTIME_DIR=/run/user/1", "LC_ALL=C", "https_proxy=http://p:3128",
		"AWS_ENDPOINT_URL_STS=http://127.0.0.1:1", "AWS_CA_BUNDLE=/ca.pem", "DBUS_SESSION_BUS_ADDRESS=unix:path=/bus",
		// What must stay behind.
		"GIT_DIR=/repo/.git", "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.hooksPath", "GIT_EXEC_PATH=/x",
		"AWS_PROFILE=prod", "AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=t", "AWS_ACCESS_KEY_ID=a",
		"LD_PRELOAD=/evil.so", "CODECOMMITD_READY_FD=3", "GIT_ASKPASS=/ask",
	}
	got := daemonEnviron(in)
	want := []string{
		"HOME=/home/me", "PATH=/bin", "XDG_RUNTIME_DIR=/run/user/1", "LC_ALL=C", "https_proxy=http://p:3128",
		"AWS_ENDPOINT_URL_STS=http://127.0.0.1:1", "AWS_CA_BUNDLE=/ca.pem", "DBUS_SESSION_BUS_ADDRESS=unix:path=/bus",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("daemon environment\n got %q\nwant %q", got, want)
	}
}
