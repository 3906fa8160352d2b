package sso

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssso "github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/sso/types"
)

// FreshFor is how long a token must still last for Fresh to hand it out as
// it is; one that lasts less is refreshed first, where it can be. (The
// Keeper refreshes well before this; a session it does not keep, or one
// whose refresh failed, is refreshed by its next use.)
const FreshFor = 5 * time.Minute

// Fresh returns the token of s to use now (for the portal's
// GetRoleCredentials): the token file's when it lasts FreshFor or more;
// else refreshed first (Refresh, under the file's lock) when it can be;
// else the token as it is while it has not expired. It never signs in: an
// *Error says what only a sign-in mends (no token file, an expired token
// without a refresh token, a refresh refused) or what else failed.
func (c *Client) Fresh(ctx context.Context, s Session) (Token, error) {
	tok, err := c.Load(s)
	if err != nil {
		return Token{}, err
	}
	now := time.Now()
	switch {
	case tok.ExpiresAt.Sub(now) >= FreshFor:
		return tok, nil
	case !tok.CanRefresh() && now.Before(tok.ExpiresAt):
		return tok, nil
	case !tok.CanRefresh():
		return Token{}, &Error{Reason: ReasonExpired, Session: s, Path: c.TokenPath(s), At: tok.ExpiresAt}
	}
	fresh, err := c.Refresh(ctx, s, tok)
	if err != nil && ctx.Err() == nil && time.Now().Before(tok.ExpiresAt) {
		// The token still works for a few minutes: use it, and let the
		// next use (or the Keeper) try again.
		c.log.InfoContext(ctx, "refreshing the SSO token failed; using it for the minutes it has left", "session", s.String(), "error", err.Error())
		return tok, nil
	}
	return fresh, err
}

// SignedOut is what Logout did.
type SignedOut struct {
	// Path is the token file; Removed reports that there was one, and
	// that it is gone.
	Path    string
	Removed bool
	// Ended reports that IAM Identity Center ended the session (the
	// portal's Logout accepted its access token). When it did not, Err
	// says why (an *Error; the session then lasts there until it ends by
	// itself): an access token it no longer accepts is no failure.
	Ended bool
	Err   error
}

// Logout signs s out as `aws sso logout` does: under the token file's lock,
// the portal's Logout with the file's access token, then the file removed.
// The client registration is kept, as the CLI keeps it. The file is
// removed even when the portal cannot be reached (SignedOut.Err says so):
// this machine is signed out either way. An error means nothing was done:
// the file could not be read or removed.
func (c *Client) Logout(ctx context.Context, s Session) (SignedOut, error) {
	if err := s.check(); err != nil {
		return SignedOut{}, err
	}
	path := c.TokenPath(s)
	out := SignedOut{Path: path}
	unlock, err := c.st.lock(ctx, path)
	if err != nil {
		return out, c.lockError(ctx, s, path, err)
	}
	defer unlock()
	tok, found, err := c.st.readToken(path)
	switch {
	case err != nil && !found: // the folder cannot be used
		return out, fileError(s, path, err)
	case !found:
		return out, nil
	}
	if err == nil && time.Now().Before(tok.ExpiresAt) {
		out.Ended, out.Err = c.portalLogout(ctx, s, tok)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return out, fileError(s, path, &problem{what: "cannot remove " + path + " (" + errnoText(err) + ")", err: err})
	}
	out.Removed = true
	syncDir(c.st.dir)
	c.log.InfoContext(ctx, "signed out of IAM Identity Center", "session", s.String(), "ended_at_portal", out.Ended)
	return out, nil
}

// portalLogout asks the portal to end the session of tok. A token it does
// not accept (UnauthorizedException) ended already.
func (c *Client) portalLogout(ctx context.Context, s Session, tok Token) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, RefreshTimeout)
	defer cancel()
	portal := awssso.NewFromConfig(c.cfg.AWS, func(o *awssso.Options) { o.Region = s.Region })
	_, err := portal.Logout(ctx, &awssso.LogoutInput{AccessToken: aws.String(tok.AccessToken)})
	var unauthorized *types.UnauthorizedException
	switch {
	case err == nil, errors.As(err, &unauthorized):
		return true, nil
	}
	return false, ClassifyGetRoleCredentials(s, "", "", 0, err)
}

// Health is what Check finds of one session, for `codecommitd doctor`: OK
// (signed in, and the token works now or can be renewed), What it found,
// and the Fix when it is not OK.
type Health struct {
	OK        bool
	What, Fix string
}

// Check looks at the token file of s at now, without a call to AWS: there,
// readable, this session's, and its token valid or renewable.
func (c *Client) Check(s Session, now time.Time) Health {
	if err := s.check(); err != nil {
		return Health{What: err.Error(), Fix: "fix the profile's SSO settings in the AWS config file"}
	}
	tok, err := c.Load(s)
	var e *Error
	switch {
	case errors.As(err, &e):
		return Health{What: e.Error(), Fix: "`" + s.LoginCommand() + "`"}
	case err != nil:
		return Health{What: fmt.Sprintf("%s: %v", s, err)}
	}
	left := tok.ExpiresAt.Sub(now).Round(time.Second)
	switch {
	case left > 0 && tok.CanRefresh():
		return Health{OK: true, What: fmt.Sprintf("%s is signed in: its token lasts %s more, and is renewed ahead of that", s, left)}
	case left > 0:
		return Health{OK: true, What: fmt.Sprintf("%s is signed in: its token lasts %s more, and cannot be renewed (no refresh token): sign in again then", s, left)}
	case tok.CanRefresh() && (tok.RegistrationExpiresAt.IsZero() || now.Before(tok.RegistrationExpiresAt)):
		return Health{OK: true, What: fmt.Sprintf("%s: its token expired %s ago and is renewed with its refresh token at its next use", s, -left)}
	}
	e = &Error{Reason: ReasonExpired, Session: s, Path: c.TokenPath(s), At: tok.ExpiresAt}
	if tok.CanRefresh() {
		e = &Error{Reason: ReasonRegistrationExpired, Session: s, Path: c.TokenPath(s), At: tok.RegistrationExpiresAt}
	}
	return Health{What: e.Error(), Fix: "`" + s.LoginCommand() + "`"}
}
