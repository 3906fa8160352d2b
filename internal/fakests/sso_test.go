package fakests

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	"github.com/aws/smithy-go"
)

func TestPortalChecksAssignments(t *testing.T) {
	s, clk, _, portal := newSSO(t)
	const other = "210987654321"
	s.AddSSOToken("dave-token", "dave", clk.Now().Add(time.Hour))
	s.AssignSSO("dave", Account, "Developer")
	s.AssignSSO("dave", other, "ReadOnly")
	s.AssignSSO("erin", Account, "Admin") // erin's, not dave's

	tests := []struct {
		account, role string
		want          int // HTTP status
	}{
		{Account, "Developer", 200},
		{other, "ReadOnly", 200},
		{Account, "Admin", 403},
		{other, "Developer", 403},
		{"999999999999", "Developer", 403},
	}
	for _, tt := range tests {
		t.Run(tt.account+"/"+tt.role, func(t *testing.T) {
			out, err := portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: aws.String("dave-token"), AccountId: &tt.account, RoleName: &tt.role})
			if tt.want == 200 {
				if err != nil {
					t.Fatal(err)
				}
				id, ok := s.Lookup(*out.RoleCredentials.AccessKeyId)
				if want := "arn:aws:sts::" + tt.account + ":assumed-role/AWSReservedSSO_" + tt.role + "/dave"; !ok || id.ARN != want {
					t.Errorf("credentials of %q, want %q", id.ARN, want)
				}
				return
			}
			// As the real portal: "ForbiddenException: No access", which
			// the SDK's model does not name, so it is a generic error.
			var ae smithy.APIError
			var re *awshttp.ResponseError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ForbiddenException" || ae.ErrorMessage() != "No access" ||
				!errors.As(err, &re) || re.HTTPStatusCode() != tt.want {
				t.Errorf("GetRoleCredentials = %v, want %d ForbiddenException: No access", err, tt.want)
			}
		})
	}

	t.Run("lists", func(t *testing.T) {
		accounts, err := portal.ListAccounts(ctx(t), &sso.ListAccountsInput{AccessToken: aws.String("dave-token")})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range accounts.AccountList {
			ids = append(ids, *a.AccountId)
		}
		if want := []string{Account, other}; !slices.Equal(ids, want) {
			t.Errorf("ListAccounts = %v, want %v", ids, want)
		}
		roles, err := portal.ListAccountRoles(ctx(t), &sso.ListAccountRolesInput{AccessToken: aws.String("dave-token"), AccountId: aws.String(Account)})
		if err != nil {
			t.Fatal(err)
		}
		if len(roles.RoleList) != 1 || *roles.RoleList[0].RoleName != "Developer" {
			t.Errorf("ListAccountRoles = %+v, want [Developer]", roles.RoleList)
		}
	})

	unauthorized := func(t *testing.T, token string) {
		t.Helper()
		_, err := portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: &token, AccountId: aws.String(Account), RoleName: aws.String("Developer")})
		var u *ssotypes.UnauthorizedException
		if !errors.As(err, &u) {
			t.Errorf("GetRoleCredentials with %s = %v, want UnauthorizedException", token, err)
		}
	}
	t.Run("unknown token", func(t *testing.T) { unauthorized(t, "nobody-token") })
	t.Run("logout", func(t *testing.T) {
		s.AddSSOToken("logout-token", "dave", clk.Now().Add(time.Hour))
		if _, err := portal.Logout(ctx(t), &sso.LogoutInput{AccessToken: aws.String("logout-token")}); err != nil {
			t.Fatal(err)
		}
		unauthorized(t, "logout-token")
	})
	t.Run("revoked", func(t *testing.T) {
		s.AddSSOToken("revoked-token", "dave", clk.Now().Add(time.Hour))
		s.RevokeSSOSession("revoked-token")
		unauthorized(t, "revoked-token")
	})
	t.Run("expired", func(t *testing.T) {
		clk.Advance(time.Hour)
		unauthorized(t, "dave-token")
	})
}

