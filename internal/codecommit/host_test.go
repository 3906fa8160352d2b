package codecommit

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/codecommitd/codecommitd/internal/clean"
)

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

func TestParseHostRefusesWhatIsNotAHostAndPort(t *testing.T) {
	const cc = "git-codecommit.us-east-1.amazonaws.com"
	for _, s := range []string{
		cc + ":@evil.example", cc + ":443/../../x", cc + ":443?x", cc + ":443#x", cc + "@evil.example",
		cc + ":0", cc + ":65536", cc + ":99999999999999999999", cc + ":+443", cc + ": 443", cc + ":443 ", cc + " :443",
		cc + ":0443", cc + ":", cc + "::443", cc + ":443:443", cc + ":-1", cc + ":４４３",
		"user@" + cc, "user:pw@" + cc + ":443", "[" + cc + "]", "[" + cc + "]:443",
		cc + "%2f", "git-codecommit.us-east-1.amazonaws.com%2eevil.example", "git-codecommit.us-east-1..amazonaws.com", "." + cc,
		"https://" + cc, cc + "/", cc + "\n", cc + "\x00",
	} {
		if h, ok := ParseHost(s); ok {
			t.Errorf("ParseHost(%q) = %+v, true; want false", s, h)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	const cc = "git-codecommit.us-east-1.amazonaws.com"
	const (
		sign     = iota // signed for
		other           // someone else's host: ErrNotEndpoint, a credential helper stays silent
		mistaken        // a mistake to report: not ErrNotEndpoint
	)
	for _, tc := range []struct {
		host, override string
		want           int
		region         string
		says           string // in the message
	}{
		{cc, "", sign, "us-east-1", ""},
		{cc + ":443", "", sign, "us-east-1", ""},
		{cc + ":1", "", sign, "us-east-1", ""},
		{cc + ":65535", "", sign, "us-east-1", ""},
		{"GIT-CODECOMMIT.US-EAST-1.AMAZONAWS.COM.:8443", "", sign, "us-east-1", ""},
		{cc, "https://broken", sign, "us-east-1", ""}, // the override is not used for a CodeCommit host
		{"localhost:8443", "localhost:8443", sign, "", ""},
		{"LOCALHOST:8443", "localhost:8443", sign, "", ""},
		{"[::1]:8443", "[::1]:8443", sign, "", ""},
		{"127.0.0.1", "127.0.0.1", sign, "", ""},

		// The inputs: a CodeCommit host with something that is not a port.
		{cc + ":@evil.example", "", mistaken, "", `the port "@evil.example" is not a number from 1 to 65535`},
		{cc + ":443/../../x", "", mistaken, "", `the port "443/../../x" is not a number`},
		{cc + ":0", "", mistaken, "", `the port "0" is not a number from 1 to 65535`},
		{cc + ":65536", "", mistaken, "", `the port "65536" is not`},
		{cc + ":+443", "", mistaken, "", `the port "+443" is not`},
		{cc + ": 443", "", mistaken, "", `the port " 443" is not`},
		{cc + ":0443", "", mistaken, "", "leading zeros"},
		{cc + ":", "", mistaken, "", "the port after ':' is empty"},
		{cc + "@evil.example", "", mistaken, "", `the host name holds "@"`},
		{cc + "%2eevil.example", "", mistaken, "", `the host name holds "%"`},
		{cc + ":443", "localhost:8443", sign, "us-east-1", ""},
		{cc + ":0", "localhost:8443", mistaken, "", `the port "0" is not`},

		{"evil.example.com", "", other, "", "is not a CodeCommit git endpoint (git-codecommit[-fips]"},
		{"evil.example.com", "localhost:8443", other, "", "is not a CodeCommit git endpoint"},
		{cc + ".evil.example", "", other, "", "is not a CodeCommit git endpoint"},
		{"evil.example:@" + cc, "", other, "", "is not a CodeCommit git endpoint"},
		{"user@" + cc, "", other, "", "is not a CodeCommit git endpoint"},
		{"localhost:8443", "", other, "", "is not a CodeCommit git endpoint"},
		{"localhost:8444", "localhost:8443", other, "", ""},
		{"localhost:8443@evil.example", "localhost:8443", other, "", ""},
		{"localhost", "localhost:8443", other, "", ""},
		{"", "", other, "", `"" is not a CodeCommit git endpoint`},

		// An override that is not itself a host[:port] is said, whatever the host.
		{"localhost:8443", "https://localhost:8443", mistaken, "", "CODE_COMMIT_ENDPOINT=https://localhost:8443 is not a host[:port] (drop the scheme)"},
		{"localhost:08443", "localhost:08443", mistaken, "", "leading zeros"},
		{"evil.example.com", "user@localhost:8443", mistaken, "", `the host name holds "@"`},
		{"localhost", "localhost:", mistaken, "", "the port after ':' is empty"},
		{"localhost", ":443", mistaken, "", "the host name is empty"},
		{"localhost", "[::1%eth0]:1", mistaken, "", "is not an IPv6 address without a zone"},
		{"localhost", "local host", mistaken, "", `holds " "`},
	} {
		h, err := CheckEndpoint(tc.host, tc.override)
		got := sign
		switch {
		case errors.Is(err, ErrNotEndpoint):
			got = other
		case err != nil:
			got = mistaken
		}
		if got != tc.want || h.Region != tc.region {
			t.Errorf("CheckEndpoint(%q, %q) = %+v, %v; want outcome %d, region %q", tc.host, tc.override, h, err, tc.want, tc.region)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), tc.says) {
			t.Errorf("CheckEndpoint(%q, %q): %q does not say %q", tc.host, tc.override, err, tc.says)
		}
	}
}

// TestCheckEndpointMessagesAreOneShortLine: whatever the host or the
// override holds, the message echoes at most a short line of it.
func TestCheckEndpointMessagesAreOneShortLine(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	for _, tc := range [][2]string{
		{"git-codecommit.us-east-1.amazonaws.com:" + long, ""},
		{"git-codecommit.us-east-1.amazonaws.com:1\n\x1b[31m" + long, ""},
		{long, ""},
		{"evil", "a\nb" + long},
		{"evil", "[" + long + "]"},
	} {
		_, err := CheckEndpoint(tc[0], tc[1])
		if err == nil {
			t.Fatalf("CheckEndpoint(%.40q, %.40q) accepted it", tc[0], tc[1])
		}
		if msg := err.Error(); len(msg) > 500 || msg != clean.Line(msg, 1000) {
			t.Errorf("message is %d bytes or not one clean line: %.200q", len(msg), msg)
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
		{"[::1]", true},
		{"code_commit:8443", true},
		{"vpce-1.git-codecommit.us-east-1.vpce.amazonaws.com", true},
		{"https://localhost", false},
		{"localhost/v1", false},
		{"user@host", false},
		{"host:", false},
		{":443", false},
		{"host:0", false},
		{"host:65536", false},
		{"host:0443", false},
		{"::1", false},
		{"[::1]x", false},
		{"[::1", false},
		{"[fe80::1%25eth0]:1", false},
		{"ho st", false},
	} {
		if err := ValidateEndpointOverride(tt.v); (err == nil) != tt.ok {
			t.Errorf("ValidateEndpointOverride(%q) = %v, want ok=%v", tt.v, err, tt.ok)
		}
	}
}

// FuzzParseHost checks the host[:port] grammar against net/url's view: a
// host codecommitd accepts is, to net/url, that host and port and nothing
// else, so anything net/url would read as a user, a path, a query or a
// fragment is refused.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{
		"git-codecommit.us-east-1.amazonaws.com", "git-codecommit.us-east-1.amazonaws.com:443",
		"vpce-1.git-codecommit-fips.us-east-1.vpce.amazonaws.com:443", "[::1]:8443", "[::ffff:1.2.3.4]",
		"git-codecommit.us-east-1.amazonaws.com:@evil.example", "git-codecommit.us-east-1.amazonaws.com:443/../../x",
		"git-codecommit.us-east-1.amazonaws.com:0", "git-codecommit.us-east-1.amazonaws.com:65536",
		"git-codecommit.us-east-1.amazonaws.com:+443", "git-codecommit.us-east-1.amazonaws.com: 443",
		"u:p@git-codecommit.us-east-1.amazonaws.com", "h%2f:1", "[fe80::1%25en0]:1", "h:1#x", "h:1?x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, why := splitHostPort(s)
		h, ok := ParseHost(s)
		if why != "" {
			if ok {
				t.Fatalf("ParseHost(%q) accepted what splitHostPort refuses: %s", s, why)
			}
			return
		}
		if ok && !ValidRegionName(h.Region) {
			t.Fatalf("ParseHost(%q) accepted region %q", s, h.Region)
		}
		if _, err := CheckEndpoint(s, ""); (err == nil) != ok {
			t.Fatalf("CheckEndpoint(%q) = %v, ParseHost = %v", s, err, ok)
		}
		u, err := url.Parse("https://" + s + "/v1/repos/r")
		if err != nil {
			t.Fatalf("%q is accepted, but net/url refuses it: %v", s, err)
		}
		if u.User != nil || u.Host != s || u.Path != "/v1/repos/r" || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("%q is accepted as a host, but net/url reads user %v, host %q, path %q, query %q, fragment %q", s, u.User, u.Host, u.Path, u.RawQuery, u.Fragment)
		}
		if u.Hostname() != host || u.Port() != port {
			t.Fatalf("%q: host %q port %q, net/url says %q %q", s, host, port, u.Hostname(), u.Port())
		}
	})
}

