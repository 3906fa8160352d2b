//go:build unix

package e2e

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	awssso "github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testbrowser"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// sdkPhrases are what the AWS SDK says of SSO and `aws login` failures;
// neither git's stderr nor the daemon's log may hold one.
var sdkPhrases = []string{"refresh cached SSO token failed", "cached SSO token is expired", "the SSO session has expired or is invalid",
	"please reauthenticate", "load login token", "create oauth2 token", "operation error", "https response error"}

func noSDKPhrase(t *testing.T, where, text string) {
	t.Helper()
	for _, p := range sdkPhrases {
		if strings.Contains(text, p) {
			t.Errorf("%s holds the SDK's %q:\n%s", where, p, text)
		}
	}
}

// ssoEnv is a world whose profiles sign in with IAM Identity Center: dev,
// dev2 and other through sso-sessions corp and other, pk through
// sso-session pk, each assigned role Developer for the fake's user; no
// token file yet.
func ssoEnv(t *testing.T) *testenv.Env {
	e := newEnv(t)
	e.STS.AssignSSO(fakests.DefaultSSOUser, fakests.Account, "Developer")
	var cfg strings.Builder
	for _, p := range [][2]string{{"dev", "corp"}, {"dev2", "corp"}, {"other", "other"}, {"pk", "pk"}} {
		fmt.Fprintf(&cfg, "[profile %s]\nsso_session = %s\nsso_account_id = %s\nsso_role_name = Developer\nregion = us-east-1\n", p[0], p[1], fakests.Account)
	}
	for _, s := range []string{"corp", "other", "pk"} {
		fmt.Fprintf(&cfg, "[sso-session %s]\nsso_start_url = https://%s.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n", s, s)
	}
	if err := e.WriteAWS(cfg.String(), ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx(t), "repo"); err != nil {
		t.Fatal(err)
	}
	return e
}

func tokenFile(e *testenv.Env, key string) string {
	h := sha1.Sum([]byte(key))
	return filepath.Join(e.Home, ".aws", "sso", "cache", hex.EncodeToString(h[:])+".json")
}

// screen is what a person sees of one program's output: it approves the
// first device code shown at the fake's device page, as the person would.
type screen struct {
	fake *fakests.Server
	mu   sync.Mutex
	buf  bytes.Buffer
	seen bool
}

