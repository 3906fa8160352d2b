package awsprofile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/codecommitd/codecommitd/internal/fakests"
)

// TestAChainAsksItsSourceAtEveryRetrieve: a chain is built once and
// retrieved from at every refresh, so each Retrieve must reach the source,
// whoever built the link: a web identity profile (the SDK's provider, which
// reads the token file on each call: a rotated token is used, the old one
// being revoked), a role on static keys (the SDK's, wrapped in its cache),
// a credential_process (ours: it runs once per Retrieve, not more).
func TestAChainAsksItsSourceAtEveryRetrieve(t *testing.T) {
	sts := fakests.New()
	defer sts.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	u := sts.AddUser("alice")
	role := sts.AddRole(fakests.Role{ARN: "Dev"})
	web := sts.AddRole(fakests.Role{ARN: "Web"})
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	runs := filepath.Join(dir, "runs")
	proc := filepath.Join(dir, "proc.sh")
	issued := sts.Issue("arn:aws:sts::"+fakests.Account+":assumed-role/Proc/p", time.Hour)
	os.WriteFile(proc, []byte(fmt.Sprintf("#!/bin/sh\necho run >> %s\necho '{\"Version\": 1, \"AccessKeyId\": %q, \"SecretAccessKey\": %q, \"SessionToken\": %q, \"Expiration\": %q}'\n",
		runs, issued.AccessKeyID, issued.SecretAccessKey, issued.SessionToken, issued.Expires.Format(time.RFC3339))), 0o755)
	home := writeFiles(t, "[profile base]\n[profile role]\nrole_arn = "+role+"\nsource_profile = base\nregion = us-east-1\n"+
		"[profile web]\nrole_arn = "+web+"\nweb_identity_token_file = "+tokenFile+"\nregion = us-east-1\n"+
		"[profile proc]\ncredential_process = "+proc+"\nregion = us-east-1\n",
		"[base]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n")
	r := newResolver(t)
	ctx := context.Background()
	const refreshes = 3
	for _, tc := range []struct {
		profile string
		before  func(i int) // before the i-th Retrieve
		asked   func() int
	}{
		{"web", func(i int) {
			token := fmt.Sprintf("token-%d", i)
			os.WriteFile(tokenFile, []byte(token), 0o600)
			sts.AddWebIdentityToken(token, "repo:org/app")
			if i > 0 {
				sts.RevokeWebIdentityToken(fmt.Sprintf("token-%d", i-1))
			}
		}, func() int { return sts.Calls("AssumeRoleWithWebIdentity") }},
		{"role", func(int) {}, func() int { return sts.Calls("AssumeRole") }},
		{"proc", func(int) {}, func() int { b, _ := os.ReadFile(runs); return strings.Count(string(b), "run") }},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			p, err := r.Resolve(ctx, tc.profile, map[string]string{"HOME": home})
			if err != nil {
				t.Fatal(err)
			}
			chain, err := r.Chain(ctx, p, "us-east-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			before := tc.asked()
			for i := range refreshes {
				tc.before(i)
				if _, err := chain.Retrieve(ctx); err != nil {
					t.Fatalf("retrieve %d: %v", i, err)
				}
			}
			if n := tc.asked() - before; n != refreshes {
				t.Errorf("the source was asked %d times for %d retrieves, want once each", n, refreshes)
			}
		})
	}
}

// TestAChainListsTheMFASessionsItNeeds: a role assumed from keys with an
// mfa_serial needs one MFA session, listed as data (its key, device,
// profile keys and source); the chain's MFA link retrieves through the
// function given, and without it the source is used as it is.
func TestAChainListsTheMFASessionsItNeeds(t *testing.T) {
	home := writeFiles(t, "[profile base]\n[profile prod]\nrole_arn = arn:aws:iam::1:role/Admin\nsource_profile = base\nregion = us-east-1\n"+
		"mfa_serial = arn:aws:iam::1:mfa/me\nmfa_process = echo 123456\n"+
		"[profile other]\nrole_arn = arn:aws:iam::1:role/Other\nsource_profile = base\nregion = us-east-1\nmfa_serial = arn:aws:iam::1:mfa/me\n"+
		"[profile plain]\nrole_arn = arn:aws:iam::1:role/Other\nsource_profile = base\nregion = us-east-1\n",
		"[base]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n")
	r := newResolver(t)
	ctx := context.Background()
	p, err := r.Resolve(ctx, "prod", map[string]string{"HOME": home})
	if err != nil {
		t.Fatal(err)
	}
	needCode := errors.New("needs a code")
	var asked []*MFASession
	chain, err := r.Chain(ctx, p, "us-east-1", func(_ context.Context, s *MFASession) (aws.Credentials, error) {
		asked = append(asked, s)
		return aws.Credentials{}, needCode
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(chain.MFA) != 1 {
		t.Fatalf("%d MFA sessions, want 1", len(chain.MFA))
	}
	s := chain.MFA[0]
	if s.Serial != "arn:aws:iam::1:mfa/me" || !strings.HasPrefix(s.Key, "mfa:") || !strings.HasSuffix(s.Key, ":"+s.Serial) ||
		s.Ext.MFAProcess != "echo 123456" || s.Source == nil || s.STS == nil {
		t.Errorf("session = %+v", s)
	}
	if c, err := s.Source.Retrieve(ctx); err != nil || c.AccessKeyID != "AKIAEXAMPLE" {
		t.Errorf("the session's source gives %v, %v; want base's keys", c.AccessKeyID, err)
	}
	if _, err := chain.Retrieve(ctx); !errors.Is(err, needCode) || len(asked) != 1 || asked[0] != s {
		t.Errorf("retrieve = %v after %d calls, want the MFA link to ask for session %s", err, len(asked), s.Key)
	}
	// Another role on the same source and device shares the session; a
	// role without mfa_serial needs none.
	for name, want := range map[string][]string{"other": {s.Key}, "plain": nil} {
		q, err := r.Resolve(ctx, name, map[string]string{"HOME": home})
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.Chain(ctx, q, "us-east-1", func(context.Context, *MFASession) (aws.Credentials, error) { return aws.Credentials{}, needCode })
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, s := range c.MFA {
			keys = append(keys, s.Key)
		}
		if !slices.Equal(keys, want) {
			t.Errorf("%s: MFA sessions %v, want %v", name, keys, want)
		}
	}
}
