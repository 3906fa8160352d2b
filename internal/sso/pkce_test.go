package sso

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testbrowser"
)

// get asks the sign-in's loopback listener for raw and returns the status
// and the page's text.
func get(t *testing.T, raw string) (int, string) {
	t.Helper()
	resp, err := http.Get(raw)
	if err != nil {
		t.Errorf("GET %s: %v", raw, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// callbackURL is the redirect URI of an authorize URL, with query q.
func callbackURL(t *testing.T, authorize string, q url.Values) string {
	u, err := url.Parse(authorize)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("redirect_uri") + "?" + q.Encode()
}

// pkceRun is a sign-in by the authorization code grant against the fake on
// a loopback port, whose OpenURL hook is open (it gets the authorize URL).
func pkceRun(t *testing.T, e *env, open func(authorize string) error) (Token, error) {
	t.Helper()
	c := e.newClient(t, Config{OpenURL: open, LoginTimeout: time.Minute})
	return c.Login(context.Background(), corp, LoginOptions{Out: io.Discard})
}

// TestPKCELoginInChromium: a person signs in at the authorize page in
// chromium and clicks Allow. The authorize URL is the CLI's (S256, the
// listener's 127.0.0.1 port, a state, the scopes); answers with another
// state, or none, are refused with a 400 page and the sign-in goes on; the
// right one is accepted and redeemed once with the verifier, and the
// browser shows that it worked; a second answer after it gets a 400 page.
// The listener answers on 127.0.0.1 only.
func TestPKCELoginInChromium(t *testing.T) {
	b := testbrowser.New(t)
	e := newEnv(t, false)
	var mu sync.Mutex
	var authorize string
	var second int
	clicked := make(chan struct{})
	e.setHook(func(r *http.Request) {
		if grant(r) != fakests.GrantAuthorizationCode {
			return
		}
		// The code is on its way to be redeemed: the answer was accepted.
		// Another one, even with the right state, is refused.
		mu.Lock()
		a := authorize
		mu.Unlock()
		state, _ := url.Parse(a)
		second, _ = get(t, callbackURL(t, a, url.Values{"code": {"other"}, "state": {state.Query().Get("state")}}))
	})
	tok, err := pkceRun(t, e, func(u string) error {
		mu.Lock()
		authorize = u
		mu.Unlock()
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		q := parsed.Query()
		redirect, _ := url.Parse(q.Get("redirect_uri"))
		if parsed.Path != "/authorize" || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
			len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 32 || q.Get("scopes") != "sso:account:access" ||
			redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || redirect.Path != "/oauth/callback" || !strings.Contains(u, "scopes=sso%3Aaccount%3Aaccess&") {
			t.Errorf("authorize URL %s is not the CLI's", u)
		}
		for _, forged := range []url.Values{
			{"code": {"forged"}, "state": {"guess"}},
			{"error": {"access_denied"}, "state": {"guess"}},
			{"code": {"forged"}},
		} {
			if status, page := get(t, callbackURL(t, u, forged)); status != 400 || !strings.Contains(page, "Not the sign-in under way") {
				t.Errorf("answer %v: %d %q, want 400 and refused", forged, status, page)
			}
		}
		if status, _ := get(t, "http://"+redirect.Host+"/favicon.ico"); status != 404 {
			t.Errorf("another path: %d, want 404", status)
		}
		if ip := otherAddress(); ip != "" {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, redirect.Port()), time.Second); err == nil {
				c.Close()
				t.Errorf("the listener answers on %s, not only on 127.0.0.1", ip)
			}
		}
		go func() {
			defer close(clicked)
			if p, err := b.Open(u); err != nil || p.Status != 200 {
				t.Errorf("authorize page: %+v, %v", p, err)
				return
			}
			p, err := b.Click("Allow")
			text, _ := b.Text()
			if err != nil || p.Status != 200 || !strings.Contains(text, "codecommitd signed profile dev (sso-session corp) in") || !strings.Contains(text, "return to the terminal") {
				t.Errorf("after Allow: %+v, %v, the page says %q", p, err, text)
			}
		}()
		return nil
	})
	<-clicked
	if err != nil {
		t.Fatal(err)
	}
	if second != 400 {
		t.Errorf("a second answer got %d, want 400", second)
	}
	if n := e.fake.CreateTokenCalls(fakests.GrantAuthorizationCode); n != 1 || !tok.CanRefresh() {
		t.Errorf("%d code redemptions, token %v; want one, refreshable", n, tok)
	}
	reg := readFile(t, filepath.Join(e.dir, corp.registrationKey()+".json"))
	if !strings.Contains(reg, `"grantTypes": ["authorization_code", "refresh_token"]`) {
		t.Errorf("registration cache %s: want the CLI's authorization code registration", reg)
	}
}

// otherAddress is an address of this machine that is not loopback, or "".
func otherAddress() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// TestPKCEDeniedInChromium: Deny at the authorize page ends the sign-in
// with ReasonDenied, and the browser is told so.
func TestPKCEDeniedInChromium(t *testing.T) {
	b := testbrowser.New(t)
	e := newEnv(t, false)
	clicked := make(chan struct{})
	_, err := pkceRun(t, e, func(u string) error {
		go func() {
			defer close(clicked)
			if _, err := b.Open(u); err != nil {
				t.Error(err)
				return
			}
			p, err := b.Click("Deny")
			text, _ := b.Text()
			if err != nil || p.Status != 200 || !strings.Contains(text, "The sign-in was denied") {
				t.Errorf("after Deny: %+v, %v, the page says %q", p, err, text)
			}
		}()
		return nil
	})
	<-clicked
	reasonIs(t, err, ReasonDenied, corp)
}

// TestPKCENotAnswered: a sign-in nobody completes ends after LoginTimeout,
// saying so; an opener that fails leaves the URL printed, with why.
func TestPKCENotAnswered(t *testing.T) {
	e := newEnv(t, false)
	c := e.newClient(t, Config{OpenURL: func(string) error { return exec.ErrNotFound }, LoginTimeout: 300 * time.Millisecond})
	var out strings.Builder
	start := time.Now()
	_, err := c.Login(context.Background(), corp, LoginOptions{Out: &out})
	reasonIs(t, err, ReasonTimedOut, corp)
	if !strings.Contains(err.Error(), "the sign-in page was not answered within 300ms") || time.Since(start) > 10*time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
	if !strings.Contains(out.String(), "Could not open a browser (its opener is not installed).\nopen this URL in a browser on this computer:\n\n  "+e.fake.URL+"/authorize?") {
		t.Errorf("printed %q, want the URL with why no browser opened", out.String())
	}
}
