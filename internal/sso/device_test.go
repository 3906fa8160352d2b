package sso

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
)

// polls records when each device code poll (CreateToken with the device
// code grant) reached the fake.
type polls struct {
	mu    sync.Mutex
	start time.Time
	at    []time.Duration
}

func (p *polls) hook(r *http.Request) {
	if grant(r) == fakests.GrantDeviceCode {
		p.mu.Lock()
		p.at = append(p.at, time.Since(p.start))
		p.mu.Unlock()
	}
}

func (p *polls) times() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.at)
}

// TestDeviceLogin: the device code sign-in prints the verification URL and
// the code, polls every interval until the code is approved (6.5 s on; the 7th poll gets the token), and
// writes the token file as the CLI does; the client registration is cached
// under the CLI's key, in the CLI's shape, and used again by the next
// sign-in.
func TestDeviceLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		p := &polls{start: time.Now()}
		e.setHook(p.hook)
		// Approved between two polls: a poll and the approval at the same
		// instant of the bubble's clock would race.
		out := &approver{t: t, fake: e.fake, delay: 6500 * time.Millisecond}
		tok, err := e.client.Login(context.Background(), corp, LoginOptions{DeviceCode: true, Out: out})
		if err != nil {
			t.Fatal(err)
		}
		text := out.String()
		for _, want := range []string{"To sign in to IAM Identity Center for profile dev (sso-session corp), open\n\n  " + e.fake.URL + "/device\n",
			"(or open " + e.fake.URL + "/device?user_code="} {
			if !strings.Contains(text, want) {
				t.Errorf("the prompt %q lacks %q", text, want)
			}
		}
		if got, want := p.times(), []time.Duration{1 * time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second, 6 * time.Second, 7 * time.Second}; !slices.Equal(got, want) {
			t.Errorf("polled at %v, want every second until approved at 7s: %v", got, want)
		}
		onDisk, err := e.client.Load(corp)
		if err != nil || !onDisk.same(tok) || !tok.CanRefresh() || tok.StartURL != startURL || tok.Region != region ||
			!tok.ExpiresAt.Equal(time.Now().Add(time.Hour)) || !tok.RegistrationExpiresAt.Equal(time.Now().Add(-7*time.Second+90*24*time.Hour).Truncate(time.Second)) {
			t.Errorf("token %v (file %v, %v): want a refreshable hour's token with its registration's end", tok, onDisk, err)
		}
		reg := readFile(t, filepath.Join(e.dir, corp.registrationKey()+".json"))
		if !strings.HasPrefix(reg, `{"clientId": "`) || !strings.Contains(reg, `"scopes": ["sso:account:access"]`) || strings.Contains(reg, "grantTypes") {
			t.Errorf("registration cache %s: want the CLI's device registration (scopes, no grant types)", reg)
		}
		if _, err := e.client.Login(context.Background(), corp, LoginOptions{DeviceCode: true, Out: &approver{t: t, fake: e.fake}}); err != nil {
			t.Fatal(err)
		}
		if n := e.fake.Calls("RegisterClient"); n != 1 {
			t.Errorf("%d registrations, want 1: the cached one serves the second sign-in", n)
		}
	})
}

// TestLegacyLogin: a legacy profile signs in with the device code grant
// whatever is asked, with a registration without scopes, and its token
// (as the CLI's) has no refresh token.
func TestLegacyLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		legacy := Session{Profile: "old", StartURL: startURL, Region: region}
		tok, err := e.client.Login(context.Background(), legacy, LoginOptions{Out: &approver{t: t, fake: e.fake}})
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken != "" || !tok.ExpiresAt.Equal(time.Now().Add(8*time.Hour)) || e.fake.Calls("StartDeviceAuthorization") != 1 {
			t.Errorf("legacy token %v: want the device code grant, no refresh token, the session's 8 hours", tok)
		}
		if !strings.Contains(readFile(t, e.client.TokenPath(legacy)), `"startUrl": "`+startURL+`"`) {
			t.Error("no token file at the start URL's key")
		}
	})
}

