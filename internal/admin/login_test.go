package admin

import (
	"bytes"
	"errors"
	"testing"

	"github.com/codecommitd/codecommitd/internal/sso"
)

// TestLogoutSaysWhatItDid: logout's one line tells each outcome apart: no
// token file, the session ended at the portal, only the file removed
// because the portal could not be asked (and why, without its text), or
// because the token had expired; and names the profiles it forgot.
func TestLogoutSaysWhatItDid(t *testing.T) {
	s := sso.Session{Name: "corp", StartURL: "https://corp.awsapps.com/start", Region: "us-east-1"}
	const path = "/h/.aws/sso/cache/x.json"
	for _, tc := range []struct {
		name   string
		out    sso.SignedOut
		forgot []string
		want   string
	}{
		{"no token file", sso.SignedOut{Path: path}, nil,
			"sso-session corp was not signed in here (no token file " + path + ")\n"},
		{"ended at the portal", sso.SignedOut{Path: path, Removed: true, Ended: true}, []string{"dev", "dev2"},
			"signed out of IAM Identity Center for sso-session corp: the session is ended there and " + path +
				" is removed (the client registration is kept); forgot the credentials codecommitd had from it (profile dev, dev2)\n"},
		{"the portal did not answer", sso.SignedOut{Path: path, Removed: true, Err: errors.New("dial tcp: secret-ish library text")}, nil,
			"signed out of IAM Identity Center for sso-session corp here: " + path + " is removed, but the session could not be ended there (it did not answer), so it lasts until it ends by itself\n"},
		{"the portal refused", sso.SignedOut{Path: path, Removed: true, Err: &sso.Error{Reason: sso.ReasonRefused, Session: s, Code: "InternalServerException"}}, nil,
			"signed out of IAM Identity Center for sso-session corp here: " + path + " is removed, but the session could not be ended there (InternalServerException), so it lasts until it ends by itself\n"},
		{"token had expired", sso.SignedOut{Path: path, Removed: true}, nil,
			"signed out of IAM Identity Center for sso-session corp: " + path + " is removed (its token had expired; the client registration is kept)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			writeSignedOut(&out, s, tc.out, tc.forgot)
			if out.String() != tc.want {
				t.Errorf("got  %q\nwant %q", out.String(), tc.want)
			}
		})
	}
}
