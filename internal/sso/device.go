package sso

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
)

// The device code grant's polling (RFC 8628 3.5, as botocore
// SSOTokenFetcher): at the interval the service gives (five seconds when it
// gives none), five seconds more after each SlowDownException.
const (
	defaultInterval = 5 * time.Second
	slowDownStep    = 5 * time.Second
)

// loginDevice signs s in with the device code grant: it prints the
// verification URL and the code (and opens the URL with the code filled in
// when open), then polls CreateToken until the person approves, denies, or
// the code expires.
func (c *Client) loginDevice(ctx context.Context, s Session, reg registration, o LoginOptions, open bool, deadline time.Time) (Token, error) {
	oidc := c.oidc(s.Region)
	auth, err := oidc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret), StartUrl: aws.String(s.StartURL),
	})
	if err != nil {
		return Token{}, oidcError(s, "", ctx, err)
	}
	bound := c.cfg.LoginTimeout
	if d := time.Duration(auth.ExpiresIn) * time.Second; d > 0 && d < bound {
		bound, deadline = d, time.Now().Add(d)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, errLoginTimeout)
		defer cancel()
	}
	p := Prompt{Session: s, VerificationURL: aws.ToString(auth.VerificationUri), UserCode: aws.ToString(auth.UserCode),
		VerificationURLComplete: aws.ToString(auth.VerificationUriComplete), Expires: deadline}
	if o.Show != nil {
		o.Show(p)
	} else {
		c.printDevice(o.Out, p, open)
	}
	interval := time.Duration(auth.Interval) * time.Second
	if interval <= 0 {
		interval = defaultInterval
	}
	for {
		select {
		case <-ctx.Done():
			return Token{}, loginEnded(ctx, s, "the code was not entered", bound)
		case <-time.After(interval):
		}
		tok, err := oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
			ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret),
			GrantType: aws.String(grantDeviceCode), DeviceCode: auth.DeviceCode,
		})
		var pending *types.AuthorizationPendingException
		var slow *types.SlowDownException
		var expired *types.ExpiredTokenException
		switch {
		case err == nil:
			return c.newToken(s, reg, tok), nil
		case ctx.Err() != nil:
			return Token{}, loginEnded(ctx, s, "the code was not entered", bound)
		case errors.As(err, &pending):
		case errors.As(err, &slow):
			interval += slowDownStep
		case errors.As(err, &expired):
			return Token{}, &Error{Reason: ReasonTimedOut, Session: s, Code: "ExpiredTokenException", Detail: "the code expired before it was entered", Err: err}
		default:
			return Token{}, oidcError(s, "", ctx, err)
		}
	}
}

// printDevice tells the person at the terminal how to answer the device
// code sign-in p, and opens its page with the code filled in when open.
func (c *Client) printDevice(out io.Writer, p Prompt, open bool) {
	fmt.Fprintf(out, "To sign in to IAM Identity Center for %s, open\n\n  %s\n\non any device and enter the code\n\n  %s\n\n(or open %s, which fills the code in)\n",
		p.Session, p.VerificationURL, p.UserCode, p.VerificationURLComplete)
	if open {
		if err := c.cfg.OpenURL(p.VerificationURLComplete); err != nil {
			fmt.Fprintf(out, "Could not open a browser here (%s).\n", openFailed(err))
		}
	}
}
