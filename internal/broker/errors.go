package broker

import (
	"errors"
	"fmt"
	"time"
)

// Kinds of failure. Every error a Broker returns wraps one of them, so
// callers can write errors.Is(err, broker.ErrMFARequired).
var (
	ErrInvalidRequest  = errors.New("invalid request")
	ErrProfileNotFound = errors.New("profile not found")
	ErrRegionMissing   = errors.New("no region")
	ErrNoCredentials   = errors.New("no credentials")
	ErrMFARequired     = errors.New("MFA code required")
	ErrMFAInvalid      = errors.New("MFA code rejected")
	ErrSSOExpired      = errors.New("SSO session expired")
	// ErrSSOSignIn: the profile's IAM Identity Center session needs a
	// new sign-in, which the broker has started: this caller is to show
	// it to a person (Error.SignIn.Show) or waits for the one another
	// caller shows. Either way it calls again, the one that shows it
	// naming it in SignRequest.SSOSignInShown, until the sign-in is done.
	ErrSSOSignIn    = errors.New("SSO sign-in required")
	ErrLoginExpired = errors.New("aws login session expired")
	ErrAccessDenied = errors.New("access denied")
	ErrSourceFailed = errors.New("credential source failed")
	ErrClockSkew    = errors.New("clock skew")
	// ErrPermissionDenied: the daemon refused the caller itself (another
	// user's process). Its messages have codecommitd as their subject
	// ("codecommitd serves only its own user …"); see Say.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnavailable: no broker answered.
	ErrUnavailable = errors.New("daemon unavailable")
	// ErrUntrustedDaemon: something answers on the socket, but it is not
	// this user's daemon (or its folder is not private), so the client
	// never spoke to it. Errors wrapping it wrap ErrUnavailable too. Their
	// messages have codecommitd as their subject ("codecommitd does not
	// trust what listens on …"); see Say.
	ErrUntrustedDaemon = errors.New("untrusted daemon")
	// ErrTemporary marks, in an error's cause, a failure that may pass by
	// itself: the network, throttling, a fault on AWS's side, a timeout.
	ErrTemporary = errors.New("temporary failure")
)

// MaxClockSkew is how far this machine's clock may be from AWS's before a
// failure is put down to the clock (ErrClockSkew): SigV4 refuses requests
// signed more than five minutes off. The credential sources, the SSO
// client and doctor all read it.
const MaxClockSkew = 5 * time.Minute

// Kinds lists every kind, for mapping tables and tests (a test checks that
// it names every Err… of this package).
var Kinds = []error{
	ErrInvalidRequest, ErrProfileNotFound, ErrRegionMissing, ErrNoCredentials, ErrMFARequired,
	ErrMFAInvalid, ErrSSOExpired, ErrSSOSignIn, ErrLoginExpired, ErrAccessDenied, ErrSourceFailed, ErrClockSkew,
	ErrPermissionDenied, ErrUnavailable, ErrUntrustedDaemon, ErrTemporary,
}

// Say returns err's message as codecommitd says it on a line of its own
// (the command line's errors, the helpers' note that they resolve
// in-process): after "codecommitd: ", but for the kinds of a refusal
// (ErrPermissionDenied, ErrUntrustedDaemon), whose messages name
// codecommitd already.
func Say(err error) string {
	if errors.Is(err, ErrPermissionDenied) || errors.Is(err, ErrUntrustedDaemon) {
		return err.Error()
	}
	return "codecommitd: " + err.Error()
}

// Error is a broker failure with the facts a caller may act on. Its message
// is complete: it names the profile, what was tried and what to do.
type Error struct {
	// Kind is one of the Err… sentinels.
	Kind error
	// Msg is the whole message, lower-case, one or two lines.
	Msg string
	// Profile the failure concerns.
	Profile string
	// Profiles that exist, for ErrProfileNotFound.
	Profiles []string
	// MFASerial and MFAProcess, for ErrMFARequired and ErrMFAInvalid.
	MFASerial, MFAProcess string
	// CannotPrompt, for ErrMFARequired and ErrSSOExpired, reports that
	// the broker knows the caller cannot ask a person (it said so) and did
	// not make it the one that prompts for a code or shows a sign-in: the
	// message says what to do instead.
	CannotPrompt bool
	// SignIn, for ErrSSOSignIn, is the sign-in the caller shows or waits
	// for.
	SignIn *SignIn
	// Err is the cause, kept for errors.Is and errors.As (a caller that
	// gave up, a timeout, a network error); its text is not part of Msg
	// unless Msg says so. It does not cross the wire.
	Err error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind and the cause, so errors.Is(err, ErrMFARequired)
// and errors.Is(err, context.Canceled) both work.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Errorf returns an Error of kind about profile, its message formatted as
// fmt.Errorf does; an error given with %w becomes its cause.
func Errorf(kind error, profile, format string, args ...any) *Error {
	w := fmt.Errorf(format, args...)
	e := &Error{Kind: kind, Profile: profile, Msg: w.Error()}
	var multi interface{ Unwrap() []error }
	if cause := errors.Unwrap(w); cause != nil {
		e.Err = cause
	} else if errors.As(w, &multi) {
		e.Err = errors.Join(multi.Unwrap()...)
	}
	return e
}

// WithCause sets e's cause without adding its text to the message, and
// returns e.
func (e *Error) WithCause(err error) *Error {
	e.Err = err
	return e
}
