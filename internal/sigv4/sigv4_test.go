package sigv4

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The published vector for CodeCommit's git signature.
var vectorCreds = Credentials{
	AccessKeyID:     "ANOTREAL",
	SecretAccessKey: "notrealrnrELgWzOk3IfjzDKtFBhDby",
	SessionToken:    "notarealsessiontoken",
}

func TestSignVectors(t *testing.T) {
	epoch := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		host, sig string
	}{
		{"git-codecommit.us-east-1.amazonaws.com", "f840ae3ff903ddb92c450d0e3567fe97ef4aa98bd6636905df48c3beee97d21d"},
		{"localhost:8443", "a305b3ce69941e8f0773a2257d9059df41dfc3a4d2563a42948e84ec4825ec06"},
	}
	var s Signer
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			// Twice: the second call takes the cached signing key.
			for range 2 {
				got := s.Sign(vectorCreds, "us-east-1", tt.host, "/v1/repos/my-repo", epoch)
				if want := "19700101T000000Z" + tt.sig; got.Password != want {
					t.Errorf("password = %s, want %s", got.Password, want)
				}
				if want := "ANOTREAL%notarealsessiontoken"; got.Username != want {
					t.Errorf("username = %s, want %s", got.Username, want)
				}
			}
		})
	}
}

func TestSignKeyCacheSeparatesDaysAndRegions(t *testing.T) {
	var s Signer
	day1 := time.Date(2026, 11, 26, 23, 59, 59, 0, time.UTC)
	day2 := day1.Add(2 * time.Second)
	a := s.Sign(vectorCreds, "us-east-1", "h", "/v1/repos/r", day1)
	b := s.Sign(vectorCreds, "us-east-1", "h", "/v1/repos/r", day2)
	c := s.Sign(vectorCreds, "eu-west-1", "h", "/v1/repos/r", day2)
	var fresh Signer
	for _, tt := range []struct {
		got    Signed
		region string
		at     time.Time
	}{{a, "us-east-1", day1}, {b, "us-east-1", day2}, {c, "eu-west-1", day2}} {
		want := fresh.Sign(vectorCreds, tt.region, "h", "/v1/repos/r", tt.at)
		fresh = Signer{}
		if tt.got.Password != want.Password {
			t.Errorf("%s %v: cached signer gave %s, fresh signer %s", tt.region, tt.at, tt.got.Password, want.Password)
		}
	}
	if a.Password[16:] == b.Password[16:] || b.Password[16:] == c.Password[16:] {
		t.Error("signatures for different days or regions are equal")
	}
}

func TestSignExpiry(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	var s Signer
	long := vectorCreds
	long.Expires = now.Add(time.Hour)
	if got, want := s.Sign(long, "us-east-1", "h", "/p", now).Expires, now.Truncate(time.Second).Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("expires = %v, want %v", got, want)
	}
	short := vectorCreds
	short.Expires = now.Add(7 * time.Minute)
	if got := s.Sign(short, "us-east-1", "h", "/p", now).Expires; !got.Equal(short.Expires) {
		t.Errorf("expires = %v, want the credentials' %v", got, short.Expires)
	}
	if got := s.Sign(Credentials{AccessKeyID: "A", SecretAccessKey: "S"}, "us-east-1", "h", "/p", now); got.Username != "A" {
		t.Errorf("username without a session token = %q, want %q", got.Username, "A")
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"AKIDEXAMPLE":               "AKIDEXAMPLE",
		"ASIA%tok/en+with=stuff":    "ASIA%25tok%2Fen%2Bwith%3Dstuff",
		"a b:c@d?e#f&g;h,i$j!k'l*m": "a%20b%3Ac%40d%3Fe%23f%26g%3Bh%2Ci%24j%21k%27l%2Am",
		"-._~":                      "-._~",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	s := Signed{Username: "ANOTREAL%tok/en", Password: "19700101T000000Zabc"}
	want := "https://ANOTREAL%25tok%2Fen:19700101T000000Zabc@h:1/v1/repos/r"
	if got := s.URL("h:1", "/v1/repos/r"); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if got := s.InURL("https://h:1/v1/repos/r"); got != want {
		t.Errorf("InURL = %q, want %q", got, want)
	}
}

func TestSecretsRedacted(t *testing.T) {
	c := vectorCreds
	c.Source = "test"
	signed := (&Signer{}).Sign(c, "us-east-1", "h", "/p", time.Unix(0, 0))
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "creds", c, "signed", signed)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s %v %#v", c, c, c, c, signed, signed)
	for _, secret := range []string{c.SecretAccessKey, c.SessionToken, c.AccessKeyID, signed.Password} {
		if strings.Contains(out, secret) {
			t.Errorf("output leaks %q:\n%s", secret, out)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	var s Signer
	now := time.Now()
	for b.Loop() {
		s.Sign(vectorCreds, "us-east-1", "git-codecommit.us-east-1.amazonaws.com", "/v1/repos/my-repo", now)
	}
}
