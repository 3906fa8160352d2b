package awsprofile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/codecommitd/codecommitd/internal/clean"
)

func TestCompleteJSON(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want bool
	}{
		{`{"Version": 1}`, true},
		{`{"Version": 1}` + "\n" + `trailing output of a straggler`, true},
		{`not json`, true}, // no continuation makes it JSON
		{``, false},
		{"  \n", false},
		{`{"Version": 1,`, false},
		{`{"Version": "1`, false},
	} {
		if got := completeJSON([]byte(tc.out)); got != tc.want {
			t.Errorf("completeJSON(%q) = %v, want %v", tc.out, got, tc.want)
		}
	}
}

// FuzzCompleteJSON: a JSON object is complete, and no part of it cut short
// is (so a credential_process's answer is never taken half-printed).
func FuzzCompleteJSON(f *testing.F) {
	f.Add([]byte(`{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "Expiration": "2030-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"a": [1, {"b": "}"}], "c": "\"{"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		completeJSON(b) // never panics
		b = bytes.TrimSpace(b)
		if !json.Valid(b) || len(b) == 0 || b[0] != '{' {
			return
		}
		if !completeJSON(b) {
			t.Fatalf("completeJSON(%q) = false for a whole object", b)
		}
		for i := range len(b) {
			if completeJSON(b[:i]) {
				t.Fatalf("completeJSON(%q) = true for a cut-short object", b[:i])
			}
		}
	})
}

// TestSafeStderr: a credential_process's stderr keeps every line that gives
// no credential a value (issue #21: vault's refusal names a secret path),
// and drops the lines that do, whatever their shape.
func TestSafeStderr(t *testing.T) {
	for _, tc := range []struct {
		name, stderr, want string
	}{
		{"vault's refusal (issue #21)", "vault: permission denied for path secret/aws\n", "vault: permission denied for path secret/aws"},
		{"a token mentioned", "Error: the token has expired; run vault login\n", "Error: the token has expired; run vault login"},
		{"a credentials file named", "cannot read credentials file /home/me/.creds (no such file)", "cannot read credentials file /home/me/.creds (no such file)"},
		{"a password prompt's words", "password for user bob rejected", "password for user bob rejected"},
		{"an ini key", "aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", ""},
		{"an ini key with spaces", "aws_session_token = IQoJb3JpZ2luX2VjEXAMPLE", ""},
		{"an exported variable", "export AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEXAMPLE", ""},
		{"yaml", "  token: s.abcdef", ""},
		{"a password", "Password: hunter2", ""},
		{"one-line JSON", `{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"SECRET","SessionToken":"TOKEN"}`, ""},
		{"JSON over lines", "{\n  \"SessionToken\": \"TOKEN\",\n  \"SecretAccessKey\" : \"SECRET\",\n}", "{ / }"},
		{"credentials: an object", "credentials: {AccessKeyId: ASIAEXAMPLE}", ""},
		{"kept and dropped", "fetching from vault\nsecret_key=SECRET\nvault: permission denied for path secret/aws", "fetching from vault / vault: permission denied for path secret/aws"},
		{"a shaped secret on a kept line", "login failed for wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "login failed for [redacted]"},
		{"blank lines", "\n\n  \n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := safeStderr(tc.stderr); got != tc.want {
				t.Errorf("safeStderr(%q)\n got: %q\nwant: %q", tc.stderr, got, tc.want)
			}
		})
	}
}

// FuzzSafeStderr: whatever else stderr says, a value given to a credential
// key never comes out, and what does is one line of at most 300 bytes.
func FuzzSafeStderr(f *testing.F) {
	f.Add("vault: permission denied for path secret/aws", "SECRETVALUE")
	f.Add("x\ny", "abcd1234")
	f.Fuzz(func(t *testing.T, other, value string) {
		stderr := other + "\naws_secret_access_key=" + value + "\n\"SessionToken\": \"" + value + "\"\ntoken: " + value
		got := safeStderr(stderr)
		if len(got) > 300+len("…") || strings.ContainsAny(got, "\n\r") || !utf8.ValidString(got) {
			t.Fatalf("safeStderr(%q) = %q: not one line of at most 300 bytes", stderr, got)
		}
		for _, r := range value {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) || r > unicode.MaxASCII {
				return // the value would not be one word
			}
		}
		if len(value) >= 4 && !strings.Contains(other, value) && !strings.Contains(clean.Redacted, value) && strings.Contains(got, value) {
			t.Fatalf("safeStderr(%q) = %q: shows the value %q", stderr, got, value)
		}
	})
}