// TestDeviceSlowDown: each SlowDownException adds five seconds to the
// interval.
func TestDeviceSlowDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		p := &polls{start: time.Now()}
		e.setHook(p.hook)
		for range 2 {
			e.fake.FailNext("CreateToken", fakests.Fault{Status: 400, Code: "SlowDownException", Message: "slow down"})
		}
		if _, err := e.client.Login(context.Background(), corp, LoginOptions{DeviceCode: true, Out: &approver{t: t, fake: e.fake}}); err != nil {
			t.Fatal(err)
		}
		if got, want := p.times(), []time.Duration{1 * time.Second, 7 * time.Second, 18 * time.Second}; !slices.Equal(got, want) {
			t.Errorf("polled at %v, want %v (1 s, then 6 s, then 11 s apart)", got, want)
		}
	})
}

// TestDeviceLoginEnds: denied, never answered (the code expires after its
// ten minutes), or not answered within LoginTimeout: each a reason of its
// own, and no token file.
func TestDeviceLoginEnds(t *testing.T) {
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		deny    bool
		delay   time.Duration // 0: never answered
		want    Reason
		after   time.Duration
	}{
		{"denied", 0, true, 2500 * time.Millisecond, ReasonDenied, 3 * time.Second},
		{"the code expires", 0, false, 0, ReasonTimedOut, 10 * time.Minute},
		{"login timeout", 2 * time.Minute, false, 0, ReasonTimedOut, 2 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, true)
				c := e.newClient(t, Config{LoginTimeout: tt.timeout})
				start := time.Now()
				_, err := c.Login(context.Background(), corp, LoginOptions{DeviceCode: true, Out: &approver{t: t, fake: e.fake, deny: tt.deny, delay: tt.delay, never: tt.delay == 0}})
				reasonIs(t, err, tt.want, corp)
				if took := time.Since(start); took < tt.after || took > tt.after+time.Second {
					t.Errorf("ended after %v, want %v", took, tt.after)
				}
				if _, err := os.Stat(c.TokenPath(corp)); !os.IsNotExist(err) {
					t.Errorf("a token file was written: %v", err)
				}
				t.Log(err)
			})
		})
	}
}

// TestRegistrationMadeAnew: a cached registration the service refuses, or
// one about to expire, or one for the other grant, is replaced by a new one.
func TestRegistrationMadeAnew(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cache func(e *env) registration
	}{
		{"refused", func(e *env) registration {
			return registration{ClientID: "gone", ClientSecret: "gone", ExpiresAt: time.Now().Add(24 * time.Hour), Scopes: []string{defaultScope}}
		}},
		{"expires within the margin", func(e *env) registration {
			e.fake.AddSSOClient("soon", "soon-secret", time.Now().Add(10*time.Minute))
			return registration{ClientID: "soon", ClientSecret: "soon-secret", ExpiresAt: time.Now().Add(10 * time.Minute)}
		}},
		{"for the authorization code grant", func(e *env) registration {
			e.fake.AddSSOClient("pkce", "pkce-secret", time.Now().Add(24*time.Hour))
			return registration{ClientID: "pkce", ClientSecret: "pkce-secret", ExpiresAt: time.Now().Add(24 * time.Hour), GrantTypes: []string{grantAuthorizationCode, grantRefreshToken}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, true)
				cached := tt.cache(e)
				writeFile(t, filepath.Join(e.dir, corp.registrationKey()+".json"), string(cached.encode()))
				tok, err := e.client.Login(context.Background(), corp, LoginOptions{DeviceCode: true, Out: &approver{t: t, fake: e.fake}})
				if err != nil {
					t.Fatal(err)
				}
				if tok.ClientID == cached.ClientID || e.fake.Calls("RegisterClient") != 1 {
					t.Errorf("signed in with client %s after %d registrations; want a new one", tok.ClientID, e.fake.Calls("RegisterClient"))
				}
			})
		})
	}
}
