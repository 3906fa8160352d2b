package fakests

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/codecommitd/codecommitd/internal/testbrowser"
)

func newVerifier() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b) // 43 characters
}

// authorizeURL is the URL the AWS CLI opens for the authorization code grant.
func authorizeURL(s *Server, clientID, redirectURI, state, verifier string) string {
	return s.URL + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI}, "state": {state},
		"code_challenge_method": {"S256"}, "scopes": {ScopeAccountAccess}, "code_challenge": {pkceS256(verifier)},
	}.Encode()
}

// loopback is the client's loopback listener: it hands each callback's
// query to the test.
func loopback(t *testing.T) (redirectURI string, callbacks <-chan url.Values) {
	ch := make(chan url.Values, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth/callback" {
			http.NotFound(w, r)
			return
		}
		ch <- r.URL.Query()
		fmt.Fprint(w, "<!doctype html><title>signed in</title><p>You can close this window.</p>")
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/oauth/callback", ch // httptest listens on 127.0.0.1:0
}

func callback(t *testing.T, ch <-chan url.Values) url.Values {
	t.Helper()
	select {
	case q := <-ch:
		return q
	case <-time.After(10 * time.Second):
		t.Fatal("the loopback listener got no callback")
		return nil
	}
}

// TestAuthorizationCodeFlowInBrowser: a person clicks Allow in chromium;
// the loopback listener gets the code and the state; CreateToken redeems
// the code once, with the verifier and redirect URI of the authorization.
func TestAuthorizationCodeFlowInBrowser(t *testing.T) {
	b := testbrowser.New(t)
	s, clk, c, portal := newSSO(t)
	s.SetSSOUser("carol")
	s.AssignSSO("carol", Account, "Developer")
	reg := register(t, c, GrantAuthorizationCode, GrantRefreshToken)
	redirect, callbacks := loopback(t)
	const state = "st a/te+&=é%" // comes back verbatim

	signIn := func(t *testing.T, button string) (url.Values, string) {
		t.Helper()
		verifier := newVerifier()
		p, err := b.Open(authorizeURL(s, *reg.ClientId, redirect, state, verifier))
		if err != nil || p.Status != 200 {
			t.Fatalf("authorize page: %+v, %v", p, err)
		}
		if text, _ := b.Text(); !strings.Contains(text, "Signed in as carol") {
			t.Errorf("the authorize page says %q, want who is signed in", text)
		}
		p, err = b.Click(button)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.URL, redirect+"?") || p.Status != 200 {
			t.Errorf("after %s the browser is at %+v, want the loopback callback", button, p)
		}
		q := callback(t, callbacks)
		if got := q.Get("state"); got != state {
			t.Errorf("state came back as %q, want %q", got, state)
		}
		return q, verifier
	}
	redeem := func(code, verifier, redirectURI string) (*ssooidc.CreateTokenOutput, error) {
		return c.CreateToken(ctx(t), &ssooidc.CreateTokenInput{
			ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String(GrantAuthorizationCode),
			Code: &code, CodeVerifier: &verifier, RedirectUri: &redirectURI,
		})
	}

	t.Run("allow", func(t *testing.T) {
		q, verifier := signIn(t, "Allow")
		code := q.Get("code")
		if code == "" || q.Has("error") {
			t.Fatalf("callback %v, want a code and no error", q)
		}
		otherPort := strings.Replace(redirect, "127.0.0.1:", "127.0.0.1:1", 1)
		for _, bad := range []struct{ name, verifier, redirect, want string }{
			{"wrong verifier", newVerifier(), redirect, "InvalidGrantException"},
			{"the challenge as verifier", pkceS256(verifier), redirect, "InvalidGrantException"},
			{"short verifier", "abc", redirect, "InvalidRequestException"},
			{"another port", verifier, otherPort, "InvalidGrantException"},
		} {
			if _, err := redeem(code, bad.verifier, bad.redirect); oidcCode(err) != bad.want {
				t.Errorf("%s: CreateToken = %s, want %s", bad.name, oidcCode(err), bad.want)
			}
		}
		tok, err := redeem(code, verifier, redirect)
		if err != nil {
			t.Fatalf("CreateToken with the verifier: %v", err)
		}
		if tok.ExpiresIn != 3600 || aws.ToString(tok.RefreshToken) == "" {
			t.Errorf("token expires in %d, refresh %q; want 3600 s and a refresh token", tok.ExpiresIn, aws.ToString(tok.RefreshToken))
		}
		if _, err := redeem(code, verifier, redirect); oidcCode(err) != "InvalidGrantException" {
			t.Errorf("reused code: CreateToken = %s, want InvalidGrantException", oidcCode(err))
		}
		rc, err := portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken, AccountId: aws.String(Account), RoleName: aws.String("Developer")})
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := s.Lookup(*rc.RoleCredentials.AccessKeyId); !strings.HasSuffix(id.ARN, "/AWSReservedSSO_Developer/carol") {
			t.Errorf("role credentials of %q, want carol's", id.ARN)
		}
	})
	t.Run("code expires", func(t *testing.T) {
		q, verifier := signIn(t, "Allow")
		clk.Advance(5 * time.Minute)
		if _, err := redeem(q.Get("code"), verifier, redirect); oidcCode(err) != "InvalidGrantException" {
			t.Errorf("CreateToken with a 5-minute-old code = %s, want InvalidGrantException", oidcCode(err))
		}
	})
	t.Run("deny", func(t *testing.T) {
		q, _ := signIn(t, "Deny")
		if q.Get("error") != "access_denied" || q.Has("code") {
			t.Errorf("callback after Deny = %v, want error=access_denied and no code", q)
		}
	})
	if n := s.CreateTokenCalls(GrantAuthorizationCode); n != 7 {
		t.Errorf("authorization code CreateToken calls = %d, want 7", n)
	}
}

