package transport

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/clean"
)

// upstreamSettings is a grant's Upstream, checked and resolved for its
// host: what picks its pool, and what applies per request.
type upstreamSettings struct {
	key   poolKey
	proxy *url.URL       // nil: direct
	roots *x509.CertPool // nil: the system's
	// Per request.
	lowSpeedLimit int64
	lowSpeedTime  time.Duration
	userAgent     string
}

// poolKey is what changes a connection: where it goes, through which
// proxy, trusting which CAs.
type poolKey struct {
	addr  string // host:port dialled
	proxy string // the proxy URL, "" for none
	ca    [sha256.Size]byte
}

// settings checks g's Upstream and resolves it for g.Host.
func (t *Transport) settings(g Grant) (upstreamSettings, error) {
	u := g.Upstream
	repo := clean.Quote(g.Repository, 100)
	if u.NoVerify {
		return upstreamSettings{}, &SettingError{"http.sslVerify", fmt.Sprintf(
			"http.sslVerify is false for repository %s (or GIT_SSL_NO_VERIFY is set), and codecommitd sends signed requests only to a server it has verified; "+
				"remove the setting (git config --unset http.sslVerify, unset GIT_SSL_NO_VERIFY), and name the server's CA with http.sslCAInfo if it is not trusted", repo)}
	}
	if u.LowSpeedLimit < 0 || u.LowSpeedTime < 0 {
		return upstreamSettings{}, &SettingError{"http.lowSpeedLimit", fmt.Sprintf(
			"http.lowSpeedLimit (%d) and http.lowSpeedTime (%s) for repository %s must not be negative; fix them in your git config", u.LowSpeedLimit, u.LowSpeedTime, repo)}
	}
	if strings.ContainsFunc(u.UserAgent, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return upstreamSettings{}, &SettingError{"http.userAgent", fmt.Sprintf(
			"http.userAgent for repository %s holds a control character; fix it in your git config", repo)}
	}
	s := upstreamSettings{roots: t.cfg.RootCAs, lowSpeedLimit: u.LowSpeedLimit, lowSpeedTime: u.LowSpeedTime, userAgent: u.UserAgent}
	host := hostOnly(g.Host)
	s.key.addr = net.JoinHostPort(host, "443")
	if _, port, err := net.SplitHostPort(g.Host); err == nil {
		s.key.addr = net.JoinHostPort(host, port)
	}
	if u.Proxy != "" && !noProxy(u.NoProxy, host) {
		p, err := parseProxy(u.Proxy)
		if err != nil {
			return upstreamSettings{}, &SettingError{"http.proxy", fmt.Sprintf(
				"the proxy git would use for repository %s (http.proxy or HTTPS_PROXY), %s, %s; fix the setting", repo, clean.Quote(clean.RedactURL(u.Proxy), 100), err)}
		}
		s.proxy = p
		s.key.proxy = p.String()
	}
	if len(u.CAInfo) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(u.CAInfo) {
			return upstreamSettings{}, &SettingError{"http.sslCAInfo", fmt.Sprintf(
				"the CA file git would trust for repository %s (http.sslCAInfo or GIT_SSL_CAINFO) holds no PEM certificate; point the setting at a PEM file", repo)}
		}
		s.roots = pool
		s.key.ca = sha256.Sum256(u.CAInfo)
	}
	return s, nil
}

// hostOnly returns the host of host[:port], without brackets, in lower
// case and without a trailing dot.
func hostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	return strings.ToLower(h)
}

// parseProxy reads a proxy setting as curl does: without a scheme it is
// http://. The error says what is wrong, in a few words.
func parseProxy(v string) (*url.URL, error) {
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	p, err := url.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("is not a URL")
	}
	switch p.Scheme {
	case "http", "https", "socks5", "socks5h":
	case "socks4", "socks4a":
		return nil, fmt.Errorf("is a SOCKS4 proxy, which codecommitd cannot use (it speaks http, https and socks5)")
	default:
		return nil, fmt.Errorf("has the scheme %s, not http, https or socks5", clean.Quote(p.Scheme, 20))
	}
	if p.Hostname() == "" {
		return nil, fmt.Errorf("names no host")
	}
	return p, nil
}

// noProxy reports whether NO_PROXY list says host is reached without the
// proxy, as curl reads it: "*" matches every host; an entry matches the
// host itself and, with or without a leading dot, every name under it; an
// address matches itself, a prefix (10.0.0.0/8) every address in it. A
// port in an entry is ignored.
func noProxy(list, host string) bool {
	ip, ipErr := netip.ParseAddr(host)
	for _, e := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		e = strings.ToLower(e)
		if e == "*" {
			return true
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			if ipErr == nil && p.Contains(ip.Unmap()) {
				return true
			}
			continue
		}
		e = strings.TrimSuffix(strings.TrimPrefix(hostOnly(e), "."), ".")
		if e == "" {
			continue
		}
		if a, err := netip.ParseAddr(e); err == nil {
			if ipErr == nil && a.Unmap() == ip.Unmap() {
				return true
			}
			continue
		}
		if ipErr != nil && (host == e || strings.HasSuffix(host, "."+e)) {
			return true
		}
	}
	return false
}
