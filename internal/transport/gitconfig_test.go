package transport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitURLMatch asks the real git which value of http.<url>.proxy applies
// to url among entries (each "pattern" → its index as the value).
func gitURLMatch(t *testing.T, dir, url string, patterns []string) string {
	t.Helper()
	cfg := filepath.Join(dir, "config")
	var b strings.Builder
	for i, p := range patterns {
		fmt.Fprintf(&b, "[http %q]\n\tproxy = p%d\n", p, i)
	}
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "config", "--file", cfg, "--get-urlmatch", "http.proxy", url)
	cmd.Env = []string{"HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return ""
	}
	if err != nil {
		t.Fatalf("git config --get-urlmatch: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestURLMatchIsGits checks the model of git's URL matching against the
// real git, on patterns that exercise each of its rules and on random
// mixes of them.
func TestURLMatchIsGits(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH")
	}
	dir := t.TempDir()
	const url = "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/my-repo"
	pieces := []string{
		"https://git-codecommit.us-east-1.amazonaws.com",
		"https://git-codecommit.us-east-1.amazonaws.com/",
		"https://GIT-CODECOMMIT.us-east-1.amazonaws.com/v1",
		"https://git-codecommit.us-east-1.amazonaws.com/v1/repos/my-repo",
		"https://git-codecommit.us-east-1.amazonaws.com/v1/repos/my-repo/",
		"https://git-codecommit.us-east-1.amazonaws.com/v1/repos/my",
		"https://git-codecommit.us-east-1.amazonaws.com/v1/repos/my-repo-2",
		"https://git-codecommit.us-east-1.amazonaws.com:443/v1",
		"https://git-codecommit.us-east-1.amazonaws.com:0443/v1",
		"https://git-codecommit.us-east-1.amazonaws.com:8443",
		"https://git-codecommit.us-east-1.amazonaws.com:",
		"https://*.us-east-1.amazonaws.com",
		"https://*.*.amazonaws.com/v1/repos",
		"https://*.amazonaws.com",
		"https://git-codecommit.*.amazonaws.com/v1/repos/my-repo",
		"https://me@git-codecommit.us-east-1.amazonaws.com",
		"http://git-codecommit.us-east-1.amazonaws.com",
		"HTTPS://git-codecommit.us-east-1.amazonaws.com/v1/./repos",
		"https://git-codecommit.us-east-1.amazonaws.com/x/../v1/repos",
		"https://git-codecommit.us-east-1.amazonaws.com/%76%31/repos",
		"https://git-codecommit.us-east-1.amazonaws.com/v1/repos/my%2drepo",
		"https://git-codecommit.us-east-1.amazonaws.com/%zz",
		"https://git-codecommit.us-east-1.amazonaws.com/../v1",
		"https://git-codecommit.us-east-1.amazonaws.com?x=1",
		"https://git-codecommit.us-east-1.amazonaws.com/v1?x",
		"git-codecommit.us-east-1.amazonaws.com",
		"https://",
		"https://ex ample.com",
		"https://example.com",
	}
	check := func(t *testing.T, patterns []string) {
		t.Helper()
		var entries []ConfigEntry
		for i, p := range patterns {
			entries = append(entries, ConfigEntry{Key: "http." + p + ".proxy", Value: fmt.Sprintf("p%d", i)})
		}
		u, err := GitSettings(url, entries, nil, "", os.ReadFile)
		if err != nil {
			t.Fatal(err)
		}
		if want := gitURLMatch(t, dir, url, patterns); u.Proxy != want {
			t.Errorf("%q: the model picks %q, git %q", patterns, u.Proxy, want)
		}
	}
	for _, p := range pieces {
		check(t, []string{p})
	}
	r := rand.New(rand.NewPCG(19, 2))
	for range 150 {
		var patterns []string
		for range 1 + r.IntN(5) {
			patterns = append(patterns, pieces[r.IntN(len(pieces))])
		}
		check(t, patterns)
	}
}

func TestGitSettings(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, []byte("PEM"), 0o600)
	const url = "https://h.example/v1/repos/r"
	e := func(k, v string) ConfigEntry { return ConfigEntry{Key: k, Value: v} }
	for _, tc := range []struct {
		name    string
		entries []ConfigEntry
		env     map[string]string
		want    Upstream
		err     string
	}{
		{"nothing", nil, nil, Upstream{}, ""},
		{"http.proxy", []ConfigEntry{e("http.proxy", "cfg:1")}, map[string]string{"HTTPS_PROXY": "env:1"}, Upstream{Proxy: "cfg:1"}, ""},
		{"an empty http.proxy is none, over the environment", []ConfigEntry{e("http.proxy", "")}, map[string]string{"HTTPS_PROXY": "env:1"}, Upstream{}, ""},
		{"the remote's proxy over http.proxy", []ConfigEntry{e("http.proxy", "cfg:1"), e("remote.origin.proxy", "remote:1")}, nil, Upstream{Proxy: "remote:1"}, ""},
		{"https_proxy before HTTPS_PROXY before ALL_PROXY", nil, map[string]string{"HTTPS_PROXY": "B", "https_proxy": "a", "ALL_PROXY": "c"}, Upstream{Proxy: "a"}, ""},
		{"ALL_PROXY", nil, map[string]string{"ALL_PROXY": "c"}, Upstream{Proxy: "c"}, ""},
		{"an empty HTTPS_PROXY is none", nil, map[string]string{"HTTPS_PROXY": "", "ALL_PROXY": "c"}, Upstream{}, ""},
		{"no_proxy before NO_PROXY", nil, map[string]string{"NO_PROXY": "B", "no_proxy": "a"}, Upstream{NoProxy: "a"}, ""},
		{"sslVerify false", []ConfigEntry{e("http.sslverify", "false")}, nil, Upstream{NoVerify: true}, ""},
		{"sslVerify scoped to another host", []ConfigEntry{e("http.https://other.example.sslverify", "false")}, nil, Upstream{}, ""},
		{"sslVerify scoped to this URL", []ConfigEntry{e("http.https://h.example/v1.sslverify", "0")}, nil, Upstream{NoVerify: true}, ""},
		{"sslVerify true after false", []ConfigEntry{e("http.sslverify", "false"), {Key: "http.sslverify", NoValue: true}}, nil, Upstream{}, ""},
		{"GIT_SSL_NO_VERIFY, any value", nil, map[string]string{"GIT_SSL_NO_VERIFY": ""}, Upstream{NoVerify: true}, ""},
		{"sslVerify not a boolean", []ConfigEntry{e("http.sslverify", "maybe")}, nil, Upstream{}, "http.sslVerify is maybe, not a boolean"},
		{"http.sslCAInfo", []ConfigEntry{e("http.sslcainfo", ca)}, nil, Upstream{CAInfo: []byte("PEM")}, ""},
		{"GIT_SSL_CAINFO over http.sslCAInfo", []ConfigEntry{e("http.sslcainfo", "/nonexistent")}, map[string]string{"GIT_SSL_CAINFO": ca}, Upstream{CAInfo: []byte("PEM")}, ""},
		{"AWS_CA_BUNDLE when git names none", nil, map[string]string{"AWS_CA_BUNDLE": ca}, Upstream{CAInfo: []byte("PEM")}, ""},
		{"~/ in http.sslCAInfo", []ConfigEntry{e("http.sslcainfo", "~/ca.pem")}, nil, Upstream{CAInfo: []byte("PEM")}, ""},
		{"a CA file that is not there", []ConfigEntry{e("http.sslcainfo", "/nonexistent/ca.pem")}, nil, Upstream{}, "the CA file http.sslCAInfo names, /nonexistent/ca.pem, does not exist"},
		{"lowSpeed", []ConfigEntry{e("http.lowspeedlimit", "1k"), e("http.lowspeedtime", "30")}, nil, Upstream{LowSpeedLimit: 1024, LowSpeedTime: 30 * time.Second}, ""},
		{"lowSpeed from the environment", []ConfigEntry{e("http.lowspeedlimit", "1k")}, map[string]string{"GIT_HTTP_LOW_SPEED_LIMIT": "10", "GIT_HTTP_LOW_SPEED_TIME": "5"}, Upstream{LowSpeedLimit: 10, LowSpeedTime: 5 * time.Second}, ""},
		{"lowSpeedLimit not a number", []ConfigEntry{e("http.lowspeedlimit", "fast")}, nil, Upstream{}, "http.lowSpeedLimit is fast, not a number"},
		{"userAgent", []ConfigEntry{e("http.useragent", "ua/1")}, map[string]string{}, Upstream{UserAgent: "ua/1"}, ""},
		{"GIT_HTTP_USER_AGENT", []ConfigEntry{e("http.useragent", "ua/1")}, map[string]string{"GIT_HTTP_USER_AGENT": "ua/2"}, Upstream{UserAgent: "ua/2"}, ""},
		{"other sections are not read", []ConfigEntry{e("core.proxy", "x"), e("remotes.proxy", "y")}, nil, Upstream{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GitSettings(url, tc.entries, tc.env, dir, os.ReadFile)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one saying %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err == "" && fmt.Sprint(got) != fmt.Sprint(tc.want):
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzGitSettings(f *testing.F) {
	f.Add("https://*.example.com:0443/a/./b/../c%2f?x", "false")
	f.Add("http://u@h:80", "1k")
	f.Fuzz(func(t *testing.T, pattern, value string) {
		entries := []ConfigEntry{{Key: "http." + pattern + ".sslverify", Value: value}, {Key: "http." + pattern + ".lowspeedlimit", Value: value}}
		_, _ = GitSettings("https://h.example.com/v1/repos/r", entries, nil, "", func(string) ([]byte, error) { return nil, os.ErrNotExist })
		_, _ = normalizeURL(pattern, true)
	})
}
