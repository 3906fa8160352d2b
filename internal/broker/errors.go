package broker

import (
	"errors"
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
	ErrLoginExpired    = errors.New("aws login session expired")
	ErrAccessDenied    = errors.New("access denied")
	ErrSourceFailed    = errors.New("credential source failed")
	ErrClockSkew       = errors.New("clock skew")
	// ErrPermissionDenied: the daemon refused the caller itself (another
	// user's process).
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnavailable: no broker answered.
	ErrUnavailable = errors.New("daemon unavailable")
)

// Kinds lists every kind, for mapping tables and tests.
var Kinds = []error{
	ErrInvalidRequest, ErrProfileNotFound, ErrRegionMissing, ErrNoCredentials, ErrMFARequired,
	ErrMFAInvalid, ErrSSOExpired, ErrLoginExpired, ErrAccessDenied, ErrSourceFailed, ErrClockSkew,
	ErrPermissionDenied, ErrUnavailable,
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
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind, so errors.Is(err, ErrMFARequired) works.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf is shorthand for an Error of kind about profile.
func Errorf(kind error, profile, msg string) *Error {
	return &Error{Kind: kind, Profile: profile, Msg: msg}
}
