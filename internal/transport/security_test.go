//go:build unix

package transport

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// loopback is a plain client of the loopback URL: no proxy, no pooling
// across tests.
func loopback(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends a request to the transport and returns its status and body.
func do(t *testing.T, client *http.Client, method, url string, header http.Header, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

// capHeader is the header of capability c.
func capHeader(c Capability) http.Header {
	k, v, _ := strings.Cut(c.Header, ": ")
	return http.Header{k: {v}}
}

// TestRefusesWithoutForwarding sends what the transport must refuse:
// requests without a usable capability (none, a wrong one, a revoked one,
// an expired one, another repository's) and requests that are not git's
// smart-HTTP ones. Each gets a 4xx with one line, is logged with the
// peer's address and uid, and never reaches the stand-in or the signer.
func TestRefusesWithoutForwarding(t *testing.T) {
	clk := newClock()
	w := newWorld(t, Config{Now: clk.Now})
	good, _ := w.grant("repo")
	revoked, revoke := w.grant("repo")
	revoke()
	expiring, _ := w.grant("repo", func(g *Grant) { g.Expires = clk.Now().Add(time.Hour) })
	other, _ := w.grant("other")
	ctxDone, _ := func() (Capability, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		c, revoke, err := w.tr.Grant(ctx, Grant{Repository: "repo", Host: w.env.GitHost(), Signer: w.signer, Upstream: Upstream{CAInfo: w.ca}})
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		return c, revoke
	}()
	eventually(t, "the grant whose context ended is revoked", func() bool { return w.tr.Status().Grants == 3 })
	clk.Add(2 * time.Hour) // expiring has expired
	base := strings.TrimSuffix(good.URL, "/v1/repos/repo")
	refs := good.URL + "/info/refs?service=git-upload-pack"
	random := http.Header{CapabilityHeader: {base64.RawURLEncoding.EncodeToString(make([]byte, 32))}}

	cases := []struct {
		name, method, url string
		header            http.Header
		status            int
		reason            string
	}{
		{"no capability", "GET", refs, nil, 403, "no capability"},
		{"a wrong capability", "GET", refs, random, 403, "unknown or revoked capability"},
		{"not base64", "GET", refs, http.Header{CapabilityHeader: {"!!!!"}}, 403, "unknown or revoked capability"},
		{"the capability with a byte more", "GET", refs, http.Header{CapabilityHeader: {capHeader(good)[CapabilityHeader][0] + "A"}}, 403, "unknown or revoked capability"},
		{"a revoked capability", "GET", refs, capHeader(revoked), 403, "unknown or revoked capability"},
		{"a capability whose grant's context ended", "GET", refs, capHeader(ctxDone), 403, "unknown or revoked capability"},
		{"an expired capability", "GET", refs, capHeader(expiring), 403, "expired capability"},
		{"another repository's capability", "GET", refs, capHeader(other), 403, "a capability for another repository (other)"},
		{"the root", "GET", base + "/", capHeader(good), 404, "not a smart-HTTP request"},
		{"dumb info/refs", "GET", good.URL + "/info/refs", capHeader(good), 404, "not a smart-HTTP request"},
		{"another service", "GET", good.URL + "/info/refs?service=git-upload-archive", capHeader(good), 404, "not a smart-HTTP request"},
		{"an extra query parameter", "GET", refs + "&x=1", capHeader(good), 404, "not a smart-HTTP request"},
		{"HEAD of the repository", "GET", good.URL + "/HEAD", capHeader(good), 404, "not a smart-HTTP request"},
		{"a loose object", "GET", good.URL + "/objects/info/packs", capHeader(good), 404, "not a smart-HTTP request"},
		{"a dot-dot path", "GET", base + "/v1/repos/../info/refs?service=git-upload-pack", capHeader(good), 404, "not a smart-HTTP request"},
		{"an escaped path", "GET", base + "/v1/repos/re%70o/info/refs?service=git-upload-pack", capHeader(good), 404, "not a smart-HTTP request"},
		{"a query on the POST", "POST", good.URL + "/git-upload-pack?x=1", capHeader(good), 404, "not a smart-HTTP request"},
		{"POST to info/refs", "POST", refs, capHeader(good), 405, "method POST for info/refs"},
		{"GET of the service", "GET", good.URL + "/git-upload-pack", capHeader(good), 405, "method GET for git-upload-pack"},
		{"an oversized header", "GET", refs, http.Header{CapabilityHeader: capHeader(good)[CapabilityHeader], "X-Big": {strings.Repeat("x", 20<<10)}}, 431, "a header block of"},
	}
	client := loopback(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, client, tc.method, tc.url, tc.header, nil)
			if status != tc.status || !strings.HasPrefix(body, "codecommitd: ") || strings.Count(body, "\n") != 1 {
				t.Errorf("got %d %q, want %d and one line from codecommitd", status, body, tc.status)
			}
			line := "refused a request to the git transport: " + tc.reason
			if !strings.Contains(w.logs.String(), line) {
				t.Errorf("the log has no %q:\n%s", line, w.logs)
			}
		})
	}
	if n := w.seen(); n != 0 {
		t.Errorf("the stand-in saw %d requests, want none", n)
	}
	if n := w.signer.calls.Load(); n != 0 {
		t.Errorf("the signer was asked %d times, want never", n)
	}
	for _, line := range strings.Split(strings.TrimSpace(w.logs.String()), "\n") {
		if strings.Contains(line, "refused") && (!strings.Contains(line, "peer=127.0.0.1:") || !strings.Contains(line, fmt.Sprintf("peer_uid=%d", os.Geteuid()))) {
			t.Errorf("a refusal logged without the peer's address and uid: %s", line)
		}
		if strings.Contains(line, good.Header[len(CapabilityHeader)+2:]) {
			t.Errorf("a capability in the log: %s", line)
		}
	}
}

