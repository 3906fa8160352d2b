package sso

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/codecommitd/codecommitd/internal/fakests"
)

// TestRefreshRedeemsOnceAndWrites: a refresh redeems the refresh token
// once, writes the new tokens, and a caller that still holds the old token
// gets the new one without another call. The old refresh token is spent:
// the service refuses it.
func TestRefreshRedeemsOnceAndWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		old := e.deviceLogin(t, corp)
		time.Sleep(50 * time.Minute)
		ctx := context.Background()
		fresh, err := e.client.Refresh(ctx, corp, old)
		if err != nil {
			t.Fatal(err)
		}
		if fresh.same(old) || !fresh.ExpiresAt.Equal(time.Now().Add(time.Hour)) || fresh.ClientID != old.ClientID {
			t.Errorf("refreshed %v from %v: want new tokens for an hour from now, same client", fresh, old)
		}
		if onDisk, _ := e.client.Load(corp); !onDisk.same(fresh) {
			t.Error("the file does not hold the refreshed token")
		}
		again, err := e.client.Refresh(ctx, corp, old)
		if err != nil || !again.same(fresh) || e.fake.CreateTokenCalls(fakests.GrantRefreshToken) != 1 {
			t.Errorf("Refresh(old) = %v, %v after %d refresh calls; want the file's token and no second call", again, err, e.fake.CreateTokenCalls(fakests.GrantRefreshToken))
		}
		_, err = e.oidc().CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: &old.ClientID, ClientSecret: &old.ClientSecret,
			GrantType: aws.String(fakests.GrantRefreshToken), RefreshToken: &old.RefreshToken})
		if !strings.Contains(errString(err), "InvalidGrantException") {
			t.Errorf("the spent refresh token: %v, want InvalidGrantException", err)
		}
		if _, err := e.client.Refresh(ctx, corp, fresh); err != nil {
			t.Errorf("refreshing the new token: %v", err)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestTwoRefreshersRace: two codecommitd processes refresh the same token
// at once. The lock lets one redeem the refresh token; the other finds the
// new token in the file. One call, both succeed with the same token.
func TestTwoRefreshersRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		old := e.deviceLogin(t, corp)
		e.fake.SetLatency(2 * time.Second) // the first is mid-call when the second comes
		other := e.newClient(t, Config{})
		var wg sync.WaitGroup
		got := make([]Token, 2)
		errs := make([]error, 2)
		for i, c := range []*Client{e.client, other} {
			wg.Go(func() { got[i], errs[i] = c.Refresh(context.Background(), corp, old) })
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil || !got[0].same(got[1]) || got[0].same(old) {
			t.Errorf("refreshers got %v, %v and %v, %v; want the same new token", got[0], errs[0], got[1], errs[1])
		}
		if n := e.fake.CreateTokenCalls(fakests.GrantRefreshToken); n != 1 {
			t.Errorf("%d refresh calls, want 1", n)
		}
	})
}

// cliLogin is a token file as `aws sso login` would write it for corp,
// valid at the fake, written in place as the CLI writes (truncate, write).
func cliLogin(t *testing.T, e *env, path, access, refresh string) {
	t.Helper()
	e.fake.AddSSOClient("cli-client", "cli-secret", time.Now().Add(90*24*time.Hour))
	e.fake.AddSSOToken(access, fakests.DefaultSSOUser, time.Now().Add(time.Hour))
	e.fake.AddSSORefreshToken(refresh, fakests.DefaultSSOUser)
	tok := Token{StartURL: startURL, Region: region, AccessToken: access, ExpiresAt: time.Now().Add(time.Hour), ClientID: "cli-client",
		ClientSecret: "cli-secret", RegistrationExpiresAt: time.Now().Add(90 * 24 * time.Hour), RefreshToken: refresh}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Truncate(0)
	f.Write(tok.encode())
}

