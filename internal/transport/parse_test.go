package transport

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestParseRoute(t *testing.T) {
	cases := []struct {
		method, path, query string
		want                route
		status              int // 0: accepted
	}{
		{"GET", "/v1/repos/repo/info/refs", "service=git-upload-pack", route{"repo", "git-upload-pack", true}, 0},
		{"GET", "/v1/repos/my.repo_1-x/info/refs", "service=git-receive-pack", route{"my.repo_1-x", "git-receive-pack", true}, 0},
		{"POST", "/v1/repos/repo/git-upload-pack", "", route{"repo", "git-upload-pack", false}, 0},
		{"POST", "/v1/repos/repo/git-receive-pack", "", route{"repo", "git-receive-pack", false}, 0},
		{"GET", "/v1/repos/repo/info/refs", "", route{}, 404},
		{"GET", "/v1/repos/repo/info/refs", "service=git-upload-archive", route{}, 404},
		{"GET", "/v1/repos/repo/info/refs", "service=git-upload-pack&x", route{}, 404},
		{"GET", "/v1/repos/repo/info/refs/", "service=git-upload-pack", route{}, 404},
		{"GET", "/v1/repos/repo", "", route{}, 404},
		{"GET", "/v1/repos/", "", route{}, 404},
		{"GET", "/v1/repos/../info/refs", "service=git-upload-pack", route{}, 404},
		{"GET", "/v1/repos/./info/refs", "service=git-upload-pack", route{}, 404},
		{"GET", "/v1/repos/re%2Fpo/info/refs", "service=git-upload-pack", route{}, 404},
		{"GET", "/v1/repos/" + strings.Repeat("a", 101) + "/info/refs", "service=git-upload-pack", route{}, 404},
		{"GET", "/v2/repos/repo/info/refs", "service=git-upload-pack", route{}, 404},
		{"GET", "//v1/repos/repo/info/refs", "service=git-upload-pack", route{}, 404},
		{"POST", "/v1/repos/repo/git-upload-pack", "x=1", route{}, 404},
		{"POST", "/v1/repos/repo/objects/pack", "", route{}, 404},
		{"POST", "/v1/repos/repo/info/refs", "service=git-upload-pack", route{}, 405},
		{"HEAD", "/v1/repos/repo/info/refs", "service=git-upload-pack", route{}, 405},
		{"GET", "/v1/repos/repo/git-receive-pack", "", route{}, 405},
		{"PUT", "/v1/repos/repo/git-receive-pack", "", route{}, 405},
	}
	for _, tc := range cases {
		got, ref := parseRoute(tc.method, tc.path, tc.query)
		switch {
		case tc.status == 0 && (ref != nil || got != tc.want):
			t.Errorf("%s %s?%s: %+v %+v, want %+v", tc.method, tc.path, tc.query, got, ref, tc.want)
		case tc.status != 0 && (ref == nil || ref.status != tc.status):
			t.Errorf("%s %s?%s: %+v %+v, want refused %d", tc.method, tc.path, tc.query, got, ref, tc.status)
		}
	}
}

// FuzzParseRoute checks that whatever arrives, an accepted request is
// exactly one of git's four for the repository it names: forwarded as it
// came, under /v1/repos/<repo>.
func FuzzParseRoute(f *testing.F) {
	f.Add("GET", "/v1/repos/repo/info/refs", "service=git-upload-pack")
	f.Add("POST", "/v1/repos/repo/git-receive-pack", "")
	f.Add("GET", "/v1/repos/../info/refs", "service=git-upload-pack")
	f.Fuzz(func(t *testing.T, method, path, query string) {
		r, ref := parseRoute(method, path, query)
		if ref != nil {
			if ref.status < 400 || ref.status > 499 {
				t.Fatalf("refused with %d", ref.status)
			}
			return
		}
		if path != "/v1/repos/"+r.repo+r.suffix() || query != r.query() {
			t.Fatalf("%s %s?%s accepted as %+v, which is forwarded as %s?%s", method, path, query, r, r.suffix(), r.query())
		}
		if want := map[bool]string{true: http.MethodGet, false: http.MethodPost}[r.advert]; method != want {
			t.Fatalf("%s accepted for %+v", method, r)
		}
	})
}

func TestNoProxy(t *testing.T) {
	cases := []struct {
		list, host string
		want       bool
	}{
		{"", "git-codecommit.us-east-1.amazonaws.com", false},
		{"*", "git-codecommit.us-east-1.amazonaws.com", true},
		{"amazonaws.com", "git-codecommit.us-east-1.amazonaws.com", true},
		{".amazonaws.com", "git-codecommit.us-east-1.amazonaws.com", true},
		{"AMAZONAWS.COM.", "git-codecommit.us-east-1.amazonaws.com", true},
		{"git-codecommit.us-east-1.amazonaws.com", "git-codecommit.us-east-1.amazonaws.com", true},
		{"example.com, amazonaws.com", "git-codecommit.us-east-1.amazonaws.com", true},
		{"example.com amazonaws.com", "git-codecommit.us-east-1.amazonaws.com", true},
		{"zonaws.com", "git-codecommit.us-east-1.amazonaws.com", false},
		{"us-east-1.amazonaws.com:443", "git-codecommit.us-east-1.amazonaws.com", true},
		{"example.com", "git-codecommit.us-east-1.amazonaws.com", false},
		{"10.0.0.1", "10.0.0.1", true},
		{"10.0.0.1", "10.0.0.10", false},
		{"10.0.0.0/8", "10.1.2.3", true},
		{"10.0.0.0/8", "11.1.2.3", false},
		{"::1", "::1", true},
		{"[::1]", "::1", true},
		{"0.0.1", "10.0.0.1", false}, // an address is not a suffix
		{",,, ,", "example.com", false},
	}
	for _, tc := range cases {
		if got := noProxy(tc.list, tc.host); got != tc.want {
			t.Errorf("noProxy(%q, %q) = %v, want %v", tc.list, tc.host, got, tc.want)
		}
	}
}

func FuzzNoProxy(f *testing.F) {
	f.Add("example.com, .amazonaws.com, 10.0.0.0/8", "git-codecommit.us-east-1.amazonaws.com")
	f.Fuzz(func(t *testing.T, list, host string) {
		got := noProxy(list, host)
		if !got && noProxy(list+",*", host) != true {
			t.Fatal(`"*" does not match every host`)
		}
		if got && !noProxy("x.invalid,"+list, host) {
			t.Fatal("an entry more matched less")
		}
	})
}

func TestAsksSideband(t *testing.T) {
	line := func(s string) string { return fmt.Sprintf("%04x", len(s)+4) + s }
	cmd := "0000000000000000000000000000000000000000 1111111111111111111111111111111111111111 refs/heads/main"
	cases := []struct {
		body string
		want bool
	}{
		{line(cmd+"\x00 report-status side-band-64k agent=git/2.39.5\n") + "0000", true},
		{line(cmd+"\x00 report-status side-band agent=git/2.39.5\n") + "0000", true},
		{line(cmd+"\x00 report-status agent=git/2.39.5\n") + "0000", false},
		{line(cmd+"\n") + "0000", false},
		{"0000", false},
		{"", false},
		{"zzzz", false},
		{"ffff" + cmd, false}, // longer than what came
	}
	for _, tc := range cases {
		if got := asksSideband([]byte(tc.body)); got != tc.want {
			t.Errorf("asksSideband(%q) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

func FuzzAsksSideband(f *testing.F) {
	f.Add([]byte("0014a b c\x00side-band\n0000"))
	f.Fuzz(func(t *testing.T, b []byte) { asksSideband(b) })
}
