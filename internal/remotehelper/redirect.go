package remotehelper

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/version"
)

// probeTimeout bounds the one request the helper makes itself, after git
// failed: connecting, TLS and the answer's headers.
const probeTimeout = 3 * time.Second

// sayIfRedirected tells the user, after git's https helper failed with
// code, when the server redirected the repository's URL, and where to
// (see redirected). Not when git was killed by a signal (Ctrl-C) or the
// password had expired (run said why).
func sayIfRedirected(ctx context.Context, cfg Config, code int, remote codecommit.Remote, s *broker.SignedURL) {
	if code > 128 || expired(cfg.Now(), s) {
		return
	}
	if line := redirected(ctx, cfg.Getenv, remote, s.URL); line != "" {
		fmt.Fprintln(cfg.Stderr, "git-remote-codecommit:", line)
	}
}

// redirected says where the server redirects the repository at repoURL,
// or returns "" when it does not: git was told not to follow redirects (see
// injectConfig), and only says "The requested URL returned error: 301",
// without the place. The helper asks once more itself, for info/refs as git
// first does, without credentials (only the place is wanted) and without
// following, within probeTimeout. It trusts what git trusts by default: the
// system's roots, or only the file in GIT_SSL_CAINFO when that is set (not
// http.sslCAInfo from a git config file: then the server cannot be verified
// and nothing is said); proxies as in HTTPS_PROXY and NO_PROXY. Of the
// Location it names the scheme and the host only, never a path or a query
// that could hold something secret.
func redirected(ctx context.Context, getenv func(string) string, remote codecommit.Remote, repoURL string) string {
	base, err := url.Parse(repoURL)
	if err != nil {
		return ""
	}
	status, loc := probe(ctx, getenv, base)
	if status == 0 {
		return ""
	}
	where, fix := "an address that is missing or not a URL", ""
	switch {
	case loc == nil:
	case strings.EqualFold(loc.Scheme, base.Scheme) && strings.EqualFold(loc.Host, base.Host):
		where, fix = "another path on the same host", "; if the repository was renamed, use its new name in the remote's URL"
	default:
		where = clean.Line(loc.Scheme+"://"+loc.Host, 200)
		if loc.Scheme == "https" { // never advise plain http
			fix = "; if the repository moved there, set CODE_COMMIT_ENDPOINT to " + clean.Line(loc.Host, 200)
		}
	}
	return fmt.Sprintf("%s answered the request for repository %s with a redirect (HTTP %d) to %s; git did not follow it, "+
		"since the signed password is only sent to the repository's own URL%s",
		base.Host, remote.Repository, status, where, fix)
}

// probe asks base's info/refs once, without credentials, and returns the
// status and Location of a redirect (a nil Location when it has none that
// parses), or 0 when the answer is not a redirect or does not come.
func probe(ctx context.Context, getenv func(string) string, base *url.URL) (int, *url.URL) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if file := getenv("GIT_SSL_CAINFO"); file != "" {
		pemBytes, err := os.ReadFile(file)
		if err != nil {
			return 0, nil
		}
		tlsConfig.RootCAs = x509.NewCertPool()
		if !tlsConfig.RootCAs.AppendCertsFromPEM(pemBytes) {
			return 0, nil
		}
	}
	transport := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsConfig, DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.JoinPath("info", "refs").String()+"?service=git-upload-pack", nil)
	if err != nil {
		return 0, nil
	}
	req.Header.Set("User-Agent", "git-remote-codecommit/"+version.Version)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		loc, err := resp.Location()
		if err != nil {
			loc = nil
		}
		return resp.StatusCode, loc
	}
	return 0, nil
}
