package credhelper

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
)

func TestParseRequest(t *testing.T) {
	in := "protocol=https\nhost=git-codecommit.eu-west-1.amazonaws.com\npath=v1/repos/app\nwwwauth[]=Basic realm=\"x\"\ncapability[]=authtype\n\nignored=after blank\n"
	got, err := ParseRequest(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Request{Protocol: "https", Host: "git-codecommit.eu-west-1.amazonaws.com", Path: "v1/repos/app"}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	got, err = ParseRequest(strings.NewReader("url=https://user@h:1/v1/repos/r\n"))
	if err != nil || got != (Request{Protocol: "https", Host: "h:1", Path: "v1/repos/r", Username: "user"}) {
		t.Fatalf("url= form: %+v, %v", got, err)
	}
	for _, bad := range []string{"no equals sign\n", "host=a\x00b\n", "url=nonsense\n"} {
		if _, err := ParseRequest(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseRequest(%q) accepted it", bad)
		}
	}
}

func TestResponseWrite(t *testing.T) {
	var b bytes.Buffer
	if err := (Response{Username: "ASIA%tok/en+=", Password: "20260101T000000Zabc", ExpiryUnix: 1767225600}).Write(&b); err != nil {
		t.Fatal(err)
	}
	// Not URL-encoded: git takes the values as they are.
	if want := "username=ASIA%tok/en+=\npassword=20260101T000000Zabc\npassword_expiry_utc=1767225600\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	if err := (Response{Username: "a\nb"}).Write(&b); err == nil {
		t.Fatal("a newline in a value was written")
	}
}

// fakeBroker answers SignURL and records the request.
type fakeBroker struct {
	broker.Broker
	got *broker.SignRequest
	err error
}

func (f *fakeBroker) SignURL(_ context.Context, r *broker.SignRequest) (*broker.SignedURL, error) {
	f.got = r
	if f.err != nil {
		return nil, f.err
	}
	return &broker.SignedURL{Username: "ASIAX%tok", Password: "pw", Expires: time.Unix(2000000000, 0), Region: r.Region}, nil
}

func run(t *testing.T, args []string, stdin string, env map[string]string, gitcfg map[string]string, b broker.Broker) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cfg := Config{
		Args: args, Stdin: strings.NewReader(stdin), Broker: b,
		GitConfig: func(_ context.Context, key, url string) (string, error) {
			return gitcfg[key+" "+url], nil
		},
	}
	cfg.Stdout, cfg.Stderr = &out, &errb
	cfg.Getenv = func(k string) string { return env[k] }
	cfg.Lookup = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	err := Run(context.Background(), cfg)
	return out.String(), err
}

func TestGet(t *testing.T) {
	const req = "protocol=https\nhost=git-codecommit-fips.us-gov-west-1.amazonaws.com\npath=v1/repos/app\n\n"
	b := &fakeBroker{}
	out, err := run(t, []string{"get"}, req, nil,
		map[string]string{"codecommit.profile https://git-codecommit-fips.us-gov-west-1.amazonaws.com/v1/repos/app": "gov"}, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := "username=ASIAX%tok\npassword=pw\npassword_expiry_utc=2000000000\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if g := b.got; g.Profile != "gov" || g.Region != "us-gov-west-1" || g.Repository != "app" || g.Host != "git-codecommit-fips.us-gov-west-1.amazonaws.com" {
		t.Errorf("request = %+v", g)
	}
	// For git-remote-codecommit the URL decides, never git config.
	run(t, []string{"--no-config-profile", "get"}, req, nil,
		map[string]string{"codecommit.profile https://git-codecommit-fips.us-gov-west-1.amazonaws.com/v1/repos/app": "gov"}, b)
	if b.got.Profile != "" {
		t.Errorf("--no-config-profile still read git config: %+v", b.got)
	}
	// --profile and --region win over git config and the host.
	run(t, []string{"--profile", "p", "--region", "eu-west-1", "get"}, req, nil, nil, b)
	if b.got.Profile != "p" || b.got.Region != "eu-west-1" {
		t.Errorf("flags ignored: %+v", b.got)
	}
}

