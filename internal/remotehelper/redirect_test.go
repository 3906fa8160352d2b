package remotehelper

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/codecommit"
)

func TestRedirected(t *testing.T) {
	var sawAuth bool
	var sawURI string
	answer := func(w http.ResponseWriter, status int, location string) {
		if location != "" {
			w.Header().Set("Location", location)
		}
		w.WriteHeader(status)
	}
	var status int
	var location string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, sawAuth = r.Header["Authorization"]
		sawURI = r.URL.RequestURI()
		answer(w, status, location)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	host := strings.TrimPrefix(srv.URL, "https://")
	remote := codecommit.Remote{Repository: "r"}
	trusted := func(k string) string {
		if k == "GIT_SSL_CAINFO" {
			return ca
		}
		return ""
	}
	for _, tc := range []struct {
		name     string
		status   int
		location string
		getenv   func(string) string
		want     string // "" for nothing to say
	}{
		{"another host, a query that could hold a secret", 301, "https://new.example:8443/v1/repos/r/info/refs?X-Amz-Signature=secret", trusted,
			host + " answered the request for repository r with a redirect (HTTP 301) to https://new.example:8443; git did not follow it, " +
				"since the signed password is only sent to the repository's own URL; if the repository moved there, set CODE_COMMIT_ENDPOINT to new.example:8443"},
		{"a downgrade to http", 308, "http://" + host + "/v1/repos/r/info/refs", trusted,
			host + " answered the request for repository r with a redirect (HTTP 308) to http://" + host + "; git did not follow it, " +
				"since the signed password is only sent to the repository's own URL"},
		{"another path on the same host", 302, "/v1/repos/renamed/info/refs?service=git-upload-pack", trusted,
			host + " answered the request for repository r with a redirect (HTTP 302) to another path on the same host; git did not follow it, " +
				"since the signed password is only sent to the repository's own URL; if the repository was renamed, use its new name in the remote's URL"},
		{"no Location", 307, "", trusted, "with a redirect (HTTP 307) to an address that is missing or not a URL"},
		{"not a redirect", 401, "", trusted, ""},
		{"304 is not a redirect", 304, "https://new.example/", trusted, ""},
		{"a server git would not trust either", 301, "https://new.example/", func(string) string { return "" }, ""},
		{"a CA file that is not there", 301, "https://new.example/", func(string) string { return "/nonexistent/ca.pem" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, location, sawAuth, sawURI = tc.status, tc.location, false, ""
			got := redirected(context.Background(), tc.getenv, remote, srv.URL+"/v1/repos/r")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) || strings.Contains(got, "secret") || strings.Contains(got, "/v1/repos") {
				t.Errorf("said\n%q\nwant\n%q", got, tc.want)
			}
			if sawAuth {
				t.Error("the probe sent an Authorization header")
			}
			if sawURI != "" && sawURI != "/v1/repos/r/info/refs?service=git-upload-pack" {
				t.Errorf("the probe asked for %s", sawURI)
			}
		})
	}
}

// TestRedirectedGivesUpWithItsContext: a server that accepts the
// connection and never answers costs no more than the caller allows.
func TestRedirectedGivesUpWithItsContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if got := redirected(ctx, func(string) string { return "" }, codecommit.Remote{Repository: "r"}, srv.URL+"/v1/repos/r"); got != "" {
		t.Errorf("said %q", got)
	}
	if d := time.Since(start); d > probeTimeout {
		t.Errorf("took %v, longer than its context and the probe's own bound", d)
	}
}

// TestSayIfRedirected: the helper asks and speaks only after git failed by
// itself, not after a signal or an expired password.
func TestSayIfRedirected(t *testing.T) {
	var asked int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked++
		http.Redirect(w, r, "https://new.example/", http.StatusMovedPermanently)
	}))
	defer srv.Close()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		code    int
		expires time.Time
		say     bool
	}{
		{"git failed", 128, now.Add(time.Minute), true},
		{"git failed, the password has no expiry", 1, time.Time{}, true},
		{"git was interrupted", 130, now.Add(time.Minute), false},
		{"the password had expired", 128, now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked = 0
			var stderr strings.Builder
			cfg := Config{Process: client.Process{Stderr: &stderr, Getenv: func(string) string { return "" }}, Now: func() time.Time { return now }}
			sayIfRedirected(context.Background(), cfg, tc.code, codecommit.Remote{Repository: "r"}, &broker.SignedURL{URL: srv.URL + "/v1/repos/r", Expires: tc.expires})
			said := strings.HasPrefix(stderr.String(), "git-remote-codecommit: ") && strings.Contains(stderr.String(), "(HTTP 301) to https://new.example;")
			if said != tc.say || (asked > 0) != tc.say {
				t.Errorf("asked the server %d times and said %q; want a line: %v", asked, stderr.String(), tc.say)
			}
		})
	}
}
