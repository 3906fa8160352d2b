package sso

import (
	"strings"
	"testing"
)

// TestCacheKey: the token file's name is the SHA-1 of the sso-session's
// name, or of a legacy profile's start URL (values from Python's hashlib,
// as the AWS CLI computes them).
func TestCacheKey(t *testing.T) {
	for _, tt := range []struct {
		s    Session
		want string
	}{
		{Session{Name: "corp", StartURL: startURL}, "ee0bfd2552fbd840c02cc48b6e823320543c450f"},
		{Session{Name: "séssion", StartURL: startURL}, "6aa449e55814fb042216d1948f12c1cf51e8fbaf"},
		{Session{Profile: "dev", StartURL: startURL}, "a51746d4aa793ae07b25e90c3a5db96fc7832bd7"},
	} {
		if got := tt.s.CacheKey(); got != tt.want {
			t.Errorf("%s: CacheKey = %s, want %s", tt.s, got, tt.want)
		}
	}
}

// TestRegistrationKeyIsTheCLIs: the registration cache's name is the SHA-1
// of what Python's json.dumps(…, sort_keys=True) writes (ensure_ascii
// escapes, null for what is not configured, an empty list kept apart);
// expected values computed with Python 3.
func TestRegistrationKeyIsTheCLIs(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    Session
		want string
	}{
		{"sso-session without scopes", Session{Name: "corp", StartURL: startURL, Region: "us-east-1"}, "5fdb0c628fe4a3a78887b40232874154e433f9a4"},
		{"with scopes", Session{Name: "corp", StartURL: startURL, Region: "eu-west-1", Scopes: []string{"sso:account:access"}}, "787ef34d0a944c01385765faa28b5e67d1c08f33"},
		{"legacy", Session{Profile: "dev", StartURL: startURL + "/", Region: "us-east-1"}, "bba4e827d3f4ea00e3fc6f851ee4024834019fc5"},
		{"escapes", Session{Name: "séssion/\n", StartURL: "https://x/é😀\"\\\t\x7f", Region: "us-east-1", Scopes: []string{"a", "b c"}}, "59dc70387b679125206fb05e75d56b57b22fcbc1"},
		{"empty scopes", Session{Name: "x", StartURL: "https://x", Region: "us-east-1", Scopes: []string{}}, "bb020e12de347950f000cf1a84b350fc0af345e8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.registrationKey(); got != tt.want {
				t.Errorf("registrationKey = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSessionNamesAndFixes(t *testing.T) {
	for _, tt := range []struct {
		s          Session
		name, fix  string
		checkError string
	}{
		{Session{Name: "corp", StartURL: startURL, Region: region}, "sso-session corp", "codecommitd login --sso-session corp", ""},
		{corp, "profile dev (sso-session corp)", "aws sso login --sso-session corp", ""},
		{Session{Profile: "old", StartURL: startURL, Region: region}, "profile old", "codecommitd login --profile old", ""},
		{Session{Name: "corp", Region: region}, "sso-session corp", "", "no start URL"},
		{Session{Name: "corp", StartURL: startURL}, "sso-session corp", "", "no sso_region"},
		{Session{StartURL: startURL, Region: region}, "the SSO start URL " + startURL, "", "needs its profile's name"},
	} {
		if got := tt.s.String(); got != tt.name {
			t.Errorf("String = %q, want %q", got, tt.name)
		}
		if fix := tt.s.signInFix(); tt.fix != "" && !strings.Contains(fix, tt.fix) {
			t.Errorf("%s: fix %q lacks %q", tt.s, fix, tt.fix)
		}
		err := tt.s.check()
		if (tt.checkError == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.checkError)) {
			t.Errorf("%s: check = %v, want %q", tt.s, err, tt.checkError)
		}
	}
}
