package sso

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

// TestCLITokenFileRoundTrips: a token file as the AWS CLI writes it
// (testdata, made with the CLI's own json.dumps and time format) reads
// field by field and is written back byte for byte.
func TestCLITokenFileRoundTrips(t *testing.T) {
	b, err := os.ReadFile("testdata/cli-sso-session-token.json")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseToken(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Token{StartURL: startURL, Region: region, AccessToken: "aoa-cli-access-token", ExpiresAt: time.Date(2000, 1, 1, 1, 0, 0, 0, time.UTC),
		ClientID: "cli-client-id", ClientSecret: "cli-client-secret", RegistrationExpiresAt: time.Date(2000, 3, 31, 0, 0, 0, 0, time.UTC),
		RefreshToken: "aor-cli-refresh-token"}
	if fmt.Sprint(tok.extra) != "map[]" || tok.StartURL != want.StartURL || tok.Region != want.Region || tok.AccessToken != want.AccessToken ||
		!tok.ExpiresAt.Equal(want.ExpiresAt) || tok.ClientID != want.ClientID || tok.ClientSecret != want.ClientSecret ||
		!tok.RegistrationExpiresAt.Equal(want.RegistrationExpiresAt) || tok.RefreshToken != want.RefreshToken {
		t.Errorf("parsed %#v: fields differ from the file", tok)
	}
	if got := tok.encode(); !bytes.Equal(got, b) {
		t.Errorf("encoded\n%s\nwant the CLI's\n%s", got, b)
	}
	reg, err := os.ReadFile("testdata/cli-registration.json")
	if err != nil {
		t.Fatal(err)
	}
	r, ok := parseRegistration(reg)
	if !ok || !bytes.Equal(r.encode(), reg) {
		t.Errorf("registration %v: encoded\n%s\nwant the CLI's\n%s", ok, r.encode(), reg)
	}
}

// TestTokenKeepsWhatOthersWrote: fields the file has beyond the CLI's (an
// SDK or another tool's) are written back as they were.
func TestTokenKeepsWhatOthersWrote(t *testing.T) {
	in := `{"accessToken":"a","expiresAt":"2030-01-01T00:00:00Z","custom":{"nested":[1,2]},"zz":null}`
	tok, err := ParseToken([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	tok.AccessToken = "b"
	out := string(tok.encode())
	if want := `{"accessToken": "b", "expiresAt": "2030-01-01T00:00:00Z", "custom": {"nested":[1,2]}, "zz": null}`; out != want {
		t.Errorf("encoded %s, want %s", out, want)
	}
}

func TestTimeFormats(t *testing.T) {
	want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, v := range []string{"2030-01-02T03:04:05Z", "2030-01-02T03:04:05.000Z", "2030-01-02T04:04:05+01:00", "2030-01-02T03:04:05UTC"} {
		tok, err := ParseToken([]byte(`{"accessToken":"a","expiresAt":"` + v + `"}`))
		if err != nil || !tok.ExpiresAt.Equal(want) {
			t.Errorf("%s: %v, %v; want %v", v, tok.ExpiresAt, err, want)
		}
	}
	if got := formatTime(time.Date(2030, 1, 2, 4, 4, 5, 999, time.FixedZone("x", 3600))); got != "2030-01-02T03:04:05Z" {
		t.Errorf("formatTime = %s, want UTC with Z", got)
	}
}

// TestParseTokenRefuses: what is wrong is said by the field's name, never
// by its value (the file holds secrets).
func TestParseTokenRefuses(t *testing.T) {
	const secret = "SECRETVALUE123"
	for _, tt := range []struct{ in, want string }{
		{``, "not a JSON object"},
		{`[1]`, "not a JSON object"},
		{`{"accessToken": "` + secret, "not a JSON object"},
		{`null`, "not a JSON object"},
		{`{"expiresAt":"2030-01-01T00:00:00Z"}`, "no accessToken"},
		{`{"accessToken":"` + secret + `"}`, "no expiresAt"},
		{`{"accessToken":7,"expiresAt":"2030-01-01T00:00:00Z"}`, "accessToken is not a string"},
		{`{"accessToken":"a","expiresAt":"` + secret + `"}`, "expiresAt is not a time"},
		{`{"accessToken":"a","expiresAt":"2030-01-01T00:00:00Z","registrationExpiresAt":"` + secret + `"}`, "registrationExpiresAt is not a time"},
		{`{"accessToken":"a","expiresAt":"2030-01-01T00:00:00Z","refreshToken":["` + secret + `"]}`, "refreshToken is not a string"},
	} {
		_, err := ParseToken([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), secret) {
			t.Errorf("ParseToken(%.40q) = %v, want %q without the value", tt.in, err, tt.want)
		}
	}
}

// TestTokenNeverShowsSecrets: printing or logging a token shows its
// expiry, not its tokens or client secret.
func TestTokenNeverShowsSecrets(t *testing.T) {
	tok := Token{AccessToken: "ACCESS-SECRET", RefreshToken: "REFRESH-SECRET", ClientID: "id", ClientSecret: "CLIENT-SECRET", ExpiresAt: time.Unix(1e9, 0)}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "token", tok)
	for _, out := range []string{fmt.Sprint(tok), fmt.Sprintf("%+v", tok), fmt.Sprintf("%#v", tok), tok.String(), fmt.Sprint(&tok), logged.String()} {
		if strings.Contains(out, "SECRET") || !strings.Contains(out, "2001-09-09") {
			t.Errorf("shown as %q: a secret, or no expiry", out)
		}
	}
}

// refusals are every sentence ParseToken may refuse with: nothing of the
// input but a field's name.
var refusals = func() map[string]bool {
	m := map[string]bool{"it is not a JSON object": true, "it has no accessToken": true, "it has no expiresAt": true}
	for _, f := range []string{"startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret", "registrationExpiresAt", "refreshToken"} {
		m["its "+f+" is not a string"] = true
		m["its "+f+" is not a time (RFC 3339, such as 2030-01-02T15:04:05Z)"] = true
	}
	return m
}()

// FuzzParseToken: any bytes parse or are refused without a panic; what
// parses is written back to what parses the same; a refusal never echoes a
// value of the input.
func FuzzParseToken(f *testing.F) {
	if b, err := os.ReadFile("testdata/cli-sso-session-token.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"accessToken":"a","expiresAt":"2030-01-02T03:04:05.123+02:00","x":[{"y":1}]}`))
	f.Add([]byte(`{"accessToken":"a","expiresAt":"2030-01-02T03:04:05UTC","registrationExpiresAt":"nope"}`))
	f.Add([]byte(`{"accessToken":"\u00e9\ud83d\ude00","expiresAt":"2030-01-02T03:04:05Z","startUrl":"<&>"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseToken(b)
		if err != nil {
			if !refusals[err.Error()] {
				t.Fatalf("error %q is none of ParseToken's own sentences: it may echo the input", err)
			}
			return
		}
		again, err := ParseToken(tok.encode())
		if err != nil {
			t.Fatalf("re-reading what was written: %v\n%s", err, tok.encode())
		}
		sec := func(x time.Time) time.Time { return x.Truncate(time.Second) }
		if again.AccessToken != tok.AccessToken || again.RefreshToken != tok.RefreshToken || again.StartURL != tok.StartURL ||
			again.Region != tok.Region || again.ClientID != tok.ClientID || again.ClientSecret != tok.ClientSecret ||
			!sec(again.ExpiresAt).Equal(sec(tok.ExpiresAt)) || !sec(again.RegistrationExpiresAt).Equal(sec(tok.RegistrationExpiresAt)) ||
			len(again.extra) != len(tok.extra) {
			t.Fatalf("round trip changed the token:\n%s", tok.encode())
		}
	})
}