func TestGetIgnoresOtherHosts(t *testing.T) {
	b := &fakeBroker{}
	for _, req := range []string{
		"protocol=https\nhost=github.com\npath=x/y\n",
		"protocol=http\nhost=git-codecommit.us-east-1.amazonaws.com\npath=v1/repos/r\n",
		"protocol=https\nhost=127.0.0.1:8443\npath=v1/repos/r\n", // not the CODE_COMMIT_ENDPOINT below
	} {
		out, err := run(t, []string{"get"}, req, map[string]string{"CODE_COMMIT_ENDPOINT": "127.0.0.1:9999"}, nil, b)
		if err != nil || out != "" || b.got != nil {
			t.Errorf("%q: out %q, err %v, asked the broker: %v", req, out, err, b.got != nil)
		}
	}
	// The endpoint override is recognised.
	out, err := run(t, []string{"get"}, "protocol=https\nhost=127.0.0.1:9999\npath=v1/repos/r\n", map[string]string{"CODE_COMMIT_ENDPOINT": "127.0.0.1:9999"}, nil, b)
	if err != nil || !strings.Contains(out, "password=pw") || b.got.Region != "" {
		t.Errorf("override host: %q %v %+v", out, err, b.got)
	}
}

// TestGetRefusesMalformedCodeCommitHosts: a host that starts as CodeCommit's
// but whose port is not one (issue #17, row 10) is an error git shows, and
// the daemon is never asked; someone else's host stays silent.
func TestGetRefusesMalformedCodeCommitHosts(t *testing.T) {
	const cc = "git-codecommit.us-east-1.amazonaws.com"
	for _, tc := range []struct{ host, says string }{
		{cc + ":@evil.example", `the port "@evil.example" is not a number from 1 to 65535`},
		{cc + ":443/../../x", `the port "443/../../x" is not`},
		{cc + ":0", `the port "0" is not`},
		{cc + ":65536", `the port "65536" is not`},
		{cc + ":+443", `the port "+443" is not`},
		{cc + ": 443", `the port " 443" is not`},
		{cc + ":0443", "leading zeros"},
		{cc + "@evil.example", `holds "@"`},
	} {
		b := &fakeBroker{}
		out, err := run(t, []string{"get"}, "protocol=https\nhost="+tc.host+"\npath=v1/repos/r\n", nil, nil, b)
		if err == nil || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "is not a CodeCommit git endpoint") || out != "" || b.got != nil {
			t.Errorf("host %q: out %q, err %v, asked the broker: %v; want an error saying %q", tc.host, out, err, b.got != nil, tc.says)
		}
	}
	// A broken CODE_COMMIT_ENDPOINT is said too, rather than never matching.
	b := &fakeBroker{}
	_, err := run(t, []string{"get"}, "protocol=https\nhost=localhost:8443\npath=v1/repos/r\n", map[string]string{"CODE_COMMIT_ENDPOINT": "https://localhost:8443"}, nil, b)
	if err == nil || !strings.Contains(err.Error(), "CODE_COMMIT_ENDPOINT=https://localhost:8443 is not a host[:port] (drop the scheme)") || b.got != nil {
		t.Errorf("broken CODE_COMMIT_ENDPOINT: %v", err)
	}
	// Other hosts, malformed or not, are not ours to judge.
	for _, host := range []string{"evil.example:@" + cc, "user@" + cc, "evil.example:0"} {
		out, err := run(t, []string{"get"}, "protocol=https\nhost="+host+"\npath=v1/repos/r\n", nil, nil, b)
		if err != nil || out != "" || b.got != nil {
			t.Errorf("host %q: out %q, err %v; want silence", host, out, err)
		}
	}
}

