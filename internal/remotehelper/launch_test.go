package remotehelper

import (
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/codecommit"
)

func TestInjectConfig(t *testing.T) {
	const ours = `'credential.https://h/v1/repos/r.helper'='' 'credential.https://h/v1/repos/r.helper'='!'\''/bin/x'\'' --region'` +
		` 'credential.https://h/v1/repos/r.useHttpPath'='true' 'http.https://h/v1/repos/r.extraHeader'='Authorization: Basic dTpw'` +
		` 'http.https://h/v1/repos/r.followRedirects'='false'`
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"nothing of the user's", []string{"HOME=/h"}, []string{"HOME=/h", "GIT_CONFIG_PARAMETERS=" + ours}},
		{"an empty GIT_CONFIG_PARAMETERS", []string{"GIT_CONFIG_PARAMETERS=", "HOME=/h"}, []string{"HOME=/h", "GIT_CONFIG_PARAMETERS=" + ours}},
		{"git -c entries come first",
			[]string{"GIT_CONFIG_PARAMETERS='credential.helper'='store'", "HOME=/h"},
			[]string{"HOME=/h", "GIT_CONFIG_PARAMETERS='credential.helper'='store' " + ours}},
		{"of two GIT_CONFIG_PARAMETERS, the first is git's",
			[]string{"GIT_CONFIG_PARAMETERS='a.b'='1'", "GIT_CONFIG_PARAMETERS='c.d'='2'"},
			[]string{"GIT_CONFIG_PARAMETERS='a.b'='1' " + ours}},
		{"GIT_CONFIG_COUNT and its entries, stale ones too, are left as git read them",
			[]string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=X-Mine: 1", "GIT_CONFIG_KEY_1=credential.helper", "GIT_CONFIG_VALUE_1=store"},
			[]string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=X-Mine: 1", "GIT_CONFIG_KEY_1=credential.helper", "GIT_CONFIG_VALUE_1=store",
				"GIT_CONFIG_PARAMETERS=" + ours}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := injectConfig(tc.env, "https://h/v1/repos/r", "!'/bin/x' --region", "Authorization: Basic dTpw")
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestAuthorizationHeader(t *testing.T) {
	s := &broker.SignedURL{Username: "ASIAEXAMPLE%token/with+chars=", Password: "20261127T101500Zabc"}
	h := authorization(s)
	b64, ok := strings.CutPrefix(h, "Authorization: Basic ")
	if !ok {
		t.Fatalf("header %q", h)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || string(raw) != s.Username+":"+s.Password {
		t.Fatalf("header decodes to %q, %v", raw, err)
	}
}

func TestRunSaysWhenThePasswordExpiredBeforeGitEnded(t *testing.T) {
	signedAt := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	s := &broker.SignedURL{Expires: signedAt.Add(15 * time.Minute)}
	remote := codecommit.Remote{Profile: "dev", Repository: "big"}
	for _, tc := range []struct {
		name string
		code int
		at   time.Duration
		say  bool
	}{
		{"failed after the password expired", 128, 16 * time.Minute, true},
		{"failed within the window", 128, 5 * time.Minute, false},
		{"succeeded after the window", 0, 20 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			cfg := Config{Process: client.Process{Stderr: &stderr}, Now: func() time.Time { return signedAt.Add(tc.at) },
				RunGit: func(string, []string, []string) (int, error) { return tc.code, nil }}
			err := run(cfg, "git", []string{"git", "remote-http"}, nil, remote, s)
			var exit ExitError
			if tc.code != 0 && (!errors.As(err, &exit) || int(exit) != tc.code) {
				t.Fatalf("err = %v, want git's exit status %d", err, tc.code)
			}
			said := strings.Contains(stderr.String(), "stopped working at") && strings.Contains(stderr.String(), "repository big, profile dev") &&
				strings.Contains(stderr.String(), "run the command again")
			if said != tc.say {
				t.Fatalf("said %q, want a message: %v", stderr.String(), tc.say)
			}
		})
	}
}

func TestHelperCommandQuoting(t *testing.T) {
	// A fake helper that prints its arguments, at a path with a space.
	dir := filepath.Join(t.TempDir(), "my tools")
	os.MkdirAll(dir, 0o755)
	helper := filepath.Join(dir, "git-credential-codecommit")
	os.WriteFile(helper, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\"\n"), 0o755)
	cmd := strings.TrimPrefix(helperCommand(helper, "it's", "eu-west-1"), "!")
	// git runs "!" helpers as sh -c '<command> <action>'.
	shell := func(action string) []string {
		c := exec.Command("sh", "-c", cmd+" "+action)
		c.Stdin = strings.NewReader("protocol=https\n\n")
		out, err := c.Output()
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return strings.Fields(strings.ReplaceAll(string(out), " ", "\u00a0"))
	}
	want := []string{"--quiet-fallback", "--no-config-profile", "--profile", "it's", "--region", "eu-west-1", "get"}
	if got := shell("get"); !slices.Equal(got, want) {
		t.Fatalf("get runs the helper with %q, want %q", got, want)
	}
	for _, action := range []string{"store", "erase"} {
		if got := shell(action); len(got) != 0 {
			t.Errorf("%s started the helper: %q", action, got)
		}
	}
}

// TestLaunchTransportSaysWhenTheDaemonEnded: when the daemon ended the
// transport while git's http helper ran, the helper says so: that the
// operation failed when git's http helper failed, that it may have when
// it ended with status 0 (as it does after a failed request of protocol
// v2); nothing when the transport lasted.
func TestLaunchTransportSaysWhenTheDaemonEnded(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "git-credential-codecommit"), []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, tc := range []struct {
		name  string
		code  int
		ended bool
		say   string
	}{
		{"failed, the daemon ended it", 128, true, daemonStopped},
		{"status 0, the daemon ended it", 0, true, daemonStoppedMaybe},
		{"failed, the transport lasted", 128, false, ""},
		{"succeeded, the transport lasted", 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ended := make(chan struct{})
			if tc.ended {
				close(ended)
			}
			var stderr strings.Builder
			cfg := Config{Process: client.Process{Stderr: &stderr, Getenv: func(string) string { return "" }},
				RunGit: func(string, []string, []string) (int, error) { return tc.code, nil }}
			c := &broker.Capability{URL: "http://127.0.0.1:1/v1/repos/r", Header: "X-Codecommitd-Capability: x", Ended: ended}
			err := launchTransport(cfg, "git", "origin", codecommit.Remote{Profile: "dev", Repository: "r"}, c)
			var exit ExitError
			if tc.code != 0 && (!errors.As(err, &exit) || int(exit) != tc.code) {
				t.Fatalf("err = %v, want git's exit status %d", err, tc.code)
			}
			if tc.code == 0 && err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			if got := strings.TrimSuffix(stderr.String(), "\n"); got != tc.say {
				t.Errorf("said %q, want %q", got, tc.say)
			}
		})
	}
}
