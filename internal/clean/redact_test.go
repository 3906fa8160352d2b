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
