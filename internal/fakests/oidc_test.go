package fakests

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/smithy-go"
)

const startURL = "https://corp.awsapps.com/start"

// testClock is the fake's clock, which only the test moves: the fake
// answers over real HTTP, so the test cannot run in a synctest bubble.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// newSSO starts a fake on a clock of the test's and returns it with the
// SDK's OIDC and portal clients pointed at it, as AWS_ENDPOINT_URL_SSO_OIDC
// and AWS_ENDPOINT_URL_SSO would.
func newSSO(t *testing.T) (*Server, *testClock, *ssooidc.Client, *sso.Client) {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	clk := &testClock{}
	clk.ns.Store(time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	s.SetClock(clk.Now)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	return s, clk, ssooidc.NewFromConfig(cfg), sso.NewFromConfig(cfg)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// register registers a client as the AWS CLI does for an sso-session: for
// the authorization code grant with the loopback callback, or for the
// device code grant; no grants is a legacy profile's registration.
func register(t *testing.T, c *ssooidc.Client, grants ...string) *ssooidc.RegisterClientOutput {
	t.Helper()
	in := &ssooidc.RegisterClientInput{ClientName: aws.String("codecommitd"), ClientType: aws.String("public"), GrantTypes: grants}
	if len(grants) > 0 {
		in.Scopes = []string{ScopeAccountAccess}
		in.IssuerUrl = aws.String(startURL)
	}
	for _, g := range grants {
		if g == GrantAuthorizationCode {
			in.RedirectUris = []string{"http://127.0.0.1/oauth/callback"}
		}
	}
	out, err := c.RegisterClient(ctx(t), in)
	if err != nil {
		t.Fatalf("RegisterClient: %v", err)
	}
	return out
}

// deviceSignIn signs in with the device code grant, approving the code
// without a browser.
func deviceSignIn(t *testing.T, s *Server, c *ssooidc.Client, reg *ssooidc.RegisterClientOutput) *ssooidc.CreateTokenOutput {
	t.Helper()
	start, err := c.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(startURL)})
	if err != nil {
		t.Fatalf("StartDeviceAuthorization: %v", err)
	}
	if err := s.ApproveDevice(*start.UserCode); err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String(GrantDeviceCode), DeviceCode: start.DeviceCode})
	if err != nil {
		t.Fatalf("CreateToken (device code): %v", err)
	}
	return tok
}

func refresh(t *testing.T, c *ssooidc.Client, reg *ssooidc.RegisterClientOutput, token *string) (*ssooidc.CreateTokenOutput, error) {
	return c.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String(GrantRefreshToken), RefreshToken: token})
}

// oidcCode is the SDK's name for an OIDC error; a typed exception (not a
// generic error) shows the fake answered in the service's shape.
func oidcCode(err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return "no error"
	case !errors.As(err, &ae):
		return "not an API error: " + err.Error()
	}
	if _, generic := ae.(*smithy.GenericAPIError); generic {
		return "generic " + ae.ErrorCode()
	}
	return ae.ErrorCode()
}

