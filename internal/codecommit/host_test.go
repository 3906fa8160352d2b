package codecommit

import "testing"

func TestParseHost(t *testing.T) {
	tests := []struct {
		host string
		want Host
		ok   bool
	}{
		{"git-codecommit.us-east-1.amazonaws.com", Host{Region: "us-east-1"}, true},
		{"git-codecommit.us-east-1.amazonaws.com:443", Host{Region: "us-east-1"}, true},
		{"GIT-CODECOMMIT.EU-WEST-1.AMAZONAWS.COM", Host{Region: "eu-west-1"}, true},
		{"git-codecommit-fips.us-gov-west-1.amazonaws.com", Host{Region: "us-gov-west-1", FIPS: true}, true},
		{"git-codecommit.cn-north-1.amazonaws.com.cn", Host{Region: "cn-north-1"}, true},
		{"vpce-0123abcd-x1y2.git-codecommit.us-west-2.vpce.amazonaws.com", Host{Region: "us-west-2", VPCE: true}, true},
		{"vpce-0123abcd.git-codecommit-fips.us-east-2.vpce.amazonaws.com", Host{Region: "us-east-2", FIPS: true, VPCE: true}, true},
		{"git-codecommit.cn-north-1.amazonaws.com", Host{}, false},
		{"git-codecommit.us-east-1.amazonaws.com.cn", Host{}, false},
		{"git-codecommit.us-east-1.evil.com", Host{}, false},
		{"evil.git-codecommit.us-east-1.amazonaws.com", Host{}, false},
		{"github.com", Host{}, false},
		{"git-codecommit.amazonaws.com", Host{}, false},
		{"", Host{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseHost(tt.host)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseHost(%q) = %+v, %v; want %+v, %v", tt.host, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseRepositoryPath(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"/v1/repos/my-repo", "my-repo"},
		{"v1/repos/my-repo", "my-repo"},
		{"v1/repos/my-repo/", "my-repo"},
		{"v1/repos/", ""},
		{"v2/repos/x", ""},
		{"v1/repos/a/b", ""},
		{"", ""},
	} {
		got, err := ParseRepositoryPath(tt.path)
		if (err == nil) != (tt.want != "") || got != tt.want {
			t.Errorf("ParseRepositoryPath(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
}

func TestValidateEndpointOverride(t *testing.T) {
	for _, tt := range []struct {
		v  string
		ok bool
	}{
		{"localhost:8443", true},
		{"127.0.0.1:1", true},
		{"[::1]:8443", true},
		{"vpce-1.git-codecommit.us-east-1.vpce.amazonaws.com", true},
		{"https://localhost", false},
		{"localhost/v1", false},
		{"user@host", false},
		{"host:", false},
		{":443", false},
	} {
		if err := ValidateEndpointOverride(tt.v); (err == nil) != tt.ok {
			t.Errorf("ValidateEndpointOverride(%q) = %v, want ok=%v", tt.v, err, tt.ok)
		}
	}
}

func FuzzParseHost(f *testing.F) {
	f.Add("git-codecommit.us-east-1.amazonaws.com")
	f.Add("vpce-1.git-codecommit-fips.us-east-1.vpce.amazonaws.com:443")
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := ParseHost(s)
		if ok && !ValidRegionName(h.Region) {
			t.Fatalf("ParseHost(%q) accepted region %q", s, h.Region)
		}
	})
}
