package localbroker

import (
	"context"
	"strings"
	"testing"
)

// TestStatusEnvironmentRedactsURLs: the environment status reports (what
// doctor shows) holds no proxy or endpoint password, whatever its shape,
// and leaves other values alone.
func TestStatusEnvironmentRedactsURLs(t *testing.T) {
	for k, v := range map[string]string{
		"HTTPS_PROXY":          "user:Sup3rS3cret@127.0.0.1:3128",
		"HTTP_PROXY":           "http://user:Sup3r#S3cret@proxy:3128",
		"https_proxy":          "http://user:Sup3r@S3cret@[::1]:3128",
		"ALL_PROXY":            "socks5://user:Sup3r%2FS3cret@proxy:1080",
		"AWS_ENDPOINT_URL_STS": "https://user:Sup3rS3cret@sts.example:8443",
		"HOME":                 "/home/alice@corp.example",
	} {
		t.Setenv(k, v)
	}
	b, _ := staticService(t)
	st, err := b.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"HTTPS_PROXY":          "[redacted]@127.0.0.1:3128",
		"HTTP_PROXY":           "http://[redacted]@proxy:3128",
		"https_proxy":          "http://[redacted]@[::1]:3128",
		"ALL_PROXY":            "socks5://[redacted]@proxy:1080",
		"AWS_ENDPOINT_URL_STS": "https://[redacted]@sts.example:8443",
		"HOME":                 "/home/alice@corp.example",
	} {
		if got := st.Environment[k]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for k, v := range st.Environment {
		if strings.Contains(v, "S3cret") || strings.Contains(v, "Sup3r") {
			t.Errorf("%s=%s shows the password", k, v)
		}
	}
}