func TestRegisterClient(t *testing.T) {
	cli := func(mod func(*ssooidc.RegisterClientInput)) *ssooidc.RegisterClientInput {
		in := &ssooidc.RegisterClientInput{
			ClientName: aws.String("codecommitd"), ClientType: aws.String("public"),
			GrantTypes: []string{GrantAuthorizationCode, GrantRefreshToken}, RedirectUris: []string{"http://127.0.0.1/oauth/callback"},
			IssuerUrl: aws.String(startURL), Scopes: []string{ScopeAccountAccess},
		}
		mod(in)
		return in
	}
	tests := []struct {
		name string
		in   *ssooidc.RegisterClientInput
		want string // exception, "" for success
	}{
		{"as the AWS CLI for authorization code", cli(func(*ssooidc.RegisterClientInput) {}), ""},
		{"device code and refresh", cli(func(in *ssooidc.RegisterClientInput) {
			in.GrantTypes, in.RedirectUris = []string{GrantDeviceCode, GrantRefreshToken}, nil
		}), ""},
		{"legacy: no grants, scopes or issuer", &ssooidc.RegisterClientInput{ClientName: aws.String("botocore"), ClientType: aws.String("public")}, ""},
		{"loopback with a port", cli(func(in *ssooidc.RegisterClientInput) {
			in.RedirectUris = []string{"http://127.0.0.1:8080/oauth/callback"}
		}), ""},
		{"confidential client", cli(func(in *ssooidc.RegisterClientInput) { in.ClientType = aws.String("confidential") }), "InvalidClientMetadataException"},
		{"unknown grant", cli(func(in *ssooidc.RegisterClientInput) { in.GrantTypes = append(in.GrantTypes, "password") }), "InvalidClientMetadataException"},
		{"unknown scope", cli(func(in *ssooidc.RegisterClientInput) { in.Scopes = []string{"openid"} }), "InvalidScopeException"},
		{"authorization code without redirect", cli(func(in *ssooidc.RegisterClientInput) { in.RedirectUris = nil }), "InvalidRedirectUriException"},
		{"https redirect", cli(func(in *ssooidc.RegisterClientInput) {
			in.RedirectUris = []string{"https://example.com/oauth/callback"}
		}), "InvalidRedirectUriException"},
		{"localhost by name", cli(func(in *ssooidc.RegisterClientInput) { in.RedirectUris = []string{"http://localhost/oauth/callback"} }), "InvalidRedirectUriException"},
		{"another path", cli(func(in *ssooidc.RegisterClientInput) { in.RedirectUris = []string{"http://127.0.0.1/callback"} }), "InvalidRedirectUriException"},
		{"a query", cli(func(in *ssooidc.RegisterClientInput) {
			in.RedirectUris = []string{"http://127.0.0.1/oauth/callback?x=1"}
		}), "InvalidRedirectUriException"},
		{"no issuer", cli(func(in *ssooidc.RegisterClientInput) { in.IssuerUrl = nil }), "InvalidRequestException"},
		{"http issuer", cli(func(in *ssooidc.RegisterClientInput) { in.IssuerUrl = aws.String("http://corp.awsapps.com/start") }), "InvalidRequestException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk, c, _ := newSSO(t)
			out, err := c.RegisterClient(ctx(t), tt.in)
			if tt.want != "" {
				if got := oidcCode(err); got != tt.want {
					t.Fatalf("RegisterClient = %s, want %s", got, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.ClientId) == "" || aws.ToString(out.ClientSecret) == "" {
				t.Errorf("no client id or secret: %+v", out)
			}
			if out.ClientIdIssuedAt != clk.Now().Unix() || out.ClientSecretExpiresAt != clk.Now().Add(90*24*time.Hour).Unix() {
				t.Errorf("issued %d, expires %d; want now (%d) and 90 days on", out.ClientIdIssuedAt, out.ClientSecretExpiresAt, clk.Now().Unix())
			}
			if n := s.Calls("RegisterClient"); n != 1 {
				t.Errorf("RegisterClient calls = %d, want 1", n)
			}
		})
	}
}

func TestDeviceCodeFlow(t *testing.T) {
	s, clk, c, portal := newSSO(t)
	s.AssignSSO(DefaultSSOUser, Account, "Developer")
	reg := register(t, c, GrantDeviceCode, GrantRefreshToken)
	start, err := c.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(startURL)})
	if err != nil {
		t.Fatal(err)
	}
	if start.Interval != 1 || start.ExpiresIn != 600 || *start.VerificationUri != s.URL+"/device" ||
		*start.VerificationUriComplete != s.URL+"/device?user_code="+url.QueryEscape(*start.UserCode) {
		t.Errorf("StartDeviceAuthorization = interval %d, expires %d, %q, %q", start.Interval, start.ExpiresIn, *start.VerificationUri, *start.VerificationUriComplete)
	}
	poll := func() (*ssooidc.CreateTokenOutput, error) {
		return c.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String(GrantDeviceCode), DeviceCode: start.DeviceCode})
	}
	wantPoll := func(want string) {
		t.Helper()
		if _, err := poll(); oidcCode(err) != want {
			t.Fatalf("poll = %s, want %s", oidcCode(err), want)
		}
	}

	// Pending; polled again at once, too fast: slow down, and the interval
	// grows by five seconds.
	_, err = poll()
	var pending *types.AuthorizationPendingException
	if !errors.As(err, &pending) || aws.ToString(pending.Error_) != "authorization_pending" {
		t.Fatalf("first poll = %v, want AuthorizationPendingException with error authorization_pending", err)
	}
	_, err = poll()
	var slow *types.SlowDownException
	if !errors.As(err, &slow) || aws.ToString(slow.Error_) != "slow_down" {
		t.Fatalf("second poll at once = %v, want SlowDownException", err)
	}
	clk.Advance(5 * time.Second) // < 1 + 5
	wantPoll("SlowDownException")
	clk.Advance(11 * time.Second) // 1 + 5 + 5
	wantPoll("AuthorizationPendingException")

	if err := s.ApproveDevice(strings.ToLower(*start.UserCode)); err != nil {
		t.Fatal(err)
	}
	if err := s.ApproveDevice(*start.UserCode); err == nil {
		t.Error("a code was approved twice")
	}
	clk.Advance(11 * time.Second)
	tok, err := poll()
	if err != nil {
		t.Fatalf("poll after approval: %v", err)
	}
	if aws.ToString(tok.AccessToken) == "" || aws.ToString(tok.RefreshToken) == "" || tok.ExpiresIn != 3600 || aws.ToString(tok.TokenType) != "Bearer" {
		t.Errorf("token = access %q refresh %q expires in %d type %q; want both tokens, 3600 s, Bearer", aws.ToString(tok.AccessToken), aws.ToString(tok.RefreshToken), tok.ExpiresIn, aws.ToString(tok.TokenType))
	}
	clk.Advance(11 * time.Second)
	wantPoll("InvalidGrantException") // a device code is redeemed once

	// The access token gets the approving user's role credentials.
	rc, err := portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken, AccountId: aws.String(Account), RoleName: aws.String("Developer")})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := s.Lookup(*rc.RoleCredentials.AccessKeyId); !ok || id.ARN != "arn:aws:sts::"+Account+":assumed-role/AWSReservedSSO_Developer/"+DefaultSSOUser {
		t.Errorf("role credentials are %+v, want the SSO role of %s", id, DefaultSSOUser)
	}

	// A refresh token is redeemed once.
	r1, err := refresh(t, c, reg, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if *r1.AccessToken == *tok.AccessToken || *r1.RefreshToken == *tok.RefreshToken {
		t.Error("a refresh returned the same tokens")
	}
	if _, err := refresh(t, c, reg, tok.RefreshToken); oidcCode(err) != "InvalidGrantException" {
		t.Errorf("reused refresh token = %s, want InvalidGrantException", oidcCode(err))
	}

	// Revoked: the session's refresh and access tokens stop working.
	if !s.RevokeSSOSession(*r1.AccessToken) {
		t.Fatal("RevokeSSOSession found no session")
	}
	if _, err := refresh(t, c, reg, r1.RefreshToken); oidcCode(err) != "InvalidGrantException" {
		t.Errorf("refresh after revocation = %s, want InvalidGrantException", oidcCode(err))
	}
	for _, access := range []*string{tok.AccessToken, r1.AccessToken} {
		_, err := portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: access, AccountId: aws.String(Account), RoleName: aws.String("Developer")})
		var unauthorized *ssotypes.UnauthorizedException
		if !errors.As(err, &unauthorized) {
			t.Errorf("GetRoleCredentials after revocation = %v, want UnauthorizedException", err)
		}
	}

	for name, want := range map[string]int{"RegisterClient": 1, "StartDeviceAuthorization": 1, "CreateToken": 9} {
		if got := s.Calls(name); got != want {
			t.Errorf("%s calls = %d, want %d", name, got, want)
		}
	}
	for grant, want := range map[string]int{GrantDeviceCode: 6, GrantRefreshToken: 3, GrantAuthorizationCode: 0} {
		if got := s.CreateTokenCalls(grant); got != want {
			t.Errorf("CreateToken calls for %s = %d, want %d", grant, got, want)
		}
	}
}

