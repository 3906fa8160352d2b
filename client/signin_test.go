package client

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/browser"
)

// desktop and ssh are machines where a browser opens, and where none does.
var (
	desktop = browser.Host{GOOS: "linux", Getenv: func(k string) string { return map[string]string{"DISPLAY": ":0"}[k] },
		LookPath: func(string) (string, error) { return "/usr/bin/xdg-open", nil }}
	ssh = browser.Host{GOOS: "linux", Getenv: func(k string) string { return map[string]string{"SSH_TTY": "/dev/pts/1"}[k] },
		LookPath: func(string) (string, error) { return "/usr/bin/xdg-open", nil }}
)

// TestSignInLine: the one line a helper shows for a sign-in, exactly, for
// each flow and whether the browser opened; the page it opens is the
// authorize page, or the device page with the code filled in.
func TestSignInLine(t *testing.T) {
	device := &broker.SignIn{Session: "profile dev (sso-session corp)", VerificationURL: "https://d.example/device", UserCode: "BCDF-GHJK",
		VerificationURLComplete: "https://d.example/device?user_code=BCDF-GHJK"}
	pkce := &broker.SignIn{Session: "sso-session corp", AuthorizeURL: "https://oidc.example/authorize?state=s"}
	for _, tc := range []struct {
		name     string
		in       *broker.SignIn
		host     browser.Host
		openErr  error
		opened   string
		wantLine string
	}{
		{"device code, no browser here", device, ssh, nil, "",
			"sign in to IAM Identity Center for profile dev (sso-session corp): open https://d.example/device on any device and enter the code BCDF-GHJK (or open https://d.example/device?user_code=BCDF-GHJK); git goes on once you are signed in\n"},
		{"device code, browser opened", device, desktop, nil, device.VerificationURLComplete,
			"sign in to IAM Identity Center for profile dev (sso-session corp): your browser opens https://d.example/device?user_code=BCDF-GHJK with the code BCDF-GHJK filled in; if it does not, open https://d.example/device on any device and enter the code. git goes on once you are signed in\n"},
		{"device code, the opener failed", device, desktop, errors.New("exit status 3"), device.VerificationURLComplete,
			"sign in to IAM Identity Center for profile dev (sso-session corp): open https://d.example/device on any device and enter the code BCDF-GHJK (or open https://d.example/device?user_code=BCDF-GHJK); git goes on once you are signed in\n"},
		{"authorization code, browser opened", pkce, desktop, nil, pkce.AuthorizeURL,
			"sign in to IAM Identity Center for sso-session corp: your browser opens the sign-in page; if it does not, open https://oidc.example/authorize?state=s in a browser on this computer. git goes on once you are signed in\n"},
		{"authorization code, the opener failed", pkce, desktop, errors.New("no"), pkce.AuthorizeURL,
			"sign in to IAM Identity Center for sso-session corp: open https://oidc.example/authorize?state=s in a browser on this computer; git goes on once you are signed in\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var opened string
			ui := &SignInUI{Stderr: &out, Browser: tc.host, Open: func(u string) error { opened = u; return tc.openErr }}
			ui.show(tc.in, ui.canOpen())
			if out.String() != tc.wantLine || opened != tc.opened {
				t.Errorf("line %q, opened %q\nwant %q, opened %q", out.String(), opened, tc.wantLine, tc.opened)
			}
		})
	}
}

// scripted answers each SignURL with the next of its answers, recording
// the requests.
type scripted struct {
	broker.Broker
	answers []error
	reqs    []broker.SignRequest
}

func (s *scripted) SignURL(_ context.Context, req *broker.SignRequest) (*broker.SignedURL, error) {
	s.reqs = append(s.reqs, *req)
	err := s.answers[0]
	s.answers = s.answers[1:]
	if err != nil {
		return nil, err
	}
	return &broker.SignedURL{URL: "https://h/v1/repos/r"}, nil
}

// TestSignWithSSO: the caller the broker makes the one to show a sign-in
// shows it once, then calls again naming it until it is done; a caller
// told to wait shows nothing and calls again; the request says whether a
// browser opens here; a sign-in past its end plus a minute is given up.
func TestSignWithSSO(t *testing.T) {
	in := func(show bool, expires time.Time) error {
		return &broker.Error{Kind: broker.ErrSSOSignIn, Profile: "dev", Msg: "sign in", SignIn: &broker.SignIn{ID: "id1", Session: "sso-session corp",
			VerificationURL: "https://d/device", UserCode: "BCDF-GHJK", VerificationURLComplete: "https://d/device?user_code=BCDF-GHJK", Expires: expires, Show: show}}
	}
	soon := time.Now().Add(10 * time.Minute)
	t.Run("the one that shows it", func(t *testing.T) {
		b := &scripted{answers: []error{in(true, soon), in(false, soon), in(false, soon), nil}}
		var out bytes.Buffer
		if _, err := SignWithSSO(context.Background(), b, &broker.SignRequest{Prompt: broker.PromptAvailable}, nil, &SignInUI{Stderr: &out, Browser: desktop, Open: func(string) error { return nil }}); err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(out.Bytes(), []byte("\n")); n != 1 {
			t.Errorf("%d lines shown, want 1: %q", n, out.String())
		}
		for i, r := range b.reqs {
			if want := map[bool]string{true: "", false: "id1"}[i == 0]; r.SSOSignInShown != want || !r.Browser {
				t.Errorf("request %d: shown %q, browser %v; want %q, true", i, r.SSOSignInShown, r.Browser, want)
			}
		}
	})
	t.Run("one that waits", func(t *testing.T) {
		b := &scripted{answers: []error{in(false, soon), in(false, soon), nil}}
		var out bytes.Buffer
		if _, err := SignWithSSO(context.Background(), b, &broker.SignRequest{Prompt: broker.PromptAvailable}, nil, &SignInUI{Stderr: &out, Browser: ssh}); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 || len(b.reqs) != 3 || b.reqs[2].SSOSignInShown != "" || b.reqs[0].Browser {
			t.Errorf("shown %q, requests %+v", out.String(), b.reqs)
		}
	})
	t.Run("a sign-in long past its end", func(t *testing.T) {
		b := &scripted{answers: []error{in(false, time.Now().Add(-2*time.Minute))}}
		_, err := SignWithSSO(context.Background(), b, &broker.SignRequest{}, nil, &SignInUI{Browser: ssh})
		if !errors.Is(err, broker.ErrSSOExpired) || err.Error() != "gave up waiting for the sign-in to IAM Identity Center of sso-session corp; run the command again" {
			t.Errorf("%v", err)
		}
	})
}
