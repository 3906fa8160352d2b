package sso

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"

	"github.com/codecommitd/codecommitd/internal/fakests"
)

// TestTokenPathIsTheSDKs: by default the token files are where the SDK
// (and the CLI) look: ~/.aws/sso/cache/<sha1>.json.
func TestTokenPathIsTheSDKs(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	legacy := Session{Profile: "old", StartURL: startURL, Region: region}
	for _, tt := range []struct {
		s   Session
		key string
	}{{Session{Name: "corp", StartURL: startURL, Region: region}, "corp"}, {legacy, startURL}} {
		s := tt.s
		want, err := ssocreds.StandardCachedTokenFilepath(tt.key)
		if err != nil || c.TokenPath(s) != want {
			t.Errorf("TokenPath(%s) = %s, the SDK's is %s (%v)", s, c.TokenPath(s), want, err)
		}
	}
}

// sdkCredentials has the SDK's own SSO credential provider read path and
// get role credentials from the fake, as an SDK-based tool would; with
// refresh, through the SDK's token provider (sso-session profiles), which
// refreshes an expired token itself and writes the file.
func sdkCredentials(t *testing.T, e *env, path string, refresh bool) error {
	t.Helper()
	opt := func(o *ssocreds.Options) { o.CachedTokenFilepath = path }
	if refresh {
		opt = func(o *ssocreds.Options) { o.SSOTokenProvider = ssocreds.NewSSOTokenProvider(e.oidc(), path) }
	}
	creds, err := ssocreds.New(e.portal(), fakests.Account, role, startURL, opt).Retrieve(context.Background())
	if err != nil {
		return err
	}
	if id, ok := e.fake.Lookup(creds.AccessKeyID); !ok || !strings.HasSuffix(id.ARN, "AWSReservedSSO_"+role+"/"+fakests.DefaultSSOUser) {
		t.Errorf("the SDK got credentials of %q", id.ARN)
	}
	return nil
}

// TestSDKReadsWhatWeWrite: the SDK's ssocreds reads the file codecommitd's
// sign-in and refresh wrote and gets role credentials with it; its token
// provider refreshes that file with our refresh token, and codecommitd
// reads and refreshes what the SDK wrote.
func TestSDKReadsWhatWeWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		tok := e.deviceLogin(t, corp)
		path := e.client.TokenPath(corp)
		if err := sdkCredentials(t, e, path, false); err != nil {
			t.Fatalf("the SDK with our sign-in's file: %v", err)
		}
		time.Sleep(55 * time.Minute)
		tok, err := e.client.Refresh(context.Background(), corp, tok)
		if err != nil {
			t.Fatal(err)
		}
		if err := sdkCredentials(t, e, path, false); err != nil {
			t.Fatalf("the SDK with our refresh's file: %v", err)
		}

		time.Sleep(2 * time.Hour) // expired: the SDK's token provider refreshes it
		if err := sdkCredentials(t, e, path, true); err != nil {
			t.Fatalf("the SDK refreshing our file: %v", err)
		}
		bySDK, err := e.client.Load(corp)
		if err != nil || bySDK.same(tok) || bySDK.RegistrationExpiresAt.IsZero() || bySDK.StartURL != startURL {
			t.Fatalf("the SDK's file reads as %v, %v; want its new token with our other fields kept", bySDK, err)
		}
		if _, err := e.client.Refresh(context.Background(), corp, bySDK); err != nil {
			t.Errorf("refreshing the SDK's file: %v", err)
		}
	})
}

// TestCLIFileUsedAsIs: a token file exactly as `aws sso login` writes it
// (testdata) is read as it is, serves the SDK, is refreshed with its own
// refresh token and client, and stays in the CLI's shape.
func TestCLIFileUsedAsIs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		cli, err := os.ReadFile("testdata/cli-sso-session-token.json")
		if err != nil {
			t.Fatal(err)
		}
		// The fake knows what the CLI's sign-in made (the bubble's clock
		// starts at 2000-01-01T00:00:00Z; the token lasts an hour).
		e.fake.AddSSOClient("cli-client-id", "cli-client-secret", time.Date(2000, 3, 31, 0, 0, 0, 0, time.UTC))
		e.fake.AddSSOToken("aoa-cli-access-token", fakests.DefaultSSOUser, time.Date(2000, 1, 1, 1, 0, 0, 0, time.UTC))
		e.fake.AddSSORefreshToken("aor-cli-refresh-token", fakests.DefaultSSOUser)
		path := e.client.TokenPath(corp)
		writeFile(t, path, string(cli))

		tok, err := e.client.Load(corp)
		if err != nil || tok.AccessToken != "aoa-cli-access-token" || !tok.CanRefresh() {
			t.Fatalf("Load = %v, %v", tok, err)
		}
		if err := sdkCredentials(t, e, path, false); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.Refresh(context.Background(), corp, tok); err != nil {
			t.Fatal(err)
		}
		after := readFile(t, path)
		for i, field := range []string{`{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "access-`,
			`"clientId": "cli-client-id", "clientSecret": "cli-client-secret", "registrationExpiresAt": "2000-03-31T00:00:00Z", "refreshToken": "refresh-`} {
			if !strings.Contains(after, field) || (i == 0 && !strings.HasPrefix(after, field)) {
				t.Errorf("the refreshed file %s lacks the CLI's %s", after, field)
			}
		}
		if err := sdkCredentials(t, e, path, false); err != nil {
			t.Errorf("the SDK with the refreshed CLI file: %v", err)
		}
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 2 { // the token and our lock file
			t.Errorf("the cache folder holds %v", entries)
		}
	})
}
