package sso

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// Reason is why an SSO operation failed, for callers that branch on it and
// for the message. Reasons travel as this type, never as text.
type Reason int

// The reasons. Each *Error's message names the session (or profile) and
// says what to do.
const (
	// ReasonUnknown is the zero Reason; no *Error has it.
	ReasonUnknown Reason = iota
	// ReasonNoToken: there is no token file (never signed in, or
	// `aws sso logout` removed it).
	ReasonNoToken
	// ReasonUnreadable: the token file is there but cannot be used (not
	// JSON, no accessToken, a symlink, another user's, too large).
	ReasonUnreadable
	// ReasonExpired: the access token has expired and cannot be renewed
	// (no refresh token: a legacy profile's token, or one without the
	// registration's client).
	ReasonExpired
	// ReasonRevoked: IAM Identity Center refused the refresh token: the
	// session ended (its maximum duration), was revoked, or the user
	// signed out elsewhere.
	ReasonRevoked
	// ReasonRegistrationExpired: the client registration that issued the
	// token expired or was refused, so its session cannot be renewed.
	ReasonRegistrationExpired
	// ReasonMismatch: the token file is another session's: its start URL
	// or region is not the profile's.
	ReasonMismatch
	// ReasonNotAssigned: the portal refused the account and role
	// (ForbiddenException from GetRoleCredentials).
	ReasonNotAssigned
	// ReasonClockSkew: the portal refused a token that this machine's
	// clock calls valid, and that clock is off from AWS's.
	ReasonClockSkew
	// ReasonDenied: the person chose Deny at the sign-in page.
	ReasonDenied
	// ReasonTimedOut: the sign-in was not completed in time.
	ReasonTimedOut
	// ReasonCanceled: the caller gave up (its context ended).
	ReasonCanceled
	// ReasonTemporary: the network, throttling or a fault on AWS's side;
	// trying again later may work.
	ReasonTemporary
	// ReasonRefused: IAM Identity Center refused a request for another
	// reason (Code says which).
	ReasonRefused
	// ReasonLocal: a failure on this machine: the cache folder, a file
	// that cannot be written, a listener that cannot be opened, a lock held
	// too long.
	ReasonLocal
)

var reasonNames = map[Reason]string{
	ReasonNoToken: "no token", ReasonUnreadable: "unreadable token file", ReasonExpired: "expired",
	ReasonRevoked: "session ended or revoked", ReasonRegistrationExpired: "registration expired",
	ReasonMismatch: "token of another session", ReasonNotAssigned: "not assigned", ReasonClockSkew: "clock skew",
	ReasonDenied: "denied", ReasonTimedOut: "timed out", ReasonCanceled: "cancelled", ReasonTemporary: "temporary failure",
	ReasonRefused: "refused", ReasonLocal: "local failure",
}

func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return "unknown"
}

// Error is a failed SSO operation. Its message is ours, whole, and safe to
// show: it names the session, the file or the AWS error code, never an
// SDK's sentence or a secret. The cause is kept for errors.Is and
// errors.As only.
type Error struct {
	Reason  Reason
	Session Session
	// Path is the token file concerned, if any.
	Path string
	// Code is the AWS error code (InvalidGrantException, …) or OAuth error
	// (access_denied) behind the failure, if any.
	Code string
	// At is when what failed ended: the token's expiry for ReasonExpired,
	// the registration's end for ReasonRegistrationExpired.
	At time.Time
	// Account and Role, for ReasonNotAssigned.
	Account, Role string
	// Skew is how far AWS's clock was ahead of this machine's (negative:
	// behind), for ReasonClockSkew.
	Skew time.Duration
	// Detail completes the message in our words (what the file lacks, how
	// the start URLs differ, what the network did).
	Detail string
	// Err is the cause; its text is not part of the message.
	Err error
}