// TestWhatGitSendsForAPort runs the real `git credential fill` with a spy
// helper: git sends host=<host>:<port>, the host in the URL's case and the
// port as the URL spells it (percent-decoded), and the helper signs for the
// ports that are ports and refuses the rest.
func TestWhatGitSendsForAPort(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the spy helper is a shell script")
	}
	dir := t.TempDir()
	spy := filepath.Join(dir, "spy")
	if err := os.WriteFile(spy, []byte("#!/bin/sh\ncat >\"$SPY_OUT\"\necho username=u\necho password=p\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	const cc = "git-codecommit.us-east-1.amazonaws.com"
	for _, tc := range []struct {
		url, endpoint string
		host          string // the line git sends, after "host="
		signs         bool
	}{
		{"https://" + cc + ":443/v1/repos/r", "", cc + ":443", true},
		{"https://git-codecommit.eu-west-1.amazonaws.com:8443/v1/repos/r", "", "git-codecommit.eu-west-1.amazonaws.com:8443", true},
		{"https://GIT-CODECOMMIT.us-east-1.amazonaws.com/v1/repos/r", "", "GIT-CODECOMMIT.us-east-1.amazonaws.com", true},
		{"https://[::1]:8443/v1/repos/r", "[::1]:8443", "[::1]:8443", true},
		{"https://" + cc + ":0443/v1/repos/r", "", cc + ":0443", false},
		{"https://" + cc + ":/v1/repos/r", "", cc + ":", false},
		{"https://" + cc + ":65536/v1/repos/r", "", cc + ":65536", false},
		{"https://" + cc + ":+443/v1/repos/r", "", cc + ":+443", false},
		{"https://" + cc + ":443%2f..%2fx/v1/repos/r", "", cc + ":443/../x", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got := filepath.Join(dir, "request")
			os.Remove(got)
			cmd := exec.Command("git", "-c", "credential.helper=!"+spy, "-c", "credential.useHttpPath=true", "credential", "fill")
			cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "SPY_OUT=" + got}
			cmd.Stdin = strings.NewReader("url=" + tc.url + "\n\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git credential fill: %v\n%s", err, out)
			}
			sent, err := os.ReadFile(got)
			if err != nil {
				t.Fatalf("the spy helper was not asked: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(sent)), "\n")
			if !slices.Contains(lines, "host="+tc.host) || !slices.Contains(lines, "protocol=https") || !slices.Contains(lines, "path=v1/repos/r") {
				t.Fatalf("git sent %q, want the line host=%s", sent, tc.host)
			}
			b := &fakeBroker{}
			out, err := run(t, []string{"get"}, string(sent), map[string]string{"CODE_COMMIT_ENDPOINT": tc.endpoint}, nil, b)
			if signed := err == nil && strings.Contains(out, "password=pw"); signed != tc.signs || (!tc.signs && (err == nil || b.got != nil)) {
				t.Fatalf("helper for %q: out %q, err %v, asked the broker: %v; want signed=%v", sent, out, err, b.got != nil, tc.signs)
			}
			if tc.signs && b.got.Host != tc.host {
				t.Fatalf("asked for host %q, want %q", b.got.Host, tc.host)
			}
		})
	}
}

func TestGetRefusesWithoutPath(t *testing.T) {
	_, err := run(t, []string{"get"}, "protocol=https\nhost=git-codecommit.us-east-1.amazonaws.com\n", nil, nil, &fakeBroker{})
	if err == nil || !strings.Contains(err.Error(), "useHttpPath true") {
		t.Fatalf("err = %v, want the useHttpPath fix", err)
	}
}

func TestStoreEraseAndUsage(t *testing.T) {
	b := &fakeBroker{}
	for _, op := range []string{"store", "erase"} {
		out, err := run(t, []string{op}, "protocol=https\nhost=h\nusername=u\npassword=p\n", nil, nil, b)
		if err != nil || out != "" || b.got != nil {
			t.Errorf("%s: %q %v", op, out, err)
		}
	}
	for _, args := range [][]string{nil, {"fill"}, {"get", "extra"}, {"--bogus", "get"}} {
		if _, err := run(t, args, "", nil, nil, b); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: err = %v, want ErrUsage", args, err)
		}
	}
	out, err := run(t, []string{"--version"}, "", nil, nil, b)
	if err != nil || !strings.HasPrefix(out, "git-credential-codecommit ") {
		t.Errorf("--version: %q %v", out, err)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add("protocol=https\nhost=h\npath=v1/repos/r\n\n")
	f.Add("url=https://u@h/p\n")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequest(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, v := range []string{r.Protocol, r.Host, r.Path, r.Username} {
			if strings.ContainsAny(v, "\n\x00") {
				t.Fatalf("parsed value %q holds a newline or NUL", v)
			}
		}
	})
}
