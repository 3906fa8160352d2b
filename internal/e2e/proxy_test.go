//go:build unix

package e2e

import (
	"strings"
	"testing"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// TestProxyPasswordsNeverShow gives the daemon proxy settings with
// passwords in the shapes that used to show (issue #17, row 9: no scheme, a
// '#' or an '@' in the password) and a proxy that refuses connections: git's
// error names the proxy by its address, doctor shows the settings with the
// user and password redacted, and neither they, status nor the daemon's log
// holds any piece of a password.
func TestProxyPasswordsNeverShow(t *testing.T) {
	e, _ := roleEnv(t)
	proxy := testprobe.RefusingAddr(t)
	e.Extra = []string{
		// Not a loopback address, so Go sends the request through the proxy
		// (which refuses it before anything is resolved).
		"AWS_ENDPOINT_URL_STS=https://sts.us-east-1.amazonaws.com",
		"HTTPS_PROXY=user:Sup3rS3cret@" + proxy,
		"HTTP_PROXY=http://user:Sup3r#S3cret@" + proxy,
		"ALL_PROXY=socks5://user:Sup3r@S3cret@[::1]:1080",
		"no_proxy=localhost",
		"AWS_PROFILE=dev", // for doctor to check
	}
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	stderr := gitFails(t, e, "", "ls-remote", "codecommit://dev@repo")
	if want := "git-remote-codecommit: cannot reach AWS STS for profile dev: the proxy at " + proxy + " cannot be reached (connection refused); check the daemon's HTTPS_PROXY and NO_PROXY"; !strings.Contains(stderr, want) {
		t.Errorf("git's stderr lacks %q:\n%s", want, stderr)
	}
	doctor, doctorErr, _ := e.Run(ctx(t), "", "codecommitd", "doctor")
	for _, want := range []string{
		"HTTPS_PROXY=[redacted]@" + proxy, "HTTP_PROXY=http://[redacted]@" + proxy, "ALL_PROXY=socks5://[redacted]@[::1]:1080",
		"FAIL  profile dev: cannot reach AWS STS for profile dev: the proxy at " + proxy + " cannot be reached",
	} {
		if !strings.Contains(doctor, want) {
			t.Errorf("doctor's output lacks %q:\n%s", want, doctor)
		}
	}
	status, statusErr, _ := e.Run(ctx(t), "", "codecommitd", "status", "--json")
	for what, text := range map[string]string{
		"git's stderr": stderr, "doctor": doctor + doctorErr, "status": status + statusErr, "the daemon's log": e.DaemonLog(),
	} {
		for _, secret := range []string{"Sup3r", "S3cret"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows %q:\n%s", what, secret, text)
			}
		}
	}
}
