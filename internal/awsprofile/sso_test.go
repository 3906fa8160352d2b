package awsprofile

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/fakests"
)

// sdkSentences are what the AWS SDK says of SSO and `aws login` failures;
// none may reach a person.
var sdkSentences = []string{"refresh cached SSO token failed", "cached SSO token is expired", "the SSO session has expired or is invalid",
	"please reauthenticate", "load login token", "create oauth2 token", "validate login token", "failed to find SSO session section"}

// signInWorld writes config and the files (path under HOME → content) of a
// fresh HOME, points the SDK at fake, resolves profile dev, fetches its
// credentials and returns HOME and the error as a person reads it.
func signInWorld(t *testing.T, fake *fakests.Server, config string, files map[string]string) (string, error) {
	t.Helper()
	home := writeFiles(t, config, "")
	for _, k := range []string{"HOME", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_SIGNIN"} {
		v := fake.URL
		if k == "HOME" {
			v = home
		}
		t.Setenv(k, v)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for name, content := range files {
		p := filepath.Join(home, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := newResolver(t)
	ctx := context.Background()
	p, err := r.Resolve(ctx, "dev", map[string]string{"HOME": home})
	if err != nil {
		return home, err
	}
	chain, err := r.Chain(ctx, p, "us-east-1", nil)
	if err == nil {
		_, err = chain.Retrieve(ctx)
	}
	if err == nil {
		t.Fatal("no error")
	}
	return home, r.Classify(p, err)
}

func hexSum(s string, sha256sum bool) string {
	if sha256sum {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestSSOMessages: each way an IAM Identity Center profile can fail,
// through the real SDK (its ssocreds reads the token file package sso made
// sure of) against the fake portal and OIDC service, is one message of the
// right kind that names the session or profile and the fix, exactly; no
// SDK sentence reaches it.
func TestSSOMessages(t *testing.T) {
	fake := fakests.New()
	defer fake.Close()
	fake.AddSSOClient("client", "secret", time.Now().Add(24*time.Hour))
	fake.AddSSOToken("unassigned", "nobody", time.Now().Add(time.Hour))
	const (
		session = "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = us-east-1\n" +
			"[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
		legacy = "[profile dev]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = us-east-1\n"
		past   = "2020-01-02T03:04:05Z"
		fix    = "sign in with `codecommitd login --sso-session corp` (or `aws sso login --sso-session corp`)"
		who    = "profile dev (sso-session corp)"
	)
	corpFile := ".aws/sso/cache/" + hexSum("corp", false) + ".json"
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	token := func(fields string) map[string]string {
		return map[string]string{corpFile: `{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", ` + fields + `}`}
	}
	for _, tc := range []struct {
		name   string
		config string
		files  map[string]string
		before func()
		kind   error
		want   string
	}{
		{"no token file", session, nil, nil, broker.ErrSSOExpired,
			who + " is not signed in to IAM Identity Center (no token file ~/" + corpFile + "); " + fix},
		{"legacy profile, no token file", legacy, nil, nil, broker.ErrSSOExpired,
			"profile dev is not signed in to IAM Identity Center (no token file ~/.aws/sso/cache/" + hexSum("https://old.awsapps.com/start", false) +
				".json); sign in with `codecommitd login --profile dev` (or `aws sso login --profile dev`)"},
		{"expired, no refresh token", session, token(`"accessToken": "old", "expiresAt": "` + past + `"`), nil, broker.ErrSSOExpired,
			"the SSO sign-in of " + who + " expired at " + past + " and cannot be renewed (its token has no refresh token); " + fix},
		{"expired, refresh refused", session, token(`"accessToken": "old", "expiresAt": "` + past + `", "clientId": "client", "clientSecret": "secret", "refreshToken": "spent"`), nil, broker.ErrSSOExpired,
			"the SSO session of " + who + " has ended or was revoked (IAM Identity Center refused its refresh token, InvalidGrantException); " + fix},
		{"registration expired", session, token(`"accessToken": "old", "expiresAt": "` + past + `", "clientId": "client", "clientSecret": "secret", "refreshToken": "r", "registrationExpiresAt": "` + past + `"`), nil, broker.ErrSSOExpired,
			"the client registration of " + who + " expired at " + past + ", so its session cannot be renewed; " + fix},
		{"registration refused", session, token(`"accessToken": "old", "expiresAt": "` + past + `", "clientId": "unknown", "clientSecret": "secret", "refreshToken": "r"`), nil, broker.ErrSSOExpired,
			"IAM Identity Center refused the client registration of " + who + " (InvalidClientException: it expired or is unknown), so its session cannot be renewed; " + fix},
		{"start URL mismatch", session, map[string]string{corpFile: `{"startUrl": "https://other.awsapps.com/start", "region": "us-east-1", "accessToken": "x", "expiresAt": "` + future + `"}`}, nil, broker.ErrSSOExpired,
			"the SSO token file of " + who + ", ~/" + corpFile + ", is another session's: its start URL is https://other.awsapps.com/start, the profile's sso_start_url is https://corp.awsapps.com/start; " + fix},
		{"region mismatch", session, map[string]string{corpFile: `{"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": "x", "expiresAt": "` + future + `"}`}, nil, broker.ErrSSOExpired,
			"the SSO token file of " + who + ", ~/" + corpFile + ", is another session's: its region is eu-west-1, the profile's sso_region is us-east-1; " + fix},
		{"not JSON", session, map[string]string{corpFile: "{not json"}, nil, broker.ErrSSOExpired,
			"the SSO token file of " + who + ", ~/" + corpFile + ", cannot be used: it is not a JSON object; " + fix + ", which writes it anew"},
		{"account or role not assigned", session, token(`"accessToken": "unassigned", "expiresAt": "` + future + `"`), nil, broker.ErrAccessDenied,
			"IAM Identity Center does not let " + who + " use role Dev in account 123456789012 (ForbiddenException); check sso_account_id and sso_role_name, or ask an administrator for that assignment"},
		{"revoked at the portal", session, token(`"accessToken": "revoked", "expiresAt": "` + future + `"`), nil, broker.ErrSSOExpired,
			"IAM Identity Center no longer accepts the SSO token of " + who + " (UnauthorizedException: it expired or was revoked); " + fix},
		{"clock skew", session, token(`"accessToken": "revoked", "expiresAt": "` + future + `"`), func() {
			fake.SetClock(func() time.Time { return time.Now().Add(7*time.Minute + 30*time.Second) })
		}, broker.ErrClockSkew,
			"AWS refused the SSO token of " + who + ", which this machine's clock calls valid: the clock is 7m30s behind AWS's; fix the clock (NTP; on WSL after sleep: `sudo hwclock -s`)"},
		{"no sso_region", strings.Replace(session, "sso_region = us-east-1\n", "", 1), nil, nil, broker.ErrInvalidRequest,
			"profile dev signs in with IAM Identity Center, but [sso-session corp] in ~/.aws/config has no sso_region; add it there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
				defer fake.SetClock(time.Now)
			}
			home, err := signInWorld(t, fake, tc.config, tc.files)
			got := strings.ReplaceAll(err.Error(), home+"/", "~/")
			if tc.name == "clock skew" { // the Date header has whole seconds
				got = strings.Replace(strings.Replace(got, "7m29s", "7m30s", 1), "7m31s", "7m30s", 1)
			}
			if !errors.Is(err, tc.kind) || got != tc.want {
				t.Errorf("got  %s (of kind %v: %t)\nwant %s", got, tc.kind, errors.Is(err, tc.kind), tc.want)
			}
			for _, s := range append(sdkSentences, jargon...) {
				if strings.Contains(err.Error(), s) {
					t.Errorf("message holds %q", s)
				}
			}
		})
	}
}

// TestLoginSessionMessages: an `aws login` profile's failures, through the
// SDK's logincreds provider against the fake sign-in service, are told by
// type (the service's refusal, the token file), in messages that name the
// profile and say that signing in is `aws login`'s.
func TestLoginSessionMessages(t *testing.T) {
	fake := fakests.New()
	defer fake.Close()
	const config = "[profile dev]\nlogin_session = arn:aws:iam::123456789012:user/alice\nregion = us-east-1\n"
	file := ".aws/login/cache/" + hexSum("arn:aws:iam::123456789012:user/alice", true) + ".json"
	expired := map[string]string{file: `{"accessToken": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "s", "sessionToken": "t", "accountId": "123456789012", "expiresAt": "2020-01-02T03:04:05Z"},
		"tokenType": "aws_sigv4", "refreshToken": "r", "clientId": "arn:aws:signin:::devtools/same-device", "dpopKey": ` + jsonQuote(testDPoPKey) + `}`}
	fix := "sign in again with `aws login --profile dev`"
	for _, tc := range []struct {
		name, refusal string
		files         map[string]string
		kind          error
		want          string
	}{
		{"no token file", "", nil, broker.ErrLoginExpired,
			"profile dev has no `aws login` session (no token file ~/" + file + "); sign in with `aws login --profile dev` (codecommitd does not sign in to `aws login` sessions itself)"},
		{"not JSON", "", map[string]string{file: "{not json"}, broker.ErrLoginExpired,
			"the `aws login` token file of profile dev, ~/" + file + ", cannot be used (it is not one `aws login` wrote, or it cannot be read or written); " + fix + ", which writes it anew"},
		{"session ended", "TOKEN_EXPIRED", expired, broker.ErrLoginExpired,
			"the `aws login` session of profile dev has ended (the AWS sign-in service refused to renew it: TOKEN_EXPIRED); " + fix},
		{"password changed", "USER_CREDENTIALS_CHANGED", expired, broker.ErrLoginExpired,
			"the `aws login` session of profile dev ended because its user's password changed (USER_CREDENTIALS_CHANGED); " + fix},
		{"not permitted", "INSUFFICIENT_PERMISSIONS", expired, broker.ErrAccessDenied,
			"the identity of profile dev may not renew its `aws login` session (INSUFFICIENT_PERMISSIONS: signin:CreateOAuth2Token is not allowed); ask an administrator for that permission, or " + fix + " each time it ends"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.SetSignInRefusal(tc.refusal)
			before := fake.Calls("CreateOAuth2Token")
			home, err := signInWorld(t, fake, config, tc.files)
			if got := strings.ReplaceAll(err.Error(), home+"/", "~/"); !errors.Is(err, tc.kind) || got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if tc.refusal != "" && fake.Calls("CreateOAuth2Token") == before {
				t.Error("the SDK did not ask the sign-in service to renew the session")
			}
			for _, s := range append(sdkSentences, jargon...) {
				if strings.Contains(err.Error(), s) {
					t.Errorf("message holds %q", s)
				}
			}
		})
	}
}

func jsonQuote(s string) string {
	return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"`
}

// testDPoPKey is an EC P-256 key in the PEM form `aws login` stores; the
// fake sign-in service never checks the proofs made with it.
const testDPoPKey = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIBkXQ2QW3r2fVtL0zGdyUZxk8b9o0T9v2N6bWl7t4ZyHoAoGCCqGSM49
AwEHoUQDQgAE0rP9k3jJ8mT1gJqmP6bKqj8qLq0hRrO7bq9QbVbX3a0gQbqYz5mV
H8g5mP3Yw9V2m4mXk2v1X7v2HnF5n2Jv3w==
-----END EC PRIVATE KEY-----
`