// TestOtherWritersMeanwhile: programs that take no lock (the AWS CLI, an
// SDK) write the file while codecommitd refreshes it. Their token is newer
// and is kept; a refresh token they used first is no failure; a logout
// stays a logout.
func TestOtherWritersMeanwhile(t *testing.T) {
	for _, tt := range []struct {
		name string
		// during runs while codecommitd's CreateToken is on its way.
		during func(t *testing.T, e *env, path string, old Token)
		// want checks what Refresh returned.
		want func(t *testing.T, got Token, err error)
	}{
		{"aws sso login rewrites the file before codecommitd writes", func(t *testing.T, e *env, path string, _ Token) {
			cliLogin(t, e, path, "cli-access", "cli-refresh")
		}, func(t *testing.T, got Token, err error) {
			if err != nil || got.AccessToken != "cli-access" {
				t.Errorf("Refresh = %v, %v; want the CLI's token", got, err)
			}
		}},
		{"the CLI refreshed with the same refresh token first", func(t *testing.T, e *env, path string, old Token) {
			out, err := e.oidc().CreateToken(context.Background(), &ssooidc.CreateTokenInput{ClientId: &old.ClientID, ClientSecret: &old.ClientSecret,
				GrantType: aws.String(fakests.GrantRefreshToken), RefreshToken: &old.RefreshToken})
			if err != nil {
				t.Fatal(err)
			}
			cli := old
			cli.AccessToken, cli.RefreshToken, cli.ExpiresAt = *out.AccessToken, *out.RefreshToken, time.Now().Add(time.Hour)
			writeFile(t, path, string(cli.encode()))
		}, func(t *testing.T, got Token, err error) {
			if err != nil || got.AccessToken == "" || !strings.HasPrefix(got.AccessToken, "access-") {
				t.Errorf("Refresh = %v, %v; want the CLI's refreshed token, no error", got, err)
			}
		}},
		{"aws sso logout removes the file", func(t *testing.T, _ *env, path string, _ Token) {
			os.Remove(path)
		}, func(t *testing.T, _ Token, err error) {
			reasonIs(t, err, ReasonNoToken, corp)
			if !strings.Contains(err.Error(), "removed while codecommitd refreshed it") {
				t.Errorf("message %q does not say the file was removed meanwhile", err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, true)
				old := e.deviceLogin(t, corp)
				path := e.client.TokenPath(corp)
				var mu sync.Mutex
				first := true
				e.setHook(func(r *http.Request) {
					mu.Lock()
					run := first && grant(r) == fakests.GrantRefreshToken
					first = first && !run
					mu.Unlock()
					if run { // not again for the CLI's own call in during
						tt.during(t, e, path, old)
					}
				})
				got, err := e.client.Refresh(context.Background(), corp, old)
				tt.want(t, got, err)
				if err == nil {
					if onDisk, lerr := e.client.Load(corp); lerr != nil || !onDisk.same(got) {
						t.Errorf("the file holds %v (%v), not the token returned", onDisk, lerr)
					}
				} else if _, serr := os.Stat(path); !errors.Is(serr, os.ErrNotExist) {
					t.Errorf("the file removed by the logout is back: %v", serr)
				}
			})
		})
	}
}

// TestRefreshRefusals: each way a refresh cannot work has its reason, a
// message that names the session and the fix, and no service text.
func TestRefreshRefusals(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, e *env, tok *Token)
		want  Reason
		calls int // refresh calls made
	}{
		{"revoked", func(t *testing.T, e *env, tok *Token) { e.fake.RevokeSSOSession(tok.AccessToken) }, ReasonRevoked, 1},
		{"session over", func(t *testing.T, e *env, tok *Token) { time.Sleep(9 * time.Hour) }, ReasonRevoked, 1},
		{"registration past in the file", func(t *testing.T, e *env, tok *Token) {
			tok.RegistrationExpiresAt = time.Now().Add(-time.Second)
			writeFile(t, e.client.TokenPath(corp), string(tok.encode()))
		}, ReasonRegistrationExpired, 0},
		{"registration refused by the service", func(t *testing.T, e *env, tok *Token) {
			tok.ClientSecret = "not-the-secret"
			writeFile(t, e.client.TokenPath(corp), string(tok.encode()))
		}, ReasonRegistrationExpired, 1},
		{"no refresh token", func(t *testing.T, e *env, tok *Token) {
			tok.RefreshToken = ""
			writeFile(t, e.client.TokenPath(corp), string(tok.encode()))
		}, ReasonExpired, 0},
		{"another start URL", func(t *testing.T, e *env, tok *Token) {
			tok.StartURL = "https://other.awsapps.com/start"
			writeFile(t, e.client.TokenPath(corp), string(tok.encode()))
		}, ReasonMismatch, 0},
		{"another region", func(t *testing.T, e *env, tok *Token) {
			tok.Region = "eu-west-1"
			writeFile(t, e.client.TokenPath(corp), string(tok.encode()))
		}, ReasonMismatch, 0},
		{"no file", func(t *testing.T, e *env, tok *Token) { os.Remove(e.client.TokenPath(corp)) }, ReasonNoToken, 0},
		{"unreadable", func(t *testing.T, e *env, tok *Token) { writeFile(t, e.client.TokenPath(corp), "{}") }, ReasonUnreadable, 0},
		{"AWS failing", func(t *testing.T, e *env, tok *Token) {
			e.fake.FailNext("CreateToken", fakests.Fault{Status: 500, Code: "InternalServerException", Message: "Refresh token has already been used"})
		}, ReasonTemporary, 1},
		{"the network failing", func(t *testing.T, e *env, tok *Token) {
			e.cfg.HTTPClient = &http.Client{Transport: roundTrip(func(*http.Request) (*http.Response, error) {
				return nil, &net_error{}
			})}
			e.client = e.newClient(t, Config{})
		}, ReasonTemporary, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, true)
				tok := e.deviceLogin(t, corp)
				tt.setup(t, e, &tok)
				_, err := e.client.Refresh(context.Background(), corp, tok)
				got := reasonIs(t, err, tt.want, corp)
				if n := e.fake.CreateTokenCalls(fakests.GrantRefreshToken); n != tt.calls {
					t.Errorf("%d refresh calls, want %d", n, tt.calls)
				}
				if got.Reason != ReasonTemporary && got.Reason != ReasonMismatch && !strings.Contains(err.Error(), "codecommitd login --sso-session corp") {
					t.Errorf("message %q lacks the fix", err)
				}
				t.Log(err)
			})
		})
	}
}

// net_error is a connection that failed, as net/http reports one.
type net_error struct{}

func (*net_error) Error() string   { return "dial tcp 192.0.2.1:443: connect: connection refused" }
func (*net_error) Timeout() bool   { return false }
func (*net_error) Temporary() bool { return false }
