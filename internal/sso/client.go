package sso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/codecommitd/codecommitd/internal/browser"
)

// Defaults of Config.
const (
	// DefaultLoginTimeout bounds a sign-in, as the AWS CLI's: ten minutes
	// to finish it in the browser or on the device page.
	DefaultLoginTimeout = 10 * time.Minute
	// DefaultLockWait bounds the wait for another codecommitd process's
	// refresh of the same token file: longer than one refresh may take.
	DefaultLockWait = 30 * time.Second
	// DefaultClientName is the prefix of the client name codecommitd
	// registers, which the authorize page shows ("Allow codecommitd-corp
	// to access your data?").
	DefaultClientName = "codecommitd"
)

// RefreshTimeout bounds one CreateToken call of a refresh, within the lock.
const RefreshTimeout = 20 * time.Second

// Config configures a Client. The zero value, after CheckAndSetDefaults,
// uses the AWS CLI's cache folder, the real clock and the platform's
// browser.
type Config struct {
	// AWS is the base of every OIDC call: its HTTP client, retries, API
	// options and endpoint (AWS_ENDPOINT_URL_SSO_OIDC reaches the client
	// through a config from config.LoadDefaultConfig, or BaseEndpoint). Its
	// Region is replaced by each session's sso_region.
	AWS aws.Config
	// CacheDir holds the token files; "" means ~/.aws/sso/cache, the
	// folder of the AWS CLI and the SDKs.
	CacheDir string
	// Log receives what the client does (never a secret); nil discards.
	Log *slog.Logger
	// ClientName prefixes the name of the clients registered; "" means
	// DefaultClientName.
	ClientName string
	// OpenURL opens a sign-in page for the person at the keyboard; nil
	// means the platform's opener (xdg-open, open, rundll32), used only
	// where a browser can be opened (not over SSH without a display).
	// Where none can, sign-ins use the device code grant.
	OpenURL func(url string) error
	// LoginTimeout bounds a sign-in; 0 means DefaultLoginTimeout.
	LoginTimeout time.Duration
	// LockWait bounds the wait for the lock of a token file; 0 means
	// DefaultLockWait.
	LockWait time.Duration
}

// CheckAndSetDefaults fills in the defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.CacheDir == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return errors.New("cannot find the home folder, which holds the SSO cache (~/.aws/sso/cache): set HOME")
		}
		c.CacheDir = filepath.Join(home, ".aws", "sso", "cache")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	c.Log = c.Log.With("component", "sso")
	if c.ClientName == "" {
		c.ClientName = DefaultClientName
	}
	if c.OpenURL == nil && browser.Here(nil).CanOpen() {
		c.OpenURL = browser.Open
	}
	if c.LoginTimeout == 0 {
		c.LoginTimeout = DefaultLoginTimeout
	}
	if c.LockWait == 0 {
		c.LockWait = DefaultLockWait
	}
	return nil
}

// Client signs sessions in and keeps their token files: it reads them as
// the AWS CLI writes them, refreshes them under a lock, and writes them as
// the CLI does. It is safe for concurrent use.
type Client struct {
	cfg Config
	st  store
	log *slog.Logger

	mu      sync.Mutex
	clients map[string]*ssooidc.Client // by region
}

// New returns a Client for cfg, after CheckAndSetDefaults.
func New(cfg Config) (*Client, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	return &Client{
		cfg: cfg, log: cfg.Log,
		st:      store{dir: cfg.CacheDir, lockWait: cfg.LockWait},
		clients: map[string]*ssooidc.Client{},
	}, nil
}

// oidc returns the OIDC client of region.
func (c *Client) oidc(region string) *ssooidc.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[region]; ok {
		return cl
	}
	cl := ssooidc.NewFromConfig(c.cfg.AWS, func(o *ssooidc.Options) { o.Region = region })
	c.clients[region] = cl
	return cl
}

// TokenPath is the token file of s: <CacheDir>/<s.CacheKey()>.json.
func (c *Client) TokenPath(s Session) string {
	return filepath.Join(c.st.dir, s.CacheKey()+".json")
}

// Load returns the token file of s as it is, checked: it is there, it
// parses, and it is this session's (start URL and region). An expired
// token is returned too; the caller decides.
func (c *Client) Load(s Session) (Token, error) {
	if err := s.check(); err != nil {
		return Token{}, err
	}
	return c.load(s, c.TokenPath(s))
}

func (c *Client) load(s Session, path string) (Token, error) {
	t, found, err := c.st.readToken(path)
	switch {
	case err != nil:
		return Token{}, fileError(s, path, err)
	case !found:
		return Token{}, &Error{Reason: ReasonNoToken, Session: s, Path: path}
	}
	if what := mismatch(s, t); what != "" {
		return Token{}, &Error{Reason: ReasonMismatch, Session: s, Path: path, Detail: what}
	}
	return t, nil
}

// mismatch says how the token file t differs from session s, or "". Fields
// the file does not have (an SDK's writer keeps them, a hand-made file may
// not) are not a difference; a start URL's trailing slash is not either.
func mismatch(s Session, t Token) string {
	switch {
	case t.StartURL != "" && strings.TrimRight(t.StartURL, "/") != strings.TrimRight(s.StartURL, "/"):
		return fmt.Sprintf("its start URL is %s, the profile's sso_start_url is %s", t.StartURL, s.StartURL)
	case t.Region != "" && t.Region != s.Region:
		return fmt.Sprintf("its region is %s, the profile's sso_region is %s", t.Region, s.Region)
	}
	return ""
}