// TestAuthorizeRefusesBadRequests: a bad authorize request gets an error
// page, never a redirect (which would hand a code, or the user, to a
// client that did not ask properly).
func TestAuthorizeRefusesBadRequests(t *testing.T) {
	s, clk, c, _ := newSSO(t)
	reg := register(t, c, GrantAuthorizationCode, GrantRefreshToken)
	legacy := register(t, c)
	s.SetSSORegistrationLifetime(time.Minute)
	short := register(t, c, GrantAuthorizationCode)
	clk.Advance(time.Minute)

	verifier := newVerifier()
	valid := func(mod func(q url.Values)) string {
		q, _ := url.ParseQuery(strings.SplitN(authorizeURL(s, *reg.ClientId, "http://127.0.0.1:4321/oauth/callback", "xyz", verifier), "?", 2)[1])
		mod(q)
		return s.URL + "/authorize?" + q.Encode()
	}
	set := func(k, v string) func(url.Values) { return func(q url.Values) { q.Set(k, v) } }
	del := func(k string) func(url.Values) { return func(q url.Values) { q.Del(k) } }
	tests := []struct {
		name   string
		url    string
		status int
	}{
		{"valid", valid(func(url.Values) {}), 200},
		{"no state", valid(del("state")), 400},
		{"plain challenge", valid(set("code_challenge_method", "plain")), 400},
		{"no challenge", valid(del("code_challenge")), 400},
		{"challenge not a SHA-256", valid(set("code_challenge", "abc")), 400},
		{"implicit grant", valid(set("response_type", "token")), 400},
		{"unknown client", valid(set("client_id", "nobody")), 400},
		{"legacy client", valid(set("client_id", *legacy.ClientId)), 400},
		{"expired registration", valid(set("client_id", *short.ClientId)), 400},
		{"https redirect", valid(set("redirect_uri", "https://evil.example/oauth/callback")), 400},
		{"redirect to another host", valid(set("redirect_uri", "http://127.0.0.2:4321/oauth/callback")), 400},
		{"redirect without port", valid(set("redirect_uri", "http://127.0.0.1/oauth/callback")), 400},
		{"redirect elsewhere", valid(set("redirect_uri", "http://127.0.0.1:4321/other")), 400},
		{"unknown scope", valid(set("scopes", "openid")), 400},
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noRedirect.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != "" {
				t.Errorf("GET = %d (Location %q), want %d and no redirect", resp.StatusCode, resp.Header.Get("Location"), tt.status)
			}
		})
	}
	t.Run("forged form", func(t *testing.T) {
		resp, err := noRedirect.PostForm(s.URL+"/authorize", url.Values{"request": {"forged"}, "decision": {"allow"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
			t.Errorf("POST with an unknown request = %d (Location %q), want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestDevicePageInBrowser: the verificationUriComplete page approves (or
// denies) its user code when a person clicks Allow (or Deny).
func TestDevicePageInBrowser(t *testing.T) {
	b := testbrowser.New(t)
	_, clk, c, _ := newSSO(t)
	reg := register(t, c, GrantDeviceCode, GrantRefreshToken)
	tests := []struct {
		button, page, want string
	}{
		{"Allow", "Request approved", "no error"},
		{"Deny", "Request denied", "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.button, func(t *testing.T) {
			start, err := c.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(startURL)})
			if err != nil {
				t.Fatal(err)
			}
			for _, wantPage := range []string{tt.page, "already answered"} {
				if _, err := b.Open(*start.VerificationUriComplete); err != nil {
					t.Fatal(err)
				}
				if _, err := b.Click(tt.button); err != nil {
					t.Fatal(err)
				}
				if text, _ := b.Text(); !strings.Contains(text, wantPage) {
					t.Errorf("after %s the page says %q, want %q", tt.button, text, wantPage)
				}
			}
			clk.Advance(time.Minute)
			_, err = c.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String(GrantDeviceCode), DeviceCode: start.DeviceCode})
			if got := oidcCode(err); got != tt.want {
				t.Errorf("poll after %s = %s, want %s", tt.button, got, tt.want)
			}
		})
	}
}

func FuzzParseAuthorize(f *testing.F) {
	f.Add("response_type=code&client_id=c&redirect_uri=http%3A%2F%2F127.0.0.1%3A4321%2Foauth%2Fcallback&state=s&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge=" + pkceS256("v"))
	f.Add("redirect_uri=http://127.0.0.1:0/oauth/callback")
	f.Add("redirect_uri=http://127.0.0.1:/oauth/callback&scopes=a+b")
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		req, err := parseAuthorize(q)
		if err != nil {
			return
		}
		// Whatever it accepts redirects only to a loopback listener's
		// callback and carries a state and an S256 challenge.
		u, err := url.Parse(req.redirectURI)
		if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Path != "/oauth/callback" || u.RawQuery != "" {
			t.Errorf("accepted redirect_uri %q", req.redirectURI)
		}
		if req.state == "" || len(req.challenge) != 43 || req.clientID == "" {
			t.Errorf("accepted %+v", req)
		}
	})
}