// TestRefusalsAreLoggedOnce sends the same refused request three times:
// one log line, until a minute has passed.
func TestRefusalsAreLoggedOnce(t *testing.T) {
	clk := newClock()
	w := newWorld(t, Config{Now: clk.Now})
	good, _ := w.grant("repo")
	client := loopback(t)
	for range 3 {
		do(t, client, "GET", good.URL+"/info/refs?service=git-upload-pack", nil, nil)
	}
	const line = "refused a request to the git transport: no capability"
	if n := w.logs.count(line); n != 1 {
		t.Errorf("three refusals logged %d times, want once:\n%s", n, w.logs)
	}
	clk.Add(time.Minute)
	do(t, client, "GET", good.URL+"/info/refs?service=git-upload-pack", nil, nil)
	if n := w.logs.count(line); n != 2 {
		t.Errorf("a refusal a minute later: logged %d times in all, want 2", n)
	}
}

// TestGitWithoutACapability shows what git says when it is refused.
func TestGitWithoutACapability(t *testing.T) {
	w := newWorld(t, Config{})
	c, revoke := w.grant("repo")
	revoke()
	stderr := w.gitFails(c, "", "ls-remote", c.URL)
	if !strings.Contains(stderr, "remote: codecommitd: "+noCapability) || strings.Contains(stderr, "Username") {
		t.Errorf("git's stderr:\n%s\nwant the refusal, and no prompt", stderr)
	}
}

// TestAnotherUsersConnectionIsRefused runs git as uid 65534, with a valid
// capability: the transport sees from /proc/net/tcp that the connection is
// not its user's and refuses it before it looks at the capability.
func TestAnotherUsersConnectionIsRefused(t *testing.T) {
	if !peerCheck {
		t.Skip("no peer check on this system: the capability alone keeps other users out")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run git as another user (uid 65534)")
	}
	w := newWorld(t, Config{})
	c, _ := w.grant("repo")
	// Not under t.TempDir() (nor in TMPDIR), which only root may enter.
	home := testprobe.ShortDir(t)
	testprobe.RequireOthersCanEnter(t, home)
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), "git", "ls-remote", c.URL)
	cmd.Dir = home
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0"}, gitConfigEnv(c, w.noProxy)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	_, stderr, err := w.run(cmd)
	if err == nil {
		t.Fatal("git as uid 65534 got through")
	}
	t.Logf("git as uid 65534: %v", err)
	want := fmt.Sprintf("remote: codecommitd: codecommitd serves only its own user (uid %d); this connection comes from uid 65534", os.Geteuid())
	if !strings.Contains(stderr, want) {
		t.Errorf("git's stderr:\n%s\nwant %q", stderr, want)
	}
	if !strings.Contains(w.logs.String(), "refused a request to the git transport: a connection from uid 65534") {
		t.Errorf("the log:\n%s", w.logs)
	}
	if w.seen() != 0 || w.signer.calls.Load() != 0 {
		t.Errorf("forwarded: the stand-in saw %d requests, the signer %d calls", w.seen(), w.signer.calls.Load())
	}
	// And the same capability works for this user.
	w.git(c, "", "ls-remote", c.URL)
}