func (e *Error) Error() string {
	s, fix := e.Session.String(), e.Session.signInFix()
	switch e.Reason {
	case ReasonNoToken:
		return fmt.Sprintf("%s is not signed in to IAM Identity Center (no token file %s%s); %s", s, e.Path, e.detail(", "), fix)
	case ReasonUnreadable:
		return fmt.Sprintf("the SSO token file of %s, %s, cannot be used: %s; %s, which writes it anew", s, e.Path, e.Detail, fix)
	case ReasonExpired:
		if e.Code != "" { // the portal refused the token
			return fmt.Sprintf("IAM Identity Center no longer accepts the SSO token of %s (%s: it expired or was revoked); %s", s, e.Code, fix)
		}
		return fmt.Sprintf("the SSO sign-in of %s expired at %s and cannot be renewed (its token has no refresh token); %s", s, stamp(e.At), fix)
	case ReasonRevoked:
		return fmt.Sprintf("the SSO session of %s has ended or was revoked (IAM Identity Center refused its refresh token%s); %s", s, e.codeNote(", "), fix)
	case ReasonRegistrationExpired:
		if e.Code != "" {
			return fmt.Sprintf("IAM Identity Center refused the client registration of %s (%s: it expired or is unknown), so its session cannot be renewed; %s", s, e.Code, fix)
		}
		return fmt.Sprintf("the client registration of %s expired at %s, so its session cannot be renewed; %s", s, stamp(e.At), fix)
	case ReasonMismatch:
		return fmt.Sprintf("the SSO token file of %s, %s, is another session's: %s; %s", s, e.Path, e.Detail, fix)
	case ReasonNotAssigned:
		return fmt.Sprintf("IAM Identity Center does not let %s use role %s in account %s (ForbiddenException); check sso_account_id and sso_role_name, or ask an administrator for that assignment", s, e.Role, e.Account)
	case ReasonClockSkew:
		dir, skew := "behind", e.Skew
		if skew < 0 {
			dir, skew = "ahead of", -skew
		}
		return fmt.Sprintf("AWS refused the SSO token of %s, which this machine's clock calls valid: the clock is %s %s AWS's; fix the clock (NTP; on WSL after sleep: `sudo hwclock -s`)", s, skew.Round(time.Second), dir)
	case ReasonDenied:
		return fmt.Sprintf("the sign-in of %s was denied at the sign-in page%s; run `%s` again and choose Allow", s, e.codeNote(" ("), e.Session.LoginCommand())
	case ReasonTimedOut:
		return fmt.Sprintf("the sign-in of %s was not completed in time%s; run `%s` again", s, e.detail(" ("), e.Session.LoginCommand())
	case ReasonCanceled:
		return fmt.Sprintf("the sign-in or refresh of %s was cancelled", s)
	case ReasonTemporary:
		return fmt.Sprintf("cannot reach IAM Identity Center for %s: %s; codecommitd tries again by itself, or try again in a minute", s, e.Detail)
	case ReasonRefused:
		return fmt.Sprintf("IAM Identity Center refused the request for %s%s%s; check sso_start_url and sso_region, then %s", s, e.codeNote(" ("), e.detail(": "), fix)
	case ReasonLocal:
		return fmt.Sprintf("SSO for %s: %s", s, e.Detail)
	}
	return fmt.Sprintf("SSO for %s failed", s)
}

// detail is Detail after sep ("(" closes itself), or "".
func (e *Error) detail(sep string) string {
	switch {
	case e.Detail == "":
		return ""
	case sep == " (":
		return sep + e.Detail + ")"
	}
	return sep + e.Detail
}

// codeNote is Code after sep ("(" closes itself), or "".
func (e *Error) codeNote(sep string) string {
	switch {
	case e.Code == "":
		return ""
	case sep == " (":
		return sep + e.Code + ")"
	}
	return sep + e.Code
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of the *Error in err's chain, or
// ReasonUnknown.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonUnknown
}

func stamp(t time.Time) string { return t.UTC().Format(timeFormat) }

