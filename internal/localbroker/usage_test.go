package localbroker

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sso"
)

// TestStatusEnvironmentRedactsURLs: the environment status reports (what
// doctor shows) holds no proxy or endpoint password, whatever its shape,
// and leaves other values alone.
func TestStatusEnvironmentRedactsURLs(t *testing.T) {
	for k, v := range map[string]string{
		"HTTPS_PROXY":          "user:Sup3rS3cret@127.0.0.1:3128",
		"HTTP_PROXY":           "http://user:Sup3r#S3cret@proxy:3128",
		"https_proxy":          "http://user:Sup3r@S3cret@[::1]:3128",
		"ALL_PROXY":            "socks5://user:Sup3r%2FS3cret@proxy:1080",
		"AWS_ENDPOINT_URL_STS": "https://user:Sup3rS3cret@sts.example:8443",
		"HOME":                 "/home/alice@corp.example",
	} {
		t.Setenv(k, v)
	}
	b, _ := staticService(t)
	st, err := b.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"HTTPS_PROXY":          "[redacted]@127.0.0.1:3128",
		"HTTP_PROXY":           "http://[redacted]@proxy:3128",
		"https_proxy":          "http://[redacted]@[::1]:3128",
		"ALL_PROXY":            "socks5://[redacted]@proxy:1080",
		"AWS_ENDPOINT_URL_STS": "https://[redacted]@sts.example:8443",
		"HOME":                 "/home/alice@corp.example",
	} {
		if got := st.Environment[k]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for k, v := range st.Environment {
		if strings.Contains(v, "S3cret") || strings.Contains(v, "Sup3r") {
			t.Errorf("%s=%s shows the password", k, v)
		}
	}
}

// TestAProbeIsNoUse: doctor's request (Probe) is served as any other, but
// leaves the request count, the last use, the profiles used this week and
// the SSO sessions kept alive as they were; a request that is not a probe
// changes each.
func TestAProbeIsNoUse(t *testing.T) {
	t.Run("static keys", func(t *testing.T) {
		b, home := staticService(t)
		ctx := context.Background()
		req := func(probe bool) *broker.SignRequest {
			return &broker.SignRequest{Profile: "dev", Repository: "repo", Env: map[string]string{"HOME": home}, Probe: probe}
		}
		use := func(probe bool) (requests int64, lastUsed time.Time, recent []broker.RecentProfile) {
			t.Helper()
			if _, err := b.SignURL(ctx, req(probe)); err != nil {
				t.Fatalf("SignURL (probe %v): %v", probe, err)
			}
			st, err := b.Status(ctx)
			if err != nil || len(st.Profiles) != 1 {
				t.Fatalf("status: %v, %+v", err, st)
			}
			return st.Profiles[0].Requests, st.Profiles[0].LastUsed, st.RecentProfiles
		}
		if n, last, recent := use(true); n != 0 || !last.IsZero() || len(recent) != 0 {
			t.Errorf("after a probe: %d requests, last used %v, recent %v; want none of them", n, last, recent)
		}
		n, last, recent := use(false)
		if n != 1 || last.IsZero() || len(recent) != 1 || recent[0].Profile != "dev" {
			t.Fatalf("after a request: %d requests, last used %v, recent %v; want 1, a time, dev", n, last, recent)
		}
		if n2, last2, recent2 := use(true); n2 != n || !last2.Equal(last) || !slices.Equal(recent2, recent) {
			t.Errorf("a probe changed the use: %d requests, last used %v, recent %v; want %d, %v, %v", n2, last2, recent2, n, last, recent)
		}
	})
	t.Run("SSO session", func(t *testing.T) {
		home := ssoHome(t)
		synctest.Test(t, func(t *testing.T) {
			w := newSSOWorld(t, home)
			ctx := context.Background()
			if _, err := w.tokens.Login(ctx, corp, sso.LoginOptions{DeviceCode: true, Show: func(pr sso.Prompt) { go w.fake.ApproveDevice(pr.UserCode) }}); err != nil {
				t.Fatal(err)
			}
			sessions := func(probe bool) []broker.SSOSessionStatus {
				t.Helper()
				r := w.request(broker.PromptUnavailable)
				r.Probe = probe
				if _, err := w.b.SignURL(ctx, r); err != nil {
					t.Fatalf("SignURL (probe %v): %v", probe, err)
				}
				synctest.Wait()
				st, err := w.b.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return st.SSOSessions
			}
			if got := sessions(true); len(got) != 0 {
				t.Errorf("after a probe the daemon keeps %+v alive; want no session", got)
			}
			if got := sessions(false); len(got) != 1 || got[0].Name != "corp" {
				t.Errorf("after a request the daemon keeps %+v alive; want corp", got)
			}
		})
	})
}