func TestDeviceCodeDeniedOrExpired(t *testing.T) {
	tests := []struct {
		name   string
		answer func(s *Server, clk *testClock, userCode string) error
		want   string
	}{
		{"denied", func(s *Server, _ *testClock, code string) error { return s.DenyDevice(code) }, "AccessDeniedException"},
		{"expired before approval", func(s *Server, clk *testClock, code string) error {
			clk.Advance(10 * time.Minute)
			if err := s.ApproveDevice(code); err == nil {
				t.Error("an expired code was approved")
			}
			return nil
		}, "ExpiredTokenException"},
		{"approved, polled after expiry", func(s *Server, clk *testClock, code string) error {
			err := s.ApproveDevice(code)
			clk.Advance(10 * time.Minute)
			return err
		}, "ExpiredTokenException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk, c, _ := newSSO(t)
			reg := register(t, c, GrantDeviceCode, GrantRefreshToken)
			start, err := c.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(startURL)})
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.answer(s, clk, *start.UserCode); err != nil {
				t.Fatal(err)
			}
			_, err = c.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String(GrantDeviceCode), DeviceCode: start.DeviceCode})
			if got := oidcCode(err); got != tt.want {
				t.Errorf("poll = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestSessionLifetimes: access tokens of the access lifetime, refreshed
// with the refresh token until the session ends, the last one cut short at
// the session's end; then neither works.
func TestSessionLifetimes(t *testing.T) {
	tests := []struct {
		access, session time.Duration
	}{
		{0, 0}, // the defaults: one hour in eight
		{time.Hour, 8 * time.Hour},
		{15 * time.Minute, 50 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.access.String()+" in "+tt.session.String(), func(t *testing.T) {
			s, clk, c, portal := newSSO(t)
			s.AssignSSO(DefaultSSOUser, Account, "Developer")
			s.SetSSOLifetimes(tt.access, tt.session)
			access, session := cmpOr(tt.access, time.Hour), cmpOr(tt.session, 8*time.Hour)
			reg := register(t, c, GrantDeviceCode, GrantRefreshToken)
			tok := deviceSignIn(t, s, c, reg)
			end := clk.Now().Add(session)
			works := func(token *string) bool {
				_, err := portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: token, AccountId: aws.String(Account), RoleName: aws.String("Developer")})
				return err == nil
			}
			refreshes := 0
			for {
				if want := min(access, end.Sub(clk.Now())); time.Duration(tok.ExpiresIn)*time.Second != want {
					t.Fatalf("after %d refreshes: expires in %d s, want %v", refreshes, tok.ExpiresIn, want)
				}
				clk.Advance(time.Duration(tok.ExpiresIn)*time.Second - time.Second)
				if !works(tok.AccessToken) {
					t.Fatalf("after %d refreshes: the access token failed a second before its expiry", refreshes)
				}
				clk.Advance(time.Second)
				if works(tok.AccessToken) {
					t.Fatalf("after %d refreshes: the access token works past its expiry", refreshes)
				}
				next, err := refresh(t, c, reg, tok.RefreshToken)
				if !clk.Now().Before(end) {
					if oidcCode(err) != "InvalidGrantException" {
						t.Fatalf("refresh after the session's end = %s, want InvalidGrantException", oidcCode(err))
					}
					break
				}
				if err != nil {
					t.Fatalf("refresh %d: %v", refreshes+1, err)
				}
				tok = next
				refreshes++
			}
			if want := int((session - 1) / access); refreshes != want {
				t.Errorf("%d refreshes in the session, want %d", refreshes, want)
			}
		})
	}
}