// FuzzParseHostAsGitSendsIt builds what git's credential protocol sends for
// a CodeCommit URL (host=<host>[:<port>], the host in the URL's case, the
// port as the URL spells it) and checks which are recognised: every port
// from 1 to 65535 in plain digits, nothing else.
func FuzzParseHostAsGitSendsIt(f *testing.F) {
	f.Add("us-east-1", 443, false, false, false, false)
	f.Add("cn-north-1", 8443, true, false, true, true)
	f.Add("us-gov-west-1", 65536, true, true, false, false)
	f.Fuzz(func(t *testing.T, region string, port int, fips, vpce, upper, leadingZero bool) {
		region = strings.ToLower(region) // upper says the case git got it in
		if vpce && strings.HasPrefix(region, "cn-") {
			return // no vpce form on the China partition's domain
		}
		name := Endpoint(region, fips, "")
		if vpce {
			name = "vpce-0abc." + strings.Replace(name, ".amazonaws.com", ".vpce.amazonaws.com", 1)
		}
		if upper {
			name = strings.ToUpper(name)
		}
		p := strconv.Itoa(port)
		if leadingZero {
			p = "0" + p
		}
		h, ok := ParseHost(name + ":" + p)
		if want := ValidRegionName(region) && !leadingZero && port >= 1 && port <= 65535; ok != want {
			t.Fatalf("ParseHost(%q) = %v, want %v", name+":"+p, ok, want)
		}
		if ok && (h.Region != region || h.FIPS != fips || h.VPCE != vpce) {
			t.Fatalf("ParseHost(%q) = %+v", name+":"+p, h)
		}
	})
}