// TestSSOCredentialsFromCLICache: the SDK's SSO credential provider, as
// config.LoadDefaultConfig builds it for an sso-session profile, gets role
// credentials with a token the fake issued, from a cache file as the AWS CLI
// writes it, and refreshes it (rewriting the file) once it has expired.
func TestSSOCredentialsFromCLICache(t *testing.T) {
	s, _, c, _ := newSSO(t)
	s.SetClock(time.Now) // the SDK judges the cached token's expiry by the real clock
	s.AssignSSO(DefaultSSOUser, Account, "Developer")
	reg := register(t, c, GrantAuthorizationCode, GrantRefreshToken, GrantDeviceCode)
	tok := deviceSignIn(t, s, c, reg)

	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_ENDPOINT_URL_SSO", s.URL)
	t.Setenv("AWS_ENDPOINT_URL_SSO_OIDC", s.URL)
	for _, k := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	cfgFile := filepath.Join(home, ".aws", "config")
	os.MkdirAll(filepath.Dir(cfgFile), 0o700)
	if err := os.WriteFile(cfgFile, []byte(`[profile dev]
sso_session = corp
sso_account_id = `+Account+`
sso_role_name = Developer
region = us-east-1
[sso-session corp]
sso_start_url = `+startURL+`
sso_region = us-east-1
sso_registration_scopes = sso:account:access
`), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte("corp"))
	cacheFile := filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json")
	writeCache := func(access, refreshToken string, expires time.Time) {
		t.Helper()
		os.MkdirAll(filepath.Dir(cacheFile), 0o700)
		b, _ := json.Marshal(map[string]string{
			"startUrl": startURL, "region": "us-east-1", "accessToken": access,
			"expiresAt": expires.UTC().Format(time.RFC3339), "clientId": *reg.ClientId, "clientSecret": *reg.ClientSecret,
			"registrationExpiresAt": time.Unix(reg.ClientSecretExpiresAt, 0).UTC().Format(time.RFC3339), "refreshToken": refreshToken,
		})
		if err := os.WriteFile(cacheFile, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	retrieve := func() (aws.Credentials, error) {
		t.Helper()
		// The daemon names the files (the SDK's defaults are fixed at
		// init, from the real HOME); the token cache is under $HOME.
		cfg, err := config.LoadDefaultConfig(ctx(t), config.WithSharedConfigProfile("dev"),
			config.WithSharedConfigFiles([]string{cfgFile}), config.WithSharedCredentialsFiles([]string{filepath.Join(home, ".aws", "credentials")}))
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Credentials.Retrieve(ctx(t))
	}
	wantDeveloper := func(creds aws.Credentials) {
		t.Helper()
		id, ok := s.Lookup(creds.AccessKeyID)
		if !ok || id.SecretAccessKey != creds.SecretAccessKey || id.ARN != "arn:aws:sts::"+Account+":assumed-role/AWSReservedSSO_Developer/"+DefaultSSOUser {
			t.Errorf("credentials %s are %+v, want the fake's for the Developer role of %s", creds.AccessKeyID, id, DefaultSSOUser)
		}
	}

	writeCache(*tok.AccessToken, *tok.RefreshToken, time.Now().Add(time.Hour))
	creds, err := retrieve()
	if err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	wantDeveloper(creds)
	if n := s.CreateTokenCalls(GrantRefreshToken); n != 0 {
		t.Errorf("a fresh token was refreshed (%d calls)", n)
	}

	// Expired in the cache: the SDK redeems the refresh token and writes
	// the new tokens back.
	writeCache(*tok.AccessToken, *tok.RefreshToken, time.Now().Add(-time.Minute))
	creds, err = retrieve()
	if err != nil {
		t.Fatalf("expired token: %v", err)
	}
	wantDeveloper(creds)
	if n := s.CreateTokenCalls(GrantRefreshToken); n != 1 {
		t.Errorf("refresh CreateToken calls = %d, want 1", n)
	}
	var cached map[string]string
	b, _ := os.ReadFile(cacheFile)
	if err := json.Unmarshal(b, &cached); err != nil {
		t.Fatal(err)
	}
	if cached["accessToken"] == *tok.AccessToken || cached["refreshToken"] == *tok.RefreshToken || cached["refreshToken"] == "" {
		t.Errorf("the cache file was not rewritten with new tokens: %s", strings.ReplaceAll(string(b), *reg.ClientSecret, "…"))
	}

	// The old refresh token is spent: an SDK still holding it fails.
	writeCache(*tok.AccessToken, *tok.RefreshToken, time.Now().Add(-time.Minute))
	if _, err := retrieve(); err == nil || !strings.Contains(err.Error(), "InvalidGrantException") {
		t.Errorf("refresh with a spent refresh token = %v, want InvalidGrantException", err)
	}

	// Revoked: neither the access token nor its refresh token works.
	s.RevokeSSOSession(cached["accessToken"])
	writeCache(cached["accessToken"], cached["refreshToken"], time.Now().Add(time.Hour))
	if _, err := retrieve(); err == nil || !strings.Contains(err.Error(), "UnauthorizedException") {
		t.Errorf("revoked access token = %v, want UnauthorizedException", err)
	}
	writeCache(cached["accessToken"], cached["refreshToken"], time.Now().Add(-time.Minute))
	if _, err := retrieve(); err == nil || !strings.Contains(err.Error(), "InvalidGrantException") {
		t.Errorf("revoked refresh token = %v, want InvalidGrantException", err)
	}
}