func TestLegacyClientGetsOneTokenForTheSession(t *testing.T) {
	s, _, c, _ := newSSO(t)
	reg := register(t, c) // no grant types, as for a profile without sso_session
	tok := deviceSignIn(t, s, c, reg)
	if tok.RefreshToken != nil || tok.ExpiresIn != 8*3600 {
		t.Errorf("legacy token: refresh %q, expires in %d; want no refresh token and the session's 8 hours", aws.ToString(tok.RefreshToken), tok.ExpiresIn)
	}
	if _, err := refresh(t, c, reg, aws.String("anything")); oidcCode(err) != "UnauthorizedClientException" {
		t.Errorf("refresh grant of a legacy client = %s, want UnauthorizedClientException", oidcCode(err))
	}
}

// TestScopedDeviceClientGetsRefreshTokens: the AWS CLI's device code login
// for an sso-session registers with scopes and no grant types; the service
// issues such a client refresh tokens (CLI 2.9 to 2.21 kept sessions alive
// that way), one-hour access tokens in the session.
func TestScopedDeviceClientGetsRefreshTokens(t *testing.T) {
	s, _, c, _ := newSSO(t)
	reg, err := c.RegisterClient(ctx(t), &ssooidc.RegisterClientInput{ClientName: aws.String("botocore-client-corp"), ClientType: aws.String("public"), Scopes: []string{ScopeAccountAccess}})
	if err != nil {
		t.Fatal(err)
	}
	tok := deviceSignIn(t, s, c, reg)
	if tok.RefreshToken == nil || tok.ExpiresIn != 3600 {
		t.Fatalf("token: refresh %q, expires in %d; want a refresh token and one hour", aws.ToString(tok.RefreshToken), tok.ExpiresIn)
	}
	if _, err := refresh(t, c, reg, tok.RefreshToken); err != nil {
		t.Errorf("refresh = %v", err)
	}
	if _, err := c.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String(GrantAuthorizationCode),
		Code: aws.String("c"), CodeVerifier: aws.String(strings.Repeat("v", 43)), RedirectUri: aws.String("http://127.0.0.1:1/oauth/callback")}); oidcCode(err) != "UnauthorizedClientException" {
		t.Errorf("authorization code grant of a device client = %s, want UnauthorizedClientException", oidcCode(err))
	}
}