// TestCapabilities checks what a capability is: 256 random bits in
// base64url, different for each grant, shown nowhere.
func TestCapabilities(t *testing.T) {
	w := newWorld(t, Config{})
	seen := map[string]bool{}
	for range 8 {
		c, _ := w.grant("repo")
		token, ok := strings.CutPrefix(c.Header, CapabilityHeader+": ")
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if !ok || err != nil || len(raw) != 32 || seen[token] {
			t.Fatalf("capability header %q: want %s: and 32 random bytes in base64url, new each time", c.Header, CapabilityHeader)
		}
		seen[token] = true
		var logged strings.Builder
		slog.New(slog.NewTextHandler(&logged, nil)).Info("grant", "capability", c)
		for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v", c, c), logged.String()} {
			if strings.Contains(s, token) {
				t.Errorf("the capability shows in %q", s)
			}
		}
		if want := w.tr.Status().URL + "/v1/repos/repo"; c.URL != want || !strings.HasPrefix(want, "http://127.0.0.1:") {
			t.Errorf("URL %q, want %q on 127.0.0.1", c.URL, want)
		}
	}
}

// TestGrantChecks checks what Grant refuses, and how.
func TestGrantChecks(t *testing.T) {
	w := newWorld(t, Config{})
	cases := []struct {
		name    string
		change  func(*Grant)
		setting string // "" for ErrInvalidGrant
		says    string
	}{
		{"http.sslVerify false", func(g *Grant) { g.Upstream.NoVerify = true }, "http.sslVerify",
			"http.sslVerify is false for repository repo (or GIT_SSL_NO_VERIFY is set), and codecommitd sends signed requests only to a server it has verified; remove the setting"},
		{"a SOCKS4 proxy", func(g *Grant) { g.Upstream.Proxy = "socks4://proxy:1080" }, "http.proxy", "is a SOCKS4 proxy, which codecommitd cannot use"},
		{"a proxy with another scheme", func(g *Grant) { g.Upstream.Proxy = "ftp://u:secretpw@proxy:21" }, "http.proxy", `ftp://[redacted]@proxy:21, has the scheme ftp`},
		{"a proxy without a host", func(g *Grant) { g.Upstream.Proxy = "http://:3128" }, "http.proxy", "names no host"},
		{"a CA file without a certificate", func(g *Grant) { g.Upstream.CAInfo = []byte("not PEM") }, "http.sslCAInfo", "holds no PEM certificate"},
		{"a negative low-speed limit", func(g *Grant) { g.Upstream.LowSpeedLimit = -1 }, "http.lowSpeedLimit", "must not be negative"},
		{"a user agent with a newline", func(g *Grant) { g.Upstream.UserAgent = "git/2\r\nX-Evil: 1" }, "http.userAgent", "holds a control character"},
		{"a bad repository name", func(g *Grant) { g.Repository = "a/b" }, "", ""},
		{"a host with a path", func(g *Grant) { g.Host = "git-codecommit.us-east-1.amazonaws.com/x" }, "", ""},
		{"no signer", func(g *Grant) { g.Signer = nil }, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := Grant{Repository: "repo", Host: w.env.GitHost(), Signer: w.signer}
			tc.change(&g)
			_, _, err := w.tr.Grant(testCtx(t), g)
			var se *SettingError
			switch {
			case err == nil:
				t.Fatal("granted")
			case tc.setting == "" && !errors.Is(err, ErrInvalidGrant):
				t.Errorf("error %v, want ErrInvalidGrant", err)
			case tc.setting != "" && (!errors.As(err, &se) || se.Setting != tc.setting || !strings.Contains(err.Error(), tc.says)):
				t.Errorf("error %v, want a SettingError for %s saying %q", err, tc.setting, tc.says)
			case strings.Contains(err.Error(), "secretpw") || strings.Contains(err.Error(), "\n"):
				t.Errorf("error %q: shows the proxy's password, or is not one line", err)
			}
		})
	}
	if st := w.tr.Status(); st.Grants != 0 {
		t.Errorf("%d grants live after refusals", st.Grants)
	}
}
