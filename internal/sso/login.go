package sso

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
)

// LoginOptions are a sign-in's choices, as `aws sso login` takes them.
type LoginOptions struct {
	// DeviceCode signs in with the device code grant (a code entered on
	// any device) rather than the authorization code grant with PKCE
	// (--use-device-code). Legacy profiles always use it, and so does a
	// machine where no browser can be opened (an SSH session).
	DeviceCode bool
	// NoBrowser prints the sign-in URL without opening a browser
	// (--no-browser).
	NoBrowser bool
	// Out receives what the person must do (the URL, the code); nil means
	// os.Stderr.
	Out io.Writer
	// Show, if set, is given what the person must do instead: nothing is
	// printed to Out and no browser is opened here, for a caller that
	// shows the sign-in elsewhere (the daemon hands it to the git process
	// that signs in, which opens the browser itself). The flow is then
	// the authorization code grant unless DeviceCode is set or the session
	// is a legacy profile's: the caller decides whether a browser opens
	// where the person is. Show is called once, before the wait begins.
	Show func(Prompt)
}

// Prompt is what a person must do to finish a sign-in: open AuthorizeURL
// in a browser on this machine (the authorization code grant), or open
// VerificationURL on any device and enter UserCode (the device code grant;
// VerificationURLComplete has the code filled in). It holds no secret:
// the code only works with the device code the flow keeps.
type Prompt struct {
	Session                                            Session
	AuthorizeURL                                       string
	VerificationURL, UserCode, VerificationURLComplete string
	// Expires is when the sign-in gives up waiting.
	Expires time.Time
}

// errLoginTimeout is the cause of a sign-in's context that ran out of time.
var errLoginTimeout = errors.New("the sign-in took too long")

// Login signs s in and writes its token file where the AWS CLI does, for
// the CLI, the SDKs and codecommitd to share. With the authorization code
// grant it listens on 127.0.0.1 (only) on a random port, opens the
// authorize page (or prints its URL) and accepts exactly one callback that
// carries its random state; with the device code grant it prints the
// verification URL and code and polls at the interval the service gives
// (five seconds more after each SlowDownException) until the code expires.
// Either way it gives up after Config.LoginTimeout. The client registration
// is the cached one while it lasts (shared with the CLI); one the service
// refuses is made anew, once.
func (c *Client) Login(ctx context.Context, s Session, o LoginOptions) (Token, error) {
	if err := s.check(); err != nil {
		return Token{}, err
	}
	if o.Out == nil {
		o.Out = os.Stderr
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.LoginTimeout, errLoginTimeout)
	defer cancel()
	pkce, open := chooseFlow(s, o, c.cfg.OpenURL != nil)
	deadline, _ := ctx.Deadline()
	var tok Token
	var err error
	for fresh := range 2 {
		var reg registration
		reg, err = c.registration(ctx, s, pkce, fresh == 1)
		if err != nil {
			return Token{}, err
		}
		if pkce {
			tok, err = c.loginPKCE(ctx, s, reg, o, open, deadline)
		} else {
			tok, err = c.loginDevice(ctx, s, reg, o, open, deadline)
		}
		if ReasonOf(err) != ReasonRegistrationExpired {
			break
		}
		c.log.InfoContext(ctx, "the SSO client registration was refused; registering again", "session", s.String())
	}
	if err != nil {
		return Token{}, err
	}
	if err := c.save(ctx, s, tok); err != nil {
		return Token{}, err
	}
	c.log.InfoContext(ctx, "signed in to IAM Identity Center", "session", s.String(), "token", tok)
	return tok, nil
}

// chooseFlow decides how s signs in: the authorization code grant with
// PKCE (pkce), unless the device code grant is asked for, s is a legacy
// profile's, or no browser can be opened here; and whether to open a
// browser (else the URL is only printed). A sign-in shown elsewhere
// (o.Show) opens nothing here, and its caller has said whether a browser
// opens where the person is.
func chooseFlow(s Session, o LoginOptions, canOpen bool) (pkce, open bool) {
	if o.Show != nil {
		return !s.Legacy() && !o.DeviceCode, false
	}
	pkce = !s.Legacy() && !o.DeviceCode && canOpen
	return pkce, canOpen && !o.NoBrowser
}

// newToken is the token file a sign-in writes, as the AWS CLI does
// (_create_token_attempt): the start URL, the region, the tokens, and the
// registration that issued them.
func (c *Client) newToken(s Session, reg registration, out *ssooidc.CreateTokenOutput) Token {
	return Token{
		StartURL: s.StartURL, Region: s.Region,
		AccessToken: aws.ToString(out.AccessToken), ExpiresAt: time.Now().Add(time.Duration(out.ExpiresIn) * time.Second),
		ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RegistrationExpiresAt: reg.ExpiresAt,
		RefreshToken: aws.ToString(out.RefreshToken),
	}
}

// loginEnded is the *Error of a sign-in whose context ended: out of time
// (what was not done within bound), or cancelled by the caller.
func loginEnded(ctx context.Context, s Session, what string, bound time.Duration) *Error {
	if errors.Is(context.Cause(ctx), errLoginTimeout) {
		return &Error{Reason: ReasonTimedOut, Session: s, Detail: fmt.Sprintf("%s within %s", what, bound), Err: ctx.Err()}
	}
	return &Error{Reason: ReasonCanceled, Session: s, Err: ctx.Err()}
}

// openFailed says why the browser did not open, without the opener's text.
func openFailed(err error) string {
	if errors.Is(err, exec.ErrNotFound) {
		return "its opener is not installed"
	}
	return "the opener failed"
}

// random returns n random bytes in base64url, without padding.
func random(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
