//go:build unix

package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/codecommitd/codecommitd/internal/gitserver"
)

// TestTheSignedPasswordNeverFollowsARedirect points the repository's
// endpoint at a server that redirects to a second one (the same host on
// another port, another host name, plain http) which serves the same
// repository without asking for credentials and records what reaches it.
// git would follow the first redirect by default and send the password with
// every later request to the new place; through the helper it must follow
// none, fail, and the helper must say in one line where the server pointed.
func TestTheSignedPasswordNeverFollowsARedirect(t *testing.T) {
	e, _ := roleEnv(t)
	direct(e) // the password's path; TestTransportFollowsNoRedirect is the transport's
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "clone", "--quiet", "codecommit://dev@repo", "w")
	for _, tc := range []struct {
		name   string
		host   string
		plain  bool
		status int
		method string // what is redirected: "" everything, "POST" only the POSTs
		args   []string
		// where is what the helper's line must name; "" when it says nothing.
		where string
	}{
		{"same host, other port", "127.0.0.1", false, 301, "", []string{"ls-remote", "origin"}, "https://127.0.0.1:"},
		{"other host name", "localhost", false, 302, "", []string{"fetch", "origin"}, "https://localhost:"},
		{"http downgrade", "127.0.0.1", true, 307, "", []string{"push", "origin", "HEAD:main"}, "http://127.0.0.1:"},
		{"permanent, other host name, push", "localhost", false, 308, "", []string{"push", "origin", "HEAD:main"}, "https://localhost:"},
		// git never follows a redirect of a POST; the probe of info/refs finds none to name.
		{"only the POSTs", "localhost", false, 307, "POST", []string{"push", "origin", "HEAD:main"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := e.Git.NewMirror(tc.host, tc.plain)
			defer m.Close()
			git(t, e, "w", "commit", "--quiet", "--allow-empty", "-m", tc.name)
			before := len(e.Git.Requests())
			e.Git.SetRedirect(gitserver.Redirect{Status: tc.status, To: m.URL, Method: tc.method})
			_, stderr, err := e.Run(ctx(t), "w", "git", tc.args...)
			e.Git.SetRedirect(gitserver.Redirect{})
			if err == nil {
				t.Errorf("git %s succeeded, want it to fail", strings.Join(tc.args, " "))
			}

			for _, r := range m.Requests() {
				if r.Credentials {
					t.Errorf("%s %s reached %s with credentials", r.Method, r.Path, m.URL)
				}
			}
			if n := len(m.Requests()); n != 0 {
				t.Errorf("git followed the redirect: %d requests reached %s", n, m.URL)
			}
			var redirected bool
			for _, r := range since(e, before) {
				redirected = redirected || r.Status == tc.status
			}
			if !redirected {
				t.Fatalf("the server never redirected; the test proves nothing: %+v", since(e, before))
			}
			var ours []string
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if strings.HasPrefix(l, "git-remote-codecommit:") {
					ours = append(ours, l)
				}
			}
			switch {
			case tc.where == "" && len(ours) != 0:
				t.Errorf("the helper said %q; the info/refs request was not redirected", ours)
			case tc.where != "" && (len(ours) != 1 || !strings.Contains(ours[0], "redirect (HTTP "+strconv.Itoa(tc.status)+") to "+tc.where) ||
				!strings.Contains(ours[0], "repository repo") || !strings.Contains(ours[0], "did not follow") || strings.Contains(ours[0], "/v1/repos")):
				t.Errorf("want one line naming the redirect to %s (host only), got %q; stderr:\n%s", tc.where, ours, stderr)
			}
			// The one request that found the place asked without credentials.
			if tc.where != "" {
				var probes []gitserver.Request
				for _, r := range since(e, before) {
					if !r.Credentials {
						probes = append(probes, r)
					}
				}
				if len(probes) != 1 || probes[0].Status != tc.status || probes[0].Method != "GET" {
					t.Errorf("want one GET without credentials, answered %d; got %+v", tc.status, probes)
				}
			}
		})
	}
	// Without the redirect, everything works again.
	git(t, e, "w", "push", "--quiet", "origin", "HEAD:main")
}
