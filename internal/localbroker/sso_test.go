package localbroker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/browser"
	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/sso"
)

const ssoConfig = "[profile dev]\nsso_session = corp\nsso_account_id = " + fakests.Account + "\nsso_role_name = Developer\nregion = us-east-1\n" +
	"[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n"

var corp = sso.Session{Name: "corp", Profile: "dev", StartURL: "https://corp.awsapps.com/start", Region: "us-east-1", Scopes: []string{"sso:account:access"}}

// ssoHome makes a HOME with profile dev of sso-session corp, and points
// the SDK at the in-memory fake (set outside the bubble: t.Setenv).
func ssoHome(t *testing.T) string {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(ssoConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	for _, k := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC"} {
		t.Setenv(k, fakests.InMemoryURL)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CA_BUNDLE", "") // the in-memory fake speaks no TLS
	return home
}

// ssoWorld is a broker as the daemon builds it (a keeper, sign-ins for git)
// against an in-memory IAM Identity Center, inside the test's bubble.
type ssoWorld struct {
	fake   *fakests.Server
	home   string
	tokens *sso.Client
	keeper *sso.Keeper
	b      *Broker
}

func newSSOWorld(t *testing.T, home string) *ssoWorld {
	w := &ssoWorld{fake: fakests.NewInMemory(), home: home}
	w.fake.AssignSSO(fakests.DefaultSSOUser, fakests.Account, "Developer")
	var err error
	if w.tokens, err = awsprofile.NewSSOClient(context.Background(), nil, w.fake.Transport()); err != nil {
		t.Fatal(err)
	}
	if w.keeper, err = sso.NewKeeper(sso.KeeperConfig{Client: w.tokens, Jitter: func(max time.Duration) time.Duration { return max / 2 }}); err != nil {
		t.Fatal(err)
	}
	if w.b, err = New(Config{SSO: w.tokens, Keeper: w.keeper, SignIn: true, Transport: w.fake.Transport()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.keeper.Run(ctx) })
	wg.Go(func() { w.b.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return w
}

func (w *ssoWorld) request(prompt broker.Prompt) *broker.SignRequest {
	return &broker.SignRequest{Profile: "dev", Repository: "repo", Env: map[string]string{"HOME": w.home}, Prompt: prompt}
}

// person reads what the helpers print and approves each device code it
// sees at the fake's device page, as the person at the keyboard would,
// unless told not to yet (hold).
type person struct {
	fake *fakests.Server

	mu    sync.Mutex
	lines []string
	hold  bool
	held  []string
}

var deviceCode = regexp.MustCompile(`enter the code ([A-Z]{4}-[A-Z]{4})`)

func (p *person) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, string(b))
	if m := deviceCode.FindStringSubmatch(string(b)); m != nil {
		if p.hold {
			p.held = append(p.held, m[1])
		} else {
			go p.fake.ApproveDevice(m[1])
		}
	}
	return len(b), nil
}

// release approves the codes held back.
func (p *person) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = false
	for _, c := range p.held {
		go p.fake.ApproveDevice(c)
	}
	p.held = nil
}

func (p *person) shown() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// helper is what git-remote-codecommit does with the broker (SignWithSSO),
// where no browser opens (an SSH session).
func (w *ssoWorld) helper(ctx context.Context, p *person, prompt broker.Prompt) error {
	ui := &client.SignInUI{Stderr: p, Browser: noBrowser}
	_, err := client.SignWithSSO(ctx, w.b, w.request(prompt), nil, ui)
	return err
}

// noBrowser is a machine where no browser opens: no display.
var noBrowser = browser.Host{GOOS: "linux", Getenv: func(string) string { return "" },
	LookPath: func(string) (string, error) { return "", errors.New("not installed") }}

// TestSignInOneForAll: 16 git processes that can show a sign-in find the
// session never signed in: exactly one shows a sign-in (one line, with the
// code; no browser opens here, so the device code grant), the others wait
// showing nothing, and once the person approves the code all 16 are
// served. One StartDeviceAuthorization, one CreateToken of the device
// grant.
func TestSignInOneForAll(t *testing.T) {
	home := ssoHome(t)
	synctest.Test(t, func(t *testing.T) {
		w := newSSOWorld(t, home)
		p := &person{fake: w.fake}
		errs := make(chan error, 16)
		for range 16 {
			go func() { errs <- w.helper(context.Background(), p, broker.PromptAvailable) }()
		}
		for range 16 {
			if err := <-errs; err != nil {
				t.Errorf("git process: %v", err)
			}
		}
		lines := p.shown()
		if n := w.fake.Calls("StartDeviceAuthorization"); n != 1 || w.fake.CreateTokenCalls(fakests.GrantDeviceCode) != 1 || len(lines) != 1 {
			t.Errorf("%d sign-ins, %d device-code redemptions, lines shown %q; want one of each", n, w.fake.CreateTokenCalls(fakests.GrantDeviceCode), lines)
		}
		want := regexp.MustCompile(`^sign in to IAM Identity Center for profile dev \(sso-session corp\): open ` + regexp.QuoteMeta(fakests.InMemoryURL) +
			`/device on any device and enter the code [A-Z]{4}-[A-Z]{4} \(or open \S+user_code=\S+\); git goes on once you are signed in\n$`)
		if len(lines) == 1 && !want.MatchString(lines[0]) {
			t.Errorf("the line shown: %q", lines[0])
		}
		synctest.Wait() // the keeper reads the new token file
		if st, _ := w.b.Status(context.Background()); len(st.SSOSessions) != 1 || st.SSOSessions[0].Name != "corp" || st.SSOSessions[0].Expires.IsZero() || st.SSOSessions[0].SigningIn {
			t.Errorf("status: %+v, want sso-session corp signed in", st.SSOSessions)
		}
	})
}