func TestCreateTokenChecksTheClient(t *testing.T) {
	s, clk, c, _ := newSSO(t)
	s.SetSSORegistrationLifetime(time.Hour)
	reg := register(t, c, GrantDeviceCode, GrantRefreshToken)
	if reg.ClientSecretExpiresAt-reg.ClientIdIssuedAt != 3600 {
		t.Errorf("registration lasts %d s, want 3600", reg.ClientSecretExpiresAt-reg.ClientIdIssuedAt)
	}
	tok := deviceSignIn(t, s, c, reg)
	call := func(id, secret, grant string) error {
		_, err := c.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: &id, ClientSecret: &secret, GrantType: &grant, RefreshToken: tok.RefreshToken, Code: aws.String("code"), CodeVerifier: aws.String(strings.Repeat("v", 43)), RedirectUri: aws.String("http://127.0.0.1:1/oauth/callback")})
		return err
	}
	id, secret := *reg.ClientId, *reg.ClientSecret
	tests := []struct {
		name, id, secret, grant, want string
	}{
		{"wrong secret", id, secret + "x", GrantRefreshToken, "InvalidClientException"},
		{"unknown client", "nobody", secret, GrantRefreshToken, "InvalidClientException"},
		{"unknown grant", id, secret, "password", "UnsupportedGrantTypeException"},
		{"grant not registered", id, secret, GrantAuthorizationCode, "UnauthorizedClientException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := oidcCode(call(tt.id, tt.secret, tt.grant)); got != tt.want {
				t.Errorf("CreateToken = %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("injected fault", func(t *testing.T) {
		s.FailNext("CreateToken", Fault{Status: 500, Code: "InternalServerException", Message: "injected"})
		if got := oidcCode(call(id, secret, GrantRefreshToken)); got != "InternalServerException" {
			t.Errorf("CreateToken = %s, want the injected InternalServerException", got)
		}
	})
	t.Run("registration expired", func(t *testing.T) {
		clk.Advance(time.Hour)
		var invalid *types.InvalidClientException
		if err := call(id, secret, GrantRefreshToken); !errors.As(err, &invalid) {
			t.Errorf("CreateToken after the registration expired = %v, want InvalidClientException", err)
		}
		_, err := c.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(startURL)})
		if got := oidcCode(err); got != "InvalidClientException" {
			t.Errorf("StartDeviceAuthorization after the registration expired = %s, want InvalidClientException", got)
		}
	})
}
