//go:build unix

package e2e

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/localbroker"
)

// startMoto runs moto_server, an independent implementation of STS, on a
// free loopback port and returns its URL once it says it is listening.
func startMoto(t *testing.T) string {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed (pip install 'moto[server]'); the STS conformance test needs it")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", port)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Running on http://127.0.0.1:"+port) {
				ready <- true
				break
			}
		}
		for sc.Scan() { // keep draining
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("moto_server exited before listening")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("moto_server did not start within 30s")
	}
	return "http://127.0.0.1:" + port
}

// TestConformanceWithMoto resolves profiles through the daemon's service
// against moto's STS: role chains with duration_seconds, web identity, and
// MFA through GetSessionToken.
func TestConformanceWithMoto(t *testing.T) {
	url := startMoto(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", url)
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".aws"), 0o700)
	token := filepath.Join(home, "token")
	os.WriteFile(token, []byte("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0."), 0o600)
	os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"), 0o600)
	os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(`[profile base]
region = us-east-1
[profile role]
role_arn = arn:aws:iam::123456789012:role/Dev
source_profile = base
duration_seconds = 1800
region = us-east-1
[profile chain]
role_arn = arn:aws:iam::123456789012:role/Second
source_profile = role
region = us-east-1
[profile web]
role_arn = arn:aws:iam::123456789012:role/Web
web_identity_token_file = `+token+`
region = us-east-1
[profile mfa]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/me
region = us-east-1
`), 0o600)

	svc, err := localbroker.New(localbroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := map[string]string{"HOME": home}
	sign := func(profile, code string) (*broker.SignedURL, error) {
		return svc.SignURL(ctx, &broker.SignRequest{Profile: profile, Repository: "repo", Env: env, MFACode: code})
	}
	for _, p := range []string{"role", "chain", "web"} {
		s, err := sign(p, "")
		if err != nil {
			t.Fatalf("%s against moto: %v", p, err)
		}
		if !strings.Contains(s.Username, "%") || len(s.Password) != 16+64 {
			t.Errorf("%s: username %q / password length %d look wrong", p, s.Username, len(s.Password))
		}
	}
	st, _ := svc.Status(ctx)
	for _, ps := range st.Profiles {
		left := time.Until(ps.Expires)
		want := time.Hour
		if ps.Profile == "role" {
			want = 30 * time.Minute // duration_seconds = 1800
		}
		if left < want-2*time.Minute || left > want+time.Minute {
			t.Errorf("%s: credentials last %v, want about %v", ps.Profile, left.Round(time.Second), want)
		}
	}

	_, err = sign("mfa", "")
	var be *broker.Error
	if !errors.Is(err, broker.ErrMFARequired) || !errors.As(err, &be) || be.MFASerial != "arn:aws:iam::123456789012:mfa/me" {
		t.Fatalf("mfa without a code: %v, want ErrMFARequired naming the device", err)
	}
	if _, err := sign("mfa", "123456"); err != nil {
		t.Fatalf("mfa with a code against moto: %v", err)
	}
	if _, err := sign("mfa", ""); err != nil {
		t.Fatalf("mfa again, from the session: %v", err)
	}
}
