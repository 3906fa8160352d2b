package localbroker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/codecommitd/codecommitd/internal/broker"
)

func TestSignsOnlyForCodeCommitHosts(t *testing.T) {
	b, home := staticService(t)
	const cc = "git-codecommit.us-east-1.amazonaws.com"
	const notCC = "not a CodeCommit git endpoint"
	for _, tc := range []struct {
		host, endpoint string
		says           string // in the refusal; "" to sign
	}{
		{"git-codecommit.eu-west-1.amazonaws.com", "", ""},
		{"git-codecommit-fips.us-gov-west-1.amazonaws.com", "", ""},
		{"git-codecommit.cn-north-1.amazonaws.com.cn", "", ""},
		{"vpce-0abc.git-codecommit.us-east-1.vpce.amazonaws.com", "", ""},
		{cc + ":443", "", ""},
		{"localhost:8443", "localhost:8443", ""},
		{"LOCALHOST:8443", "localhost:8443", ""},
		{"[::1]:8443", "[::1]:8443", ""},
		{"evil.example.com", "", notCC},
		{"evil.example.com", "localhost:8443", notCC},
		{"git-codecommit.eu-west-1.amazonaws.com.evil.example", "", notCC},
		{"localhost:8443", "", notCC},
		// The port part is checked (issue #17, row 10).
		{cc + ":@evil.example", "", notCC + ", so codecommitd will not sign for it: the port \"@evil.example\" is not a number from 1 to 65535"},
		{cc + ":443/../../x", "", `the port "443/../../x" is not a number`},
		{cc + ":0", "", `the port "0" is not`},
		{cc + ":65536", "", `the port "65536" is not`},
		{cc + ":+443", "", `the port "+443" is not`},
		{cc + ": 443", "", `the port " 443" is not`},
		{cc + ":0443", "", "leading zeros"},
		{cc + "@evil.example", "", `holds "@"`},
		{"localhost:8443@evil.example", "localhost:8443", notCC},
		{"localhost:8443/x", "localhost:8443/x", "CODE_COMMIT_ENDPOINT=localhost:8443/x is not a host[:port]"},
	} {
		env := map[string]string{"HOME": home}
		if tc.endpoint != "" {
			env["CODE_COMMIT_ENDPOINT"] = tc.endpoint
		}
		s, err := b.SignURL(context.Background(), &broker.SignRequest{Profile: "dev", Repository: "repo", Host: tc.host, Env: env})
		switch {
		case tc.says == "" && err != nil:
			t.Errorf("host %s (endpoint %q): %v", tc.host, tc.endpoint, err)
		case tc.says == "" && !strings.HasPrefix(s.URL, "https://"+tc.host+"/"):
			t.Errorf("host %s: signed for %s", tc.host, s.URL)
		case tc.says != "" && !errors.Is(err, broker.ErrInvalidRequest):
			t.Errorf("host %s (endpoint %q): %v, want a refusal", tc.host, tc.endpoint, err)
		case tc.says != "" && (!strings.Contains(err.Error(), tc.says) || strings.ContainsAny(err.Error(), "\n\r")):
			t.Errorf("host %s: refusal %q is not one line saying %q", tc.host, err, tc.says)
		}
	}
}

func TestProfileNamesAreCheckedBeforeTheyAreEchoed(t *testing.T) {
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  *broker.SignRequest
	}{
		{"100 KB from the URL", &broker.SignRequest{Profile: strings.Repeat("p", 100<<10), Repository: "repo"}},
		{"100 KB in AWS_PROFILE", &broker.SignRequest{Repository: "repo", Env: map[string]string{"AWS_PROFILE": strings.Repeat("q", 100<<10)}}},
		{"binary junk", &broker.SignRequest{Profile: "\xff\xfe\x00\x1b[31mred", Repository: "repo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.SignURL(context.Background(), tc.req)
			if !errors.Is(err, broker.ErrInvalidRequest) {
				t.Fatalf("err = %v", err)
			}
			if msg := err.Error(); len(msg) > 400 || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\x00\x1b") {
				t.Fatalf("message is %d bytes, or not clean: %q", len(msg), msg)
			}
		})
	}
}

// staticService is a Broker in memory only, and the HOME to send with
// requests: profile dev there has static keys and a region.
func staticService(tb testing.TB) (*Broker, string) {
	tb.Helper()
	home := tb.TempDir()
	os.MkdirAll(filepath.Join(home, ".aws"), 0o700)
	os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[dev]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n"), 0o600)
	os.WriteFile(filepath.Join(home, ".aws", "config"), []byte("[profile dev]\nregion = us-east-1\n"), 0o600)
	b, err := New(Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return b, home
}
