//go:build unix

package transport

import (
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/gitserver"
)

// oneLine checks that git's stderr is the one fatal line want, besides
// what git says of every operation ("Cloning into…", and for a protocol v0
// fetch that its remote hung up).
func oneLine(t *testing.T, stderr, want string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(l, "Cloning into ") && l != "fatal: the remote end hung up unexpectedly" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || lines[0] != "fatal: remote error: codecommitd: "+want {
		t.Errorf("git's stderr:\n%s\nwant the one line\nfatal: remote error: codecommitd: %s", stderr, want)
	}
}

// TestRedirectsAreNotFollowed makes the stand-in redirect info/refs, or
// only the POSTs, to a mirror on another host name (which would serve
// anyone): nothing reaches it, and git prints one line naming where the
// endpoint pointed.
func TestRedirectsAreNotFollowed(t *testing.T) {
	w := newWorld(t, Config{})
	mirror := w.env.Git.NewMirror("localhost", false)
	t.Cleanup(mirror.Close)
	to := strings.TrimPrefix(mirror.URL, "https://")
	for _, status := range []int{301, 302, 307, 308} {
		for _, method := range []string{"GET", "POST"} {
			t.Run(fmt.Sprintf("%d %s", status, method), func(t *testing.T) {
				w.env.Git.SetRedirect(gitserver.Redirect{Status: status, To: mirror.URL, Method: method})
				c, _ := w.grant("repo")
				stderr := w.gitFails(c, "", "ls-remote", c.URL)
				oneLine(t, stderr, fmt.Sprintf("%s answered the request for repository repo with a redirect (HTTP %d) to %s; codecommitd follows no redirect, "+
					"since it signs only for the repository's own endpoint; if the repository moved there, set CODE_COMMIT_ENDPOINT to %s", w.env.GitHost(), status, mirror.URL, to))
			})
		}
	}
	if r := mirror.Requests(); len(r) != 0 {
		t.Errorf("the mirror got %d requests, want none: %+v", len(r), r)
	}
}

// TestRefusedUpstream makes the stand-in refuse the signed requests (403:
// a signer with a wrong secret; 401: the stand-in challenging whatever it
// gets): git prints one line naming the repository and the profile, and
// asks no credential helper.
func TestRefusedUpstream(t *testing.T) {
	t.Run("403", func(t *testing.T) {
		w := newWorld(t, Config{})
		w.signer.id.SecretAccessKey = "wrong"
		c, _ := w.grant("repo")
		stderr := w.gitFails(c, "", "ls-remote", c.URL)
		oneLine(t, stderr, w.env.GitHost()+" refused the signed request for repository repo, profile dev (HTTP 403); "+
			"check that the profile's identity may use the repository (codecommit:GitPull, and codecommit:GitPush to push) and that this machine's clock is right (date -u)")
	})
	t.Run("401", func(t *testing.T) {
		w := newWorld(t, Config{})
		w.env.Git.Challenge(1)
		c, _ := w.grant("repo")
		stderr := w.gitFails(c, "", "ls-remote", c.URL)
		if !strings.Contains(stderr, "refused the signed request for repository repo, profile dev (HTTP 401)") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("git's stderr:\n%s\nwant one line about the 401", stderr)
		}
	})
}

// TestSignerFailures makes the signer fail at info/refs and at the POST
// that follows it, with a SignError (git prints its message) and with
// another error (git is told that signing failed; the log says why).
func TestSignerFailures(t *testing.T) {
	const msg = "profile dev: AWS STS is throttling requests (HTTP 400, Throttling); codecommitd tries again by itself, or run the command again in a minute"
	lsRemote := []string{"ls-remote", "URL"}
	cases := []struct {
		name   string
		args   []string
		failAt int64
		err    error
		want   string
	}{
		{"info/refs, a SignError", lsRemote, 1, &SignError{Msg: msg}, msg},
		{"the POST, a SignError", lsRemote, 2, &SignError{Msg: msg, Err: errTest}, msg},
		{"the POST of a protocol v0 clone", []string{"-c", "protocol.version=0", "clone", "URL", "v0"}, 2, &SignError{Msg: msg}, msg},
		{"the fetch POST of a protocol v2 clone", []string{"clone", "URL", "v2"}, 3, &SignError{Msg: msg}, msg},
		{"info/refs, another error", lsRemote, 1, fmt.Errorf("credmgr: %w", errTest),
			"codecommitd could not sign the request for repository repo, profile dev; its log says why (codecommitd status shows where it is)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, Config{})
			w.signer.failWith(func(n int64) error {
				if n == tc.failAt {
					return tc.err
				}
				return nil
			})
			c, _ := w.grant("repo")
			args := append([]string(nil), tc.args...)
			args[slices.Index(args, "URL")] = c.URL
			oneLine(t, w.gitFails(c, "", args...), tc.want)
			if n := w.seen(); n != int(tc.failAt-1) {
				t.Errorf("the stand-in saw %d requests, want %d: a request the signer failed is not sent", n, tc.failAt-1)
			}
			if !errors.As(tc.err, new(*SignError)) && !strings.Contains(w.logs.String(), "credmgr: test failure") {
				t.Errorf("the log does not say why signing failed:\n%s", w.logs)
			}
		})
	}
}