var shownCode = regexp.MustCompile(`enter the code\s+([A-Z]{4}-[A-Z]{4})`)

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	if m := shownCode.FindStringSubmatch(s.buf.String()); m != nil && !s.seen && s.fake != nil {
		s.seen = true
		if err := s.fake.ApproveDevice(m[1]); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestSSOSignInFromGit: 16 git operations in a "terminal" (an askpass
// program marks that they can show a sign-in) on a session never signed
// in: one of them shows one line with the URL and the code, the person
// approves it, and all 16 are served; one sign-in (StartDeviceAuthorization
// and the device code redeemed once). The token the daemon wrote is read
// by the SDK's own ssocreds and token provider, status shows the session,
// and no SDK sentence reaches git or the log.
func TestSSOSignInFromGit(t *testing.T) {
	e := ssoEnv(t)
	e.Extra = []string{"CODECOMMITD_ASKPASS=/bin/false"}
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	screens := make([]*screen, 16)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range screens {
		screens[i] = &screen{fake: e.STS}
		wg.Go(func() {
			cmd := e.Command(ctx(t), "", "git", "ls-remote", "codecommit://"+[]string{"dev", "dev2"}[i%2]+"@repo")
			cmd.Stderr = screens[i]
			if err := cmd.Run(); err != nil {
				errs <- fmt.Sprintf("git %d: %v\n%s", i, err, screens[i])
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	var shown []string
	for _, s := range screens {
		if out := s.String(); out != "" {
			shown = append(shown, out)
		}
		noSDKPhrase(t, "git's stderr", s.String())
	}
	line := regexp.MustCompile(`^sign in to IAM Identity Center for profile dev2? \(sso-session corp\): open ` + regexp.QuoteMeta(e.STS.URL) +
		`/device on any device and enter the code [A-Z]{4}-[A-Z]{4} \(or open \S+\?user_code=[A-Z-]+\); git goes on once you are signed in\n$`)
	if len(shown) != 1 || !line.MatchString(shown[0]) {
		t.Errorf("what the 16 git processes showed: %q; want one line, from one of them", shown)
	}
	if n, m := e.STS.Calls("StartDeviceAuthorization"), e.STS.CreateTokenCalls(fakests.GrantDeviceCode); n != 1 || m != 1 {
		t.Errorf("%d StartDeviceAuthorization, %d CreateToken (device code); want one sign-in", n, m)
	}
	noSDKPhrase(t, "the daemon's log", e.DaemonLog())

	// The SDK's own readers use the file the daemon's sign-in wrote.
	path := tokenFile(e, "corp")
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(e.STS.URL), HTTPClient: http.DefaultClient}
	creds, err := ssocreds.New(awssso.NewFromConfig(cfg), fakests.Account, "Developer", "https://corp.awsapps.com/start",
		func(o *ssocreds.Options) { o.CachedTokenFilepath = path }).Retrieve(context.Background())
	if err != nil || creds.AccessKeyID == "" {
		t.Errorf("the SDK's ssocreds with the daemon's token file: %v", err)
	}
	if tok, err := ssocreds.NewSSOTokenProvider(ssooidc.NewFromConfig(cfg), path).RetrieveBearerToken(context.Background()); err != nil || tok.Value == "" {
		t.Errorf("the SDK's SSO token provider with the daemon's token file: %v", err)
	}

	out, _, err := e.Run(ctx(t), "", "codecommitd", "status", "--json")
	for _, want := range []string{`"sso_session": "corp"`, `"renewable": true`, `"start_url": "https://corp.awsapps.com/start"`, `"token_file": "` + path + `"`} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("status --json (%v) lacks %s:\n%s", err, want, out)
		}
	}
}

// TestSSOCannotSignIn: a git operation that cannot show a sign-in (no
// terminal, no askpass: an IDE's background fetch) on a session that is
// over gets one line at once, naming the session and the command; no
// sign-in is started.
func TestSSOCannotSignIn(t *testing.T) {
	e := ssoEnv(t)
	stderr := gitFails(t, e, "", "ls-remote", "codecommit://other@repo")
	if want := "SSO session other is not signed in: run codecommitd login --sso-session other\n"; !strings.HasSuffix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr = %q, want the one line %q", stderr, want)
	}
	os.MkdirAll(filepath.Dir(tokenFile(e, "other")), 0o700)
	os.WriteFile(tokenFile(e, "other"), []byte(`{"startUrl": "https://other.awsapps.com/start", "region": "us-east-1", "accessToken": "gone", "expiresAt": "2020-01-02T03:04:05Z"}`), 0o600)
	stderr = gitFails(t, e, "", "ls-remote", "codecommit://other@repo")
	if want := "SSO session other has ended: run codecommitd login --sso-session other\n"; !strings.HasSuffix(stderr, want) {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	if n := e.STS.Calls("StartDeviceAuthorization"); n != 0 {
		t.Errorf("%d sign-ins started for git processes that cannot show them", n)
	}
	noSDKPhrase(t, "git's stderr", stderr)
	noSDKPhrase(t, "the daemon's log", e.DaemonLog())
}

// TestSSOLoginLogout: codecommitd login with a device code signs the
// session in where the AWS CLI keeps it, and git is served without a
// prompt; logout ends it at the portal, removes the token file (the
// registration stays), forgets the credentials codecommitd had from it,
// and git then says to sign in.
func TestSSOLoginLogout(t *testing.T) {
	e := ssoEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	out := &screen{fake: e.STS}
	cmd := e.Command(ctx(t), "", "codecommitd", "login", "--sso-session", "other", "--use-device-code")
	cmd.Stdout = out
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("login: %v\n%s%s", err, out, stderr.String())
	}
	last := out.String()[strings.LastIndex(strings.TrimSuffix(out.String(), "\n"), "\n")+1:]
	want := regexp.MustCompile(`^signed in to IAM Identity Center for sso-session other: its token in ` + regexp.QuoteMeta(tokenFile(e, "other")) +
		` lasts until \d\d:\d\d \S+; codecommitd renews it while git uses the session, until IAM Identity Center ends the session\n$`)
	if !want.MatchString(last) || !strings.Contains(out.String(), "enter the code") {
		t.Errorf("login printed:\n%s", out)
	}
	git(t, e, "", "ls-remote", "codecommit://other@repo") // no askpass, no terminal: no prompt needed
	if n := e.STS.Calls("StartDeviceAuthorization"); n != 1 {
		t.Errorf("%d sign-ins, want the one of codecommitd login", n)
	}
	status, _, _ := e.Run(ctx(t), "", "codecommitd", "status")
	if !regexp.MustCompile(`(?m)^other\s+https://other\.awsapps\.com/start\s+in \S+\s+on \d{4}-\d\d-\d\d\s+in \S+\s+ok, renewed 0 times$`).MatchString(status) {
		t.Errorf("status lacks the session:\n%s", status)
	}

	logout, lerr, err := e.Run(ctx(t), "", "codecommitd", "logout", "--sso-session", "other")
	if wantOut := "signed out of IAM Identity Center for sso-session other: the session is ended there and " + tokenFile(e, "other") +
		" is removed (the client registration is kept); forgot the credentials codecommitd had from it (profile other)\n"; err != nil || logout != wantOut {
		t.Errorf("logout: %v\n%q\nwant %q\n%s", err, logout, wantOut, lerr)
	}
	if _, err := os.Stat(tokenFile(e, "other")); !os.IsNotExist(err) || e.STS.Calls("Logout") != 1 {
		t.Errorf("after logout: the token file %v, %d Logout calls", err, e.STS.Calls("Logout"))
	}
	if entries, _ := filepath.Glob(filepath.Join(e.Home, ".aws", "sso", "cache", "*.json")); len(entries) != 1 {
		t.Errorf("the cache folder holds %v; want the client registration alone", entries)
	}
	if stderr := gitFails(t, e, "", "ls-remote", "codecommit://other@repo"); !strings.HasSuffix(stderr, "SSO session other is not signed in: run codecommitd login --sso-session other\n") {
		t.Errorf("git after logout: %s", stderr)
	}
	again, _, _ := e.Run(ctx(t), "", "codecommitd", "logout", "--sso-session", "other")
	if again != "sso-session other was not signed in here (no token file "+tokenFile(e, "other")+")\n" {
		t.Errorf("a second logout: %q", again)
	}
}

// opener is a fake xdg-open first on PATH, with a display set: what the
// programs open lands in a file the test reads.
func opener(t *testing.T, e *testenv.Env) (opened func() string) {
	dir := filepath.Join(e.Dir, "opener")
	os.MkdirAll(dir, 0o700)
	file := filepath.Join(dir, "opened")
	os.WriteFile(filepath.Join(dir, "xdg-open"), []byte("#!/bin/sh\necho \"$1\" >> "+file+"\n"), 0o755)
	e.Extra = append(e.Extra, "DISPLAY=:99", "PATH="+dir+string(os.PathListSeparator)+e.Bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() string {
		b, _ := os.ReadFile(file)
		return strings.TrimSpace(string(b))
	}
}

// allow opens the first page the programs opened in chromium and clicks
// Allow, as the person would; the page then says it worked.
func allow(t *testing.T, b *testbrowser.Browser, opened func() string, says string) {
	t.Helper()
	waitUntil(t, "a page to be opened", func() bool { return opened() != "" })
	if p, err := b.Open(strings.Split(opened(), "\n")[0]); err != nil || p.Status != 200 {
		t.Fatalf("authorize page: %+v, %v", p, err)
	}
	if _, err := b.Click("Allow"); err != nil {
		t.Fatal(err)
	}
	if text, _ := b.Text(); !strings.Contains(text, says) {
		t.Errorf("after Allow the page says %q, want %q", text, says)
	}
}

// TestSSOLoginInChromium: codecommitd login where a browser opens signs
// in with the authorization code grant and PKCE: the page it opens is
// answered in chromium, on 127.0.0.1, and the code redeemed once.
func TestSSOLoginInChromium(t *testing.T) {
	b := testbrowser.New(t)
	e := ssoEnv(t)
	opened := opener(t, e)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		cmd := e.Command(ctx(t), "", "codecommitd", "login", "--sso-session", "pk")
		cmd.Stdout, cmd.Stderr = &out, &out
		done <- cmd.Run()
	}()
	allow(t, b, opened, "codecommitd signed sso-session pk in")
	if err := <-done; err != nil || !strings.Contains(out.String(), "signed in to IAM Identity Center for sso-session pk: its token in") {
		t.Fatalf("login: %v\n%s", err, out.String())
	}
	if n := e.STS.CreateTokenCalls(fakests.GrantAuthorizationCode); n != 1 || !strings.Contains(opened(), "code_challenge_method=S256") {
		t.Errorf("%d code redemptions, opened %s; want one, with PKCE", n, opened())
	}
	git(t, e, "", "ls-remote", "codecommit://pk@repo")
}

// TestSSOSignInFromGitInChromium: a git operation in a terminal where a
// browser opens: the daemon signs in with the authorization code grant,
// the helper opens the page and shows one line, the person clicks Allow,
// and git goes on.
func TestSSOSignInFromGitInChromium(t *testing.T) {
	b := testbrowser.New(t)
	e := ssoEnv(t)
	opened := opener(t, e)
	e.Extra = append(e.Extra, "CODECOMMITD_ASKPASS=/bin/false")
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	seen := &screen{}
	go func() {
		cmd := e.Command(ctx(t), "", "git", "ls-remote", "codecommit://pk@repo")
		cmd.Stderr = seen
		done <- cmd.Run()
	}()
	allow(t, b, opened, "codecommitd signed profile pk (sso-session pk) in")
	if err := <-done; err != nil {
		t.Fatalf("git: %v\n%s", err, seen)
	}
	if !strings.HasPrefix(seen.String(), "sign in to IAM Identity Center for profile pk (sso-session pk): your browser opens the sign-in page; if it does not, open "+e.STS.URL+"/authorize?") {
		t.Errorf("git showed %q", seen)
	}
	if n := e.STS.CreateTokenCalls(fakests.GrantAuthorizationCode); n != 1 || e.STS.Calls("StartDeviceAuthorization") != 0 {
		t.Errorf("%d code redemptions, %d device sign-ins; want one PKCE sign-in", n, e.STS.Calls("StartDeviceAuthorization"))
	}
}

// TestSSOTokenOfTheCLIUsedAsIs: a token file exactly as `aws sso login`
// writes it serves git, and is left as it was.
func TestSSOTokenOfTheCLIUsedAsIs(t *testing.T) {
	e := ssoEnv(t)
	expires := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	e.STS.AddSSOToken("aoa-cli-access-token", fakests.DefaultSSOUser, time.Now().Add(time.Hour))
	e.STS.AddSSOClient("cli-client-id", "cli-client-secret", time.Now().Add(90*24*time.Hour))
	cli := `{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "aoa-cli-access-token", "expiresAt": "` + expires +
		`", "clientId": "cli-client-id", "clientSecret": "cli-client-secret", "registrationExpiresAt": "2099-03-31T00:00:00Z", "refreshToken": "aor-cli-refresh-token"}`
	os.MkdirAll(filepath.Dir(tokenFile(e, "corp")), 0o700)
	os.WriteFile(tokenFile(e, "corp"), []byte(cli), 0o600)
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	if after, _ := os.ReadFile(tokenFile(e, "corp")); string(after) != cli {
		t.Errorf("the CLI's token file was rewritten:\n%s", after)
	}
	if n := e.STS.Calls("GetRoleCredentials"); n != 1 {
		t.Errorf("GetRoleCredentials calls = %d, want 1", n)
	}
}
