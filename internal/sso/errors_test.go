package sso

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssso "github.com/aws/aws-sdk-go-v2/service/sso"

	"github.com/codecommitd/codecommitd/internal/fakests"
)

// TestClassifyGetRoleCredentials: the portal's refusals, as the fake
// answers them like the real portal, each get their reason: a role not
// assigned (ForbiddenException), a token no longer accepted
// (UnauthorizedException), and the same with a clock five minutes or more
// off, which is put down to the clock.
func TestClassifyGetRoleCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		tok := e.deviceLogin(t, corp)
		call := func(access, role string) error {
			_, err := e.portal().GetRoleCredentials(context.Background(), &awssso.GetRoleCredentialsInput{
				AccessToken: aws.String(access), AccountId: aws.String(fakests.Account), RoleName: aws.String(role)})
			return err
		}
		for _, tt := range []struct {
			name         string
			access, role string
			skew         time.Duration
			want         Reason
			says         string
		}{
			{"not assigned", tok.AccessToken, "Admin", 0, ReasonNotAssigned, "does not let profile dev (sso-session corp) use role Admin in account " + fakests.Account},
			{"token refused", "no-such-token", role, 0, ReasonExpired, "no longer accepts the SSO token"},
			{"token refused, clock behind", "no-such-token", role, 7 * time.Minute, ReasonClockSkew, "the clock is 7m0s behind AWS's"},
			{"token refused, clock ahead", "no-such-token", role, -6 * time.Minute, ReasonClockSkew, "the clock is 6m0s ahead of AWS's"},
			{"token refused, small skew", "no-such-token", role, 4 * time.Minute, ReasonExpired, "no longer accepts"},
		} {
			err := call(tt.access, tt.role)
			if err == nil {
				t.Fatalf("%s: the portal accepted", tt.name)
			}
			got := ClassifyGetRoleCredentials(corp, fakests.Account, tt.role, tt.skew, err)
			reasonIs(t, got, tt.want, corp)
			if !strings.Contains(got.Error(), tt.says) || strings.Contains(got.Error(), "No access") || !errors.Is(got, err) {
				t.Errorf("%s: %q, want %q, no portal text, the cause kept", tt.name, got, tt.says)
			}
		}
		e.fake.FailNext("GetRoleCredentials", fakests.Fault{Status: 429, Code: "TooManyRequestsException", Message: "slow"})
		reasonIs(t, ClassifyGetRoleCredentials(corp, fakests.Account, role, 0, call(tok.AccessToken, role)), ReasonTemporary, corp)
	})
}

// TestEveryMessageNamesTheSessionAndTheFix: whatever the reason, the
// message names the session; those a sign-in mends say how to sign in.
func TestEveryMessageNamesTheSessionAndTheFix(t *testing.T) {
	signIn := map[Reason]bool{ReasonNoToken: true, ReasonUnreadable: true, ReasonExpired: true, ReasonRevoked: true,
		ReasonRegistrationExpired: true, ReasonMismatch: true, ReasonDenied: true, ReasonTimedOut: true, ReasonRefused: true}
	for r := ReasonNoToken; r <= ReasonLocal; r++ {
		for _, s := range []Session{corp, {Profile: "old", StartURL: startURL, Region: region}} {
			e := &Error{Reason: r, Session: s, Path: "/p.json", Detail: "detail", At: time.Unix(0, 0), Account: "1", Role: "R", Skew: time.Hour}
			msg := e.Error()
			if !strings.Contains(msg, s.String()) || strings.Contains(msg, "\n") || r.String() == "unknown" {
				t.Errorf("%v: %q does not name %s on one line", r, msg, s)
			}
			if signIn[r] && !strings.Contains(msg, s.LoginCommand()) {
				t.Errorf("%v: %q lacks %q", r, msg, s.LoginCommand())
			}
		}
	}
}
