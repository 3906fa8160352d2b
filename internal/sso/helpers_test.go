package sso

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssso "github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/codecommitd/codecommitd/internal/fakests"
)

const (
	startURL = "https://corp.awsapps.com/start"
	region   = "us-east-1"
	role     = "Developer"
)

var corp = Session{Name: "corp", Profile: "dev", StartURL: startURL, Region: region, Scopes: []string{"sso:account:access"}}

// env is a fake IAM Identity Center, a cache folder and a Client of it.
// Tests on a synctest bubble's clock use the in-memory fake; those with a
// browser, the one on a loopback port.
type env struct {
	fake   *fakests.Server
	dir    string
	cfg    aws.Config
	client *Client
	// hook, when set, sees every request to the fake before it is served
	// (on the network fake too: it wraps the client's transport).
	mu   sync.Mutex
	hook func(*http.Request)
}

func newEnv(t *testing.T, inMemory bool) *env {
	t.Helper()
	e := &env{dir: filepath.Join(t.TempDir(), ".aws", "sso", "cache")}
	var base http.RoundTripper
	if inMemory {
		e.fake = fakests.NewInMemory()
		base = e.fake.Transport()
	} else {
		e.fake = fakests.New()
		t.Cleanup(e.fake.Close)
		base = http.DefaultTransport
	}
	e.fake.AssignSSO(fakests.DefaultSSOUser, fakests.Account, role)
	e.cfg = aws.Config{Region: "eu-west-3", BaseEndpoint: aws.String(e.fake.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			e.mu.Lock()
			hook := e.hook
			e.mu.Unlock()
			if hook != nil {
				hook(r)
			}
			return base.RoundTrip(r)
		})}}
	e.client = e.newClient(t, Config{})
	return e
}

// newClient is another Client of the same folder and fake, as another
// codecommitd process would have.
func (e *env) newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	cfg.AWS, cfg.CacheDir = e.cfg, e.dir
	if cfg.OpenURL == nil {
		cfg.OpenURL = func(string) error { return nil }
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) setHook(h func(*http.Request)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hook = h
}

// grant returns the grant type of a CreateToken request, without consuming
// its body.
func grant(r *http.Request) string {
	if r.URL.Path != "/token" || r.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	m := regexp.MustCompile(`"grantType":"([^"]*)"`).FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (e *env) oidc() *ssooidc.Client {
	return ssooidc.NewFromConfig(e.cfg, func(o *ssooidc.Options) { o.Region = region })
}
func (e *env) portal() *awssso.Client {
	return awssso.NewFromConfig(e.cfg, func(o *awssso.Options) { o.Region = region })
}

// approver is the Out of a device code sign-in: it reads the code the
// sign-in prints and, after delay, approves it as a person at the device
// page would.
type approver struct {
	t     *testing.T
	fake  *fakests.Server
	delay time.Duration
	deny  bool
	never bool // leaves the code unanswered

	mu   sync.Mutex
	text strings.Builder
	done bool
}

var userCode = regexp.MustCompile(`enter the code\n\n  ([A-Z]{4}-[A-Z]{4})\n`)

func (a *approver) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.text.Write(p)
	if m := userCode.FindStringSubmatch(a.text.String()); m != nil && !a.done && !a.never {
		a.done = true
		go func() {
			time.Sleep(a.delay)
			decide := a.fake.ApproveDevice
			if a.deny {
				decide = a.fake.DenyDevice
			}
			if err := decide(m[1]); err != nil {
				a.t.Errorf("answering the device code: %v", err)
			}
		}()
	}
	return len(p), nil
}

func (a *approver) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.text.String()
}

// deviceLogin signs s in with the device code grant, approved at once.
func (e *env) deviceLogin(t *testing.T, s Session) Token {
	t.Helper()
	tok, err := e.client.Login(context.Background(), s, LoginOptions{DeviceCode: true, Out: &approver{t: t, fake: e.fake}})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return tok
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// reasonIs fails t unless err is an *Error of reason whose message names the
// session and holds no SDK sentence or text the fake wrote.
func reasonIs(t *testing.T, err error, want Reason, s Session) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Reason != want {
		t.Fatalf("err = %v (%T, reason %v), want reason %v", err, err, ReasonOf(err), want)
	}
	msg := e.Error()
	if !strings.Contains(msg, s.String()) {
		t.Errorf("message %q does not name %s", msg, s)
	}
	for _, sdk := range []string{"operation error", "https response error", "StatusCode", "RequestID", "exceeded maximum", "api error", "Refresh token has already", "revoked: sign in", "Invalid client", "Client registration", "Authorization is still"} {
		if strings.Contains(msg, sdk) {
			t.Errorf("message %q holds SDK or service text %q", msg, sdk)
		}
	}
	return e
}