// TestPushFailsWithOneLine makes the signer fail at the push's POST:
// git's send-pack prints the same line, first.
func TestPushFailsWithOneLine(t *testing.T) {
	w := newWorld(t, Config{})
	c, _ := w.grant("repo")
	w.git(c, "", "clone", "--quiet", c.URL, "clone")
	w.git(c, "clone", "commit", "--quiet", "--allow-empty", "-m", "x")
	const msg = "profile dev needs a new MFA session (device arn:aws:iam::123456789012:mfa/me), and this git cannot ask for a code"
	calls := w.signer.calls.Load()
	w.signer.failWith(func(n int64) error {
		if n == calls+2 { // after the push's info/refs
			return &SignError{Msg: msg}
		}
		return nil
	})
	stderr := w.gitFails(c, "clone", "push", "--quiet", "origin", "main")
	// git adds what it says of every failed push after it.
	if first, _, _ := strings.Cut(stderr, "\n"); first != "fatal: remote error: codecommitd: "+msg {
		t.Errorf("git push's stderr:\n%s\nwant it to start with the signer's line", stderr)
	}
}

// TestEveryRequestIsSignedAfresh pushes while the clocks of the signer and
// of the stand-in jump 20 minutes after every request: a password signed
// once for the operation would be refused at the POST; signed per request,
// every request passes.
func TestEveryRequestIsSignedAfresh(t *testing.T) {
	w := newWorld(t, Config{})
	clk := newClock()
	w.signer.now = clk.Now
	w.env.Git.SetClock(clk.Now)
	c, _ := w.grant("repo")
	w.git(c, "", "clone", "--quiet", c.URL, "clone")
	w.git(c, "clone", "commit", "--quiet", "--allow-empty", "-m", "late")
	w.env.Git.OnRequest(func(gitserver.Request) { clk.Add(20 * time.Minute) })
	before := w.seen()
	w.git(c, "clone", "push", "--quiet", "origin", "main")
	if n := w.seen() - before; n < 2 {
		t.Errorf("the push made %d requests, want at least 2 (info/refs, receive-pack)", n)
	}
}