// fileError makes a store failure about path an *Error.
func fileError(s Session, path string, err error) error {
	var p *problem
	if !errors.As(err, &p) {
		return &Error{Reason: ReasonLocal, Session: s, Path: path, Detail: path + ": " + errnoText(err), Err: err}
	}
	if strings.HasPrefix(p.what, "it ") {
		return &Error{Reason: ReasonUnreadable, Session: s, Path: path, Detail: p.what, Err: err}
	}
	return &Error{Reason: ReasonLocal, Session: s, Path: path, Detail: p.what, Err: err}
}

// Refresh renews the token of s that the caller last saw (stale), and
// returns the token the file holds afterwards. Under the file's lock it
// reads the file again first: if it no longer holds stale, another process
// (codecommitd, or `aws sso login`, or an SDK) has refreshed or replaced
// it, and that token is returned without a call. Otherwise it redeems the
// refresh token (single-use) and writes the result, unless the file
// changed meanwhile (see commit). A refresh refused because another program
// used the refresh token first is no failure when that program's token is
// in the file by then.
func (c *Client) Refresh(ctx context.Context, s Session, stale Token) (Token, error) {
	t, _, err := c.refresh(ctx, s, stale)
	return t, err
}

// refresh is Refresh; redeemed reports that the token returned is the one
// this call redeemed (not another process's).
func (c *Client) refresh(ctx context.Context, s Session, stale Token) (_ Token, redeemed bool, _ error) {
	if err := s.check(); err != nil {
		return Token{}, false, err
	}
	path := c.TokenPath(s)
	unlock, err := c.st.lock(ctx, path)
	if err != nil {
		return Token{}, false, c.lockError(ctx, s, path, err)
	}
	defer unlock()
	cur, err := c.load(s, path)
	if err != nil {
		return Token{}, false, err
	}
	if !cur.same(stale) {
		return cur, false, nil
	}
	now := time.Now()
	switch {
	case !cur.CanRefresh():
		return Token{}, false, &Error{Reason: ReasonExpired, Session: s, Path: path, At: cur.ExpiresAt}
	case !cur.RegistrationExpiresAt.IsZero() && !now.Before(cur.RegistrationExpiresAt):
		return Token{}, false, &Error{Reason: ReasonRegistrationExpired, Session: s, Path: path, At: cur.RegistrationExpiresAt}
	}
	callCtx, cancel := context.WithTimeout(ctx, RefreshTimeout)
	defer cancel()
	out, err := c.oidc(s.Region).CreateToken(callCtx, &ssooidc.CreateTokenInput{
		ClientId: aws.String(cur.ClientID), ClientSecret: aws.String(cur.ClientSecret),
		GrantType: aws.String(grantRefreshToken), RefreshToken: aws.String(cur.RefreshToken),
	})
	if err != nil {
		if now, rerr := c.load(s, path); rerr == nil && !now.same(cur) {
			c.log.InfoContext(ctx, "another program refreshed the SSO token first", "session", s.String())
			return now, false, nil
		}
		return Token{}, false, oidcError(s, path, ctx, err)
	}
	next := cur
	next.AccessToken = aws.ToString(out.AccessToken)
	next.ExpiresAt = now.Add(time.Duration(out.ExpiresIn) * time.Second)
	if out.RefreshToken != nil { // else the old one stays valid (RFC 6749 section 6)
		next.RefreshToken = *out.RefreshToken
	}
	if next.StartURL == "" {
		next.StartURL, next.Region = s.StartURL, s.Region
	}
	return c.commit(ctx, s, path, cur, next)
}

// commit writes next over the token file, which held base when the caller
// read it, unless the file changed since: a token another program wrote
// meanwhile (one that takes no lock: the AWS CLI, an SDK) was written later,
// so it is the newer sign-in, and it is kept and returned; a file removed
// meanwhile (`aws sso logout`) stays removed. The check is made just before
// the rename, which leaves only that instant for such a writer.
func (c *Client) commit(ctx context.Context, s Session, path string, base, next Token) (_ Token, wrote bool, _ error) {
	cur, found, err := c.st.readToken(path)
	switch {
	case !found && err == nil:
		return Token{}, false, &Error{Reason: ReasonNoToken, Session: s, Path: path, Detail: "removed while codecommitd refreshed it: signed out"}
	case err == nil && !cur.same(base):
		if m := mismatch(s, cur); m != "" {
			return Token{}, false, &Error{Reason: ReasonMismatch, Session: s, Path: path, Detail: m}
		}
		c.log.InfoContext(ctx, "another program rewrote the SSO token file meanwhile; keeping its token", "session", s.String())
		return cur, false, nil
	}
	// The file still holds base, or has stayed unreadable through the
	// rereads: ours replaces it (its refresh token is the one that works).
	if err := c.st.write(path, next.encode()); err != nil {
		return Token{}, false, fileError(s, path, err)
	}
	c.log.InfoContext(ctx, "refreshed the SSO token", "session", s.String(), "token", next)
	return next, true, nil
}

// save writes a new sign-in's token, under the file's lock.
func (c *Client) save(ctx context.Context, s Session, t Token) error {
	path := c.TokenPath(s)
	unlock, err := c.st.lock(ctx, path)
	if err != nil {
		return c.lockError(ctx, s, path, err)
	}
	defer unlock()
	if err := c.st.write(path, t.encode()); err != nil {
		return fileError(s, path, err)
	}
	return nil
}

func (c *Client) lockError(ctx context.Context, s Session, path string, err error) error {
	if ctx.Err() != nil {
		return &Error{Reason: ReasonCanceled, Session: s, Path: path, Err: err}
	}
	return fileError(s, path, err)
}