// errorCode is what an AWS error code looks like; anything else is not
// shown as one.
var errorCode = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._:-]{0,63}$`)

// apiCode is the AWS error code of err, if it is an API error with a
// presentable one.
func apiCode(err error) (string, bool) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", false
	}
	if c := ae.ErrorCode(); errorCode.MatchString(c) {
		return c, true
	}
	return "an unknown error", true
}

// temporary describes err in a few words if it is a failure that may pass
// by itself: throttling, a fault on AWS's side, a request that did not get
// through. (A caller that knows the network better, with
// awsprofile.NetworkCause, can say more from the *Error's cause.)
func temporary(err error) (string, bool) {
	var re *smithyhttp.ResponseError
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	code, isAPI := apiCode(err)
	var ne net.Error
	var send *smithyhttp.RequestSendError
	switch {
	case status == 429 || code == "SlowDownException" || code == "ThrottlingException" || code == "TooManyRequestsException":
		return fmt.Sprintf("it is throttling requests (HTTP %d, %s)", status, code), true
	case status >= 500 || code == "InternalServerException":
		return fmt.Sprintf("it failed on AWS's side (HTTP %d, %s)", status, code), true
	case isAPI:
		return "", false
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "it did not answer in time", true
	case errors.As(err, &ne), errors.As(err, &send):
		return "the request did not get through (the network, a proxy or the endpoint failed)", true
	}
	return "", false
}

// oidcError turns a failed OIDC call for s into an *Error: a refused
// refresh token, an expired or unknown registration, a temporary failure,
// a cancelled context, else a refusal with the AWS error code.
func oidcError(s Session, path string, ctx context.Context, err error) *Error {
	e := &Error{Session: s, Path: path, Err: err}
	var grant *types.InvalidGrantException
	var client *types.InvalidClientException
	var expired *types.ExpiredTokenException
	var denied *types.AccessDeniedException
	switch {
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), errLoginTimeout):
		e.Reason = ReasonTimedOut
	case ctx.Err() != nil:
		e.Reason = ReasonCanceled
	case errors.As(err, &grant):
		e.Reason, e.Code = ReasonRevoked, "InvalidGrantException"
	case errors.As(err, &expired):
		e.Reason, e.Code = ReasonRevoked, "ExpiredTokenException"
	case errors.As(err, &client):
		e.Reason, e.Code = ReasonRegistrationExpired, "InvalidClientException"
	case errors.As(err, &denied):
		e.Reason, e.Code = ReasonDenied, "AccessDeniedException"
	default:
		if what, ok := temporary(err); ok {
			e.Reason, e.Detail = ReasonTemporary, what
		} else {
			e.Reason = ReasonRefused
			e.Code, _ = apiCode(err)
		}
	}
	return e
}

// ClassifyGetRoleCredentials turns an error of the SSO portal's
// GetRoleCredentials for account and role, with a token of s, into an
// *Error: ForbiddenException is ReasonNotAssigned; UnauthorizedException
// (the token expired, was revoked, or the clock says otherwise) is
// ReasonClockSkew when skew (how far AWS's clock was ahead of this
// machine's, as the caller last saw it; 0 if unknown) is broker.MaxClockSkew or
// more, else ReasonExpired; the network and AWS's faults are
// ReasonTemporary. It is for the credential side (part of resolving a
// profile), which calls the portal.
func ClassifyGetRoleCredentials(s Session, account, role string, skew time.Duration, err error) *Error {
	e := &Error{Session: s, Account: account, Role: role, Err: err}
	code, _ := apiCode(err)
	switch {
	case errors.Is(err, context.Canceled):
		e.Reason = ReasonCanceled
	case code == "ForbiddenException":
		e.Reason, e.Code = ReasonNotAssigned, code
	case code == "UnauthorizedException" && (skew >= broker.MaxClockSkew || skew <= -broker.MaxClockSkew):
		e.Reason, e.Code, e.Skew = ReasonClockSkew, code, skew
	case code == "UnauthorizedException":
		e.Reason, e.Code = ReasonExpired, code
	default:
		if what, ok := temporary(err); ok {
			e.Reason, e.Detail = ReasonTemporary, what
		} else {
			e.Reason, e.Code = ReasonRefused, code
		}
	}
	return e
}