// tlsUpstream starts an endpoint of the test's own behind TLS (HTTP/2 and
// HTTP/1.1, or HTTP/1.1 alone), and returns it with the PEM of its CA.
func tlsUpstream(t *testing.T, h http.Handler, http1Only bool, configure ...func(*http.Server)) (*httptest.Server, []byte) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = !http1Only
	for _, c := range configure {
		c(srv.Config)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// TestHeaders checks what crosses the transport: upstream, the signer's
// Authorization replaces git's, and the capability, cookies and forwarding
// headers stay behind, while git's other headers and the grant's user
// agent go; back, cookies, challenges, Alt-Svc and HSTS stay behind.
func TestHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	srv, ca := tlsUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("Host", r.Host)
		got <- h
		w.Header().Set("Set-Cookie", "session=1")
		w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
		w.Header().Set("Alt-Svc", `h3=":443"`)
		w.Header().Set("Strict-Transport-Security", "max-age=1")
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		w.Header().Set("X-Served", "yes")
		fmt.Fprint(w, "0000")
	}), false)
	tr, _ := startTransport(t, Config{})
	signer := &testSigner{now: time.Now}
	host := strings.TrimPrefix(srv.URL, "https://")
	c, revoke, err := tr.Grant(testCtx(t), Grant{Repository: "repo", Host: host, Signer: signer,
		Upstream: Upstream{CAInfo: ca, UserAgent: "my-agent/1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer revoke()
	req, _ := http.NewRequestWithContext(testCtx(t), "GET", c.URL+"/info/refs?service=git-upload-pack", nil)
	req.Header = capHeader(c)
	req.Header.Set("Authorization", "Basic Z2l0OnBhc3N3b3Jk")
	req.Header.Set("Cookie", "a=b")
	req.Header.Set("Git-Protocol", "version=2")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Set("X-Mine", "kept")
	resp, err := loopback(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	up := <-got
	want, _ := signer.Sign(testCtx(t), host, "/v1/repos/repo")
	checks := []struct{ name, got, want string }{
		{"Authorization upstream (the signer's kind, not git's)", up.Get("Authorization")[:6], want[:6]},
		{"git's Authorization upstream", fmt.Sprint(strings.Contains(up.Get("Authorization"), "Z2l0OnBhc3N3b3Jk")), "false"},
		{"Host upstream", up.Get("Host"), host},
		{"the capability upstream", up.Get(CapabilityHeader), ""},
		{"Cookie upstream", up.Get("Cookie"), ""},
		{"X-Forwarded-For upstream", up.Get("X-Forwarded-For"), ""},
		{"Git-Protocol upstream", up.Get("Git-Protocol"), "version=2"},
		{"X-Mine upstream", up.Get("X-Mine"), "kept"},
		{"User-Agent upstream", up.Get("User-Agent"), "my-agent/1"},
		{"Set-Cookie back", resp.Header.Get("Set-Cookie"), ""},
		{"WWW-Authenticate back", resp.Header.Get("WWW-Authenticate"), ""},
		{"Alt-Svc back", resp.Header.Get("Alt-Svc"), ""},
		{"Strict-Transport-Security back", resp.Header.Get("Strict-Transport-Security"), ""},
		{"X-Served back", resp.Header.Get("X-Served"), "yes"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: %q, want %q", ch.name, ch.got, ch.want)
		}
	}
}

// TestUntrustedEndpoint grants without the stand-in's CA (the system's
// roots do not have it): git gets one line saying the certificate is not
// trusted, and no request is made.
func TestUntrustedEndpoint(t *testing.T) {
	w := newWorld(t, Config{})
	c, _ := w.grant("repo", func(g *Grant) { g.Upstream.CAInfo = nil })
	stderr := w.gitFails(c, "", "ls-remote", c.URL)
	oneLine(t, stderr, fmt.Sprintf("cannot reach %s for repository repo: the TLS certificate of %s is not trusted; check the network, "+
		"and git's proxy (http.proxy, HTTPS_PROXY, NO_PROXY) and CA (http.sslCAInfo, GIT_SSL_CAINFO) settings for the repository's URL", w.env.GitHost(), w.env.GitHost()))
	if w.seen() != 0 {
		t.Errorf("%d requests reached the stand-in", w.seen())
	}
}

// TestUnreachableEndpoint grants a port that refuses.
func TestUnreachableEndpoint(t *testing.T) {
	w := newWorld(t, Config{})
	c, _ := w.grant("repo", func(g *Grant) { g.Host = w.noProxy })
	stderr := w.gitFails(c, "", "ls-remote", c.URL)
	oneLine(t, stderr, fmt.Sprintf("cannot reach %s for repository repo: %s refused the connection; check the network, "+
		"and git's proxy (http.proxy, HTTPS_PROXY, NO_PROXY) and CA (http.sslCAInfo, GIT_SSL_CAINFO) settings for the repository's URL", w.noProxy, w.noProxy))
}

// TestNoSecretInTraces runs a clone with every git trace on: neither the
// signed password nor the session token is in what git printed or wrote.
func TestNoSecretInTraces(t *testing.T) {
	w := newWorld(t, Config{})
	w.signer.id = w.env.STS.Issue("arn:aws:sts::123456789012:assumed-role/R/s", time.Hour)
	c, _ := w.grant("repo")
	trace := filepath.Join(w.env.Dir, "trace2.json")
	cmd := w.gitCmd(c, "", "clone", c.URL, "traced")
	cmd.Env = append(cmd.Env, "GIT_TRACE=1", "GIT_TRACE_CURL=1", "GIT_TRACE_PACKET=1", "GIT_TRACE2_EVENT="+trace)
	out, stderr, err := w.run(cmd)
	if err != nil {
		t.Fatalf("git clone: %v\n%s", err, stderr)
	}
	t2, _ := os.ReadFile(trace)
	all := out + stderr + string(t2) + w.logs.String()
	for _, secret := range []string{w.signer.id.SessionToken, w.signer.id.SecretAccessKey, w.signer.id.AccessKeyID} {
		if strings.Contains(all, secret) {
			t.Errorf("a credential shows in git's output, traces or the transport's log")
		}
	}
	token := strings.TrimPrefix(c.Header, CapabilityHeader+": ")
	if strings.Contains(w.logs.String(), token) {
		t.Error("the capability shows in the transport's log")
	}
}
