package clean

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	const (
		secret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		token   = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6m+CU3sO8AiAkmXQ"
		sig     = "20261127T101500Z4f1b7c0e4b8a6f0c2a1e9d3b7a5c4e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e"
		jwtPart = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ"
	)
	for _, tc := range []struct{ in, want string }{
		{"key-value delimiter not found: " + secret, "key-value delimiter not found: " + Redacted},
		{"user ASIAEXAMPLE%" + token + " refused", "user " + Redacted + " refused"},
		{"password " + sig, "password " + Redacted},
		{"token " + jwtPart + "." + jwtPart + ".sig", "token " + Redacted + "." + Redacted + ".sig"},
		// What must stay readable.
		{"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/Deploy",
			"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/Deploy"},
		{"access key AKIAIOSFODNN7EXAMPLE is not valid", "access key AKIAIOSFODNN7EXAMPLE is not valid"},
		{"open /home/alice/.aws/credentials: permission denied", "open /home/alice/.aws/credentials: permission denied"},
		{"exit status 3", "exit status 3"},
		{"config key 3f2a9c1d7e8b", "config key 3f2a9c1d7e8b"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
	if got := Redact("it printed hunter22 and hunter22", "hunter22"); strings.Contains(got, "hunter22") {
		t.Errorf("a known secret survived: %q", got)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	f.Fuzz(func(t *testing.T, s, known string) {
		got := Redact(s, known)
		if len(known) >= 8 && strings.Contains(got, known) && !strings.Contains(Redacted, known) {
			t.Fatalf("Redact(%q, %q) = %q keeps the known secret", s, known, got)
		}
	})
}

// TestRedactURL covers every shape a proxy setting comes in, parseable or
// not (issue #17, row 9): the password never shows, the host always does.
func TestRedactURL(t *testing.T) {
	const pw = "Sup3rS3cret"
	for _, tc := range []struct{ in, want string }{
		{"http://user:" + pw + "@127.0.0.1:3128", "http://" + Redacted + "@127.0.0.1:3128"},
		{"user:" + pw + "@127.0.0.1:3128", Redacted + "@127.0.0.1:3128"}, // no scheme: Go reads it as http://
		{"http://user:Sup3r#S3cret@proxy:3128", "http://" + Redacted + "@proxy:3128"},
		{"http://user:Sup3r?S3cret@proxy:3128", "http://" + Redacted + "@proxy:3128"},
		{"http://user:Sup3r/S3cret@proxy:3128", "http://" + Redacted + "@proxy:3128"},
		{"http://user:Sup3r@S3cret@proxy:3128", "http://" + Redacted + "@proxy:3128"},
		{"http://user:Sup3r:S3cret@proxy:3128", "http://" + Redacted + "@proxy:3128"},
		{"http://user:Sup3r%40S3cret%23@proxy:3128/", "http://" + Redacted + "@proxy:3128/"},
		{"http://us%3Aer:" + pw + "@[::1]:3128", "http://" + Redacted + "@[::1]:3128"},
		{"socks5h://user:" + pw + "@[fe80::1%25eth0]:1080", "socks5h://" + Redacted + "@[fe80::1%25eth0]:1080"},
		{"HTTPS://TOKEN" + pw + "@proxy.corp.example:8443", "HTTPS://" + Redacted + "@proxy.corp.example:8443"}, // a user name alone may be a token
		{"http://user:pa ss\nword@proxy:3128", "http://" + Redacted + "@proxy:3128"},
		{"user:a://b" + pw + "@proxy:3128", Redacted + "@proxy:3128"}, // "user:a" is not a scheme
		{"1http://user:" + pw + "@proxy", Redacted + "@proxy"},
		{"://user:" + pw + "@proxy", Redacted + "@proxy"},
		{"@@@" + pw + "@@proxy", Redacted + "@proxy"},
		{"http://proxy:3128/?q=user@host", "http://" + Redacted + "@host"}, // more hidden than needed, never less
		// Nothing to hide.
		{"http://proxy.corp.example:3128", "http://proxy.corp.example:3128"},
		{"[::1]:3128", "[::1]:3128"},
		{"http://@proxy:3128", "http://@proxy:3128"},
		{"localhost,.corp.example,10.0.0.0/8", "localhost,.corp.example,10.0.0.0/8"},
		{"", ""},
		{"\xff\xfe garbage", "\xff\xfe garbage"},
	} {
		got := RedactURL(tc.in)
		if got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, pw) || strings.Contains(got, "S3cret") {
			t.Errorf("RedactURL(%q) = %q shows the password", tc.in, got)
		}
	}
}

func TestEnvValue(t *testing.T) {
	const proxy, shown = "user:Sup3rS3cret@127.0.0.1:3128", Redacted + "@127.0.0.1:3128"
	for _, tc := range []struct{ name, value, want string }{
		{"HTTPS_PROXY", proxy, shown},
		{"https_proxy", proxy, shown},
		{"HTTP_PROXY", proxy, shown},
		{"ALL_PROXY", proxy, shown},
		{"AWS_ENDPOINT_URL_STS", "https://u:p@sts.example", "https://" + Redacted + "@sts.example"},
		{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://u:p@169.254.170.2/creds", "http://" + Redacted + "@169.254.170.2/creds"},
		{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://u:p@[fd00:ec2::254]", "http://" + Redacted + "@[fd00:ec2::254]"},
		{"HOME", "/home/alice@corp.example", "/home/alice@corp.example"},
		{"PATH", "/usr/bin:/home/a@b/bin", "/usr/bin:/home/a@b/bin"},
	} {
		if got := EnvValue(tc.name, tc.value); got != tc.want {
			t.Errorf("EnvValue(%s, %q) = %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
}

// FuzzRedactURL builds scheme://user:PASS@host and user:PASS@host from
// random parts: PASS never shows (unless it is a piece of what stays), and
// the host always does.
func FuzzRedactURL(f *testing.F) {
	f.Add("http", "user", "Sup3rS3cret", "127.0.0.1:3128")
	f.Add("socks5h", "", "p#a?s/s@w:o%40rd", "[::1]:1080")
	f.Add("", "us:er", "//secret", "proxy")
	f.Fuzz(func(t *testing.T, scheme, user, pass, host string) {
		if strings.Contains(host, "@") {
			return // then it is not the host
		}
		for _, before := range []string{scheme + "://" + user + ":", user + ":"} {
			in := before + pass + "@" + host
			got := RedactURL(in)
			if !strings.HasSuffix(got, "@"+host) {
				t.Fatalf("RedactURL(%q) = %q lost the host", in, got)
			}
			// What stays is a piece of what came before PASS (at most its
			// "//", when "user://" reads as a scheme), Redacted and the host.
			kept := before + "//" + Redacted + "@" + host
			if len(pass) >= 4 && strings.Contains(got, pass) && !strings.Contains(kept, pass) {
				t.Fatalf("RedactURL(%q) = %q shows the password %q", in, got, pass)
			}
		}
	})
}