// TestCannotSignIn: a caller that cannot show a sign-in (an IDE's
// background fetch) gets one line at once, naming the session and the
// command, and no sign-in is started; with a sign-in under way, shown by
// another git process, it waits for that one.
func TestCannotSignIn(t *testing.T) {
	home := ssoHome(t)
	synctest.Test(t, func(t *testing.T) {
		w := newSSOWorld(t, home)
		ctx := context.Background()
		if err := os.MkdirAll(filepath.Dir(w.tokens.TokenPath(corp)), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, file, want string }{
			{"no token", "", "SSO session corp is not signed in: run codecommitd login --sso-session corp"},
			{"expired", `{"accessToken": "old", "expiresAt": "2020-01-02T03:04:05Z"}`, "SSO session corp has ended: run codecommitd login --sso-session corp"},
			{"unreadable", "{not json", "SSO session corp needs a new sign-in (its token file cannot be used): run codecommitd login --sso-session corp"},
			{"another session's", `{"startUrl": "https://other.awsapps.com/start", "region": "us-east-1", "accessToken": "x", "expiresAt": "2099-01-02T03:04:05Z"}`,
				"SSO session corp needs a new sign-in (its token file is another session's): run codecommitd login --sso-session corp"},
		} {
			if tc.file != "" {
				if err := os.WriteFile(w.tokens.TokenPath(corp), []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := w.b.SignURL(ctx, w.request(broker.PromptUnavailable))
			var be *broker.Error
			if !errors.As(err, &be) || !errors.Is(err, broker.ErrSSOExpired) || !be.CannotPrompt || err.Error() != tc.want {
				t.Errorf("%s: %v; want %q", tc.name, err, tc.want)
			}
		}
		os.Remove(w.tokens.TokenPath(corp))
		if n := w.fake.Calls("StartDeviceAuthorization"); n != 0 {
			t.Fatalf("%d sign-ins started for callers that cannot show them", n)
		}

		p := &person{fake: w.fake, hold: true}
		shower := make(chan error, 1)
		go func() { shower <- w.helper(ctx, p, broker.PromptAvailable) }()
		synctest.Wait()
		ide := make(chan error, 1)
		go func() { ide <- w.helper(ctx, &person{}, broker.PromptUnavailable) }()
		synctest.Wait()
		p.release()
		if err := <-shower; err != nil {
			t.Errorf("the git process that showed it: %v", err)
		}
		if err := <-ide; err != nil {
			t.Errorf("the background fetch waiting for it: %v", err)
		}
	})
}

// TestAbandonedSignInPassesOn: the git process that shows a sign-in is
// stopped (Ctrl-C) while it waits: the sign-in ends, and another git
// process waiting on the session shows a new one, which serves it.
func TestAbandonedSignInPassesOn(t *testing.T) {
	home := ssoHome(t)
	synctest.Test(t, func(t *testing.T) {
		w := newSSOWorld(t, home)
		first := &person{fake: w.fake, hold: true}
		ctx, ctrlC := context.WithCancel(context.Background())
		gone := make(chan error, 1)
		go func() { gone <- w.helper(ctx, first, broker.PromptAvailable) }()
		synctest.Wait()
		second := &person{fake: w.fake}
		served := make(chan error, 1)
		go func() { served <- w.helper(context.Background(), second, broker.PromptAvailable) }()
		synctest.Wait()
		if len(first.shown()) != 1 || len(second.shown()) != 0 {
			t.Fatalf("shown: first %q, second %q; want the first only", first.shown(), second.shown())
		}
		ctrlC()
		if err := <-gone; !errors.Is(err, context.Canceled) {
			t.Errorf("the stopped git process: %v", err)
		}
		if err := <-served; err != nil || len(second.shown()) != 1 {
			t.Errorf("the next git process: %v, shown %q; want it to show a new sign-in and be served", err, second.shown())
		}
		if n := w.fake.Calls("StartDeviceAuthorization"); n != 2 {
			t.Errorf("%d sign-ins, want 2", n)
		}
	})
}

// TestSignedInElsewhereMeanwhile: while git processes wait on a sign-in
// nobody answers, the person signs in with `codecommitd login` (another
// process writes the token file and tells the daemon): the waiters are
// served at once, and the daemon's own sign-in stops polling.
func TestSignedInElsewhereMeanwhile(t *testing.T) {
	home := ssoHome(t)
	synctest.Test(t, func(t *testing.T) {
		w := newSSOWorld(t, home)
		ctx := context.Background()
		p := &person{fake: w.fake, hold: true}
		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- w.helper(ctx, p, broker.PromptAvailable) }()
		}
		synctest.Wait()
		login, err := awsprofile.NewSSOClient(ctx, nil, w.fake.Transport()) // another process's: codecommitd login
		if err != nil {
			t.Fatal(err)
		}
		if _, err := login.Login(ctx, corp, sso.LoginOptions{DeviceCode: true, Show: func(pr sso.Prompt) { go w.fake.ApproveDevice(pr.UserCode) }}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		w.b.SSOSessionChanged(ctx, broker.SSOSession{Name: "corp"})
		for range 3 {
			if err := <-errs; err != nil {
				t.Errorf("waiter: %v", err)
			}
		}
		if waited := time.Since(start); waited > time.Second {
			t.Errorf("waiters served %v after the sign-in elsewhere", waited)
		}
		polls := w.fake.CreateTokenCalls(fakests.GrantDeviceCode)
		time.Sleep(time.Minute)
		if n := w.fake.CreateTokenCalls(fakests.GrantDeviceCode); n != polls {
			t.Errorf("the daemon's sign-in went on polling (%d more CreateToken calls)", n-polls)
		}
	})
}

// TestRevokedAtThePortal: a token this machine's clock calls valid but the
// portal refuses (the session was revoked) makes a git process that can
// show it sign in again, and then it is served.
func TestRevokedAtThePortal(t *testing.T) {
	home := ssoHome(t)
	synctest.Test(t, func(t *testing.T) {
		w := newSSOWorld(t, home)
		os.MkdirAll(filepath.Dir(w.tokens.TokenPath(corp)), 0o700)
		os.WriteFile(w.tokens.TokenPath(corp), []byte(`{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "revoked", "expiresAt": "`+
			time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`), 0o600)
		p := &person{fake: w.fake}
		if err := w.helper(context.Background(), p, broker.PromptAvailable); err != nil || len(p.shown()) != 1 {
			t.Errorf("%v, shown %q; want a sign-in, then served", err, p.shown())
		}
	})
}

// TestKeptAliveEightHours is issue #20's simulation through the broker: an
// SSO session of 1-hour access tokens that IAM Identity Center ends after 8
// hours, signed in once from git, then a git operation (a SignURL from a
// caller that cannot show a sign-in, so any need of one fails it) every 10
// minutes for those 8 hours. No operation fails, nobody is asked to sign in
// again, and the keeper refreshes the token 9 times: 10 to 13 minutes
// before each expiry (here 11.5), the fewest that keep 1-hour tokens valid
// from the sign-in to the last operation (7h50); the refresh that ran into
// the session's end is the last. (The 7–8 counts refreshes at
// expiry, which leave no margin.)
func TestKeptAliveEightHours(t *testing.T) {
	home := ssoHome(t)
	synctest.Test(t, func(t *testing.T) {
		w := newSSOWorld(t, home)
		w.fake.SetSSOLifetimes(time.Hour, 8*time.Hour)
		ctx := context.Background()
		if err := w.helper(ctx, &person{fake: w.fake}, broker.PromptAvailable); err != nil {
			t.Fatal(err)
		}
		failed := 0
		for op := 1; op < 48; op++ {
			time.Sleep(10 * time.Minute)
			if _, err := w.b.SignURL(ctx, w.request(broker.PromptUnavailable)); err != nil {
				failed++
				t.Errorf("operation %d at %v: %v", op, time.Duration(op)*10*time.Minute, err)
			}
		}
		prompts := w.fake.Calls("StartDeviceAuthorization") - 1
		refreshes := w.fake.CreateTokenCalls(fakests.GrantRefreshToken)
		t.Logf("%d prompts, %d refreshes, %d failed operations", prompts, refreshes, failed)
		if prompts != 0 || refreshes != 9 || failed != 0 {
			t.Errorf("%d prompts, %d refreshes, %d failed operations; want 0, 9, 0", prompts, refreshes, failed)
		}
		st, _ := w.b.Status(ctx)
		if len(st.SSOSessions) != 1 || st.SSOSessions[0].Refreshes != 9 || st.SSOSessions[0].SessionEnds.IsZero() || st.SSOSessions[0].LastError != "" {
			t.Errorf("status: %+v", st.SSOSessions)
		}
	})
}
