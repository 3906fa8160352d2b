package fakests

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestInMemoryInABubble: a fake made by NewInMemory serves the SDK through
// its Transport inside a synctest bubble, on the bubble's clock: a device
// sign-in polled a second later, a token that expires an hour of bubble
// time on, role credentials with it, and an STS call whose signature the
// fake checks against the Host the client signed.
func TestInMemoryInABubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewInMemory()
		defer s.Close()
		s.AssignSSO(DefaultSSOUser, Account, "Developer")
		cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.URL), HTTPClient: &http.Client{Transport: s.Transport()},
			Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
		c, portal := ssooidc.NewFromConfig(cfg), sso.NewFromConfig(cfg)
		ctx := context.Background()
		start := time.Now()

		reg := register(t, c, GrantDeviceCode, GrantRefreshToken)
		auth, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(startURL)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ApproveDevice(*auth.UserCode); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(auth.Interval) * time.Second)
		tok, err := c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String(GrantDeviceCode), DeviceCode: auth.DeviceCode})
		if err != nil {
			t.Fatal(err)
		}
		if tok.ExpiresIn != 3600 || reg.ClientIdIssuedAt != start.Unix() {
			t.Errorf("expires in %d, registered at %d; want 3600 and the bubble's %d", tok.ExpiresIn, reg.ClientIdIssuedAt, start.Unix())
		}
		out, err := portal.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken, AccountId: aws.String(Account), RoleName: aws.String("Developer")})
		if err != nil {
			t.Fatal(err)
		}
		if want := start.Add(time.Second + time.Hour).UnixMilli(); out.RoleCredentials.Expiration != want {
			t.Errorf("role credentials expire at %d, want %d (an hour of bubble time on)", out.RoleCredentials.Expiration, want)
		}

		user := s.AddUser("alice")
		cfg.Credentials = credentials.NewStaticCredentialsProvider(user.AccessKeyID, user.SecretAccessKey, "")
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(id.Arn) != user.ARN {
			t.Errorf("GetCallerIdentity = %v, %v; want %s", id, err, user.ARN)
		}
		if s.Calls("CreateToken") != 1 || s.Calls("GetCallerIdentity") != 1 {
			t.Errorf("calls: CreateToken %d, GetCallerIdentity %d; want 1 each", s.Calls("CreateToken"), s.Calls("GetCallerIdentity"))
		}
	})
}
