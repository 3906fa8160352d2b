// Package broker defines what a CodeCommit credential broker does, in terms
// both sides of the socket share: the Broker interface, its request and
// result types, and the errors callers test with errors.Is and errors.As.
//
// The daemon implements Broker with real credentials; package client
// implements it over gRPC; the gRPC adapter in package daemon serves any
// Broker. Nothing here imports the AWS SDK, gRPC or protobuf, so the thin
// helpers pay nothing for it at start-up.
package broker

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
)

// Broker signs CodeCommit git passwords and manages the credentials behind
// them.
type Broker interface {
	// SignURL returns a freshly signed password for one repository.
	SignURL(ctx context.Context, req *SignRequest) (*SignedURL, error)
	// Status reports the broker and every profile it keeps.
	Status(ctx context.Context) (*Status, error)
	// Forget drops the cached credentials of profile, or of every profile
	// when all is set, and returns how many entries it dropped.
	Forget(ctx context.Context, profile string, all bool) (int, error)
	// SSOSessionChanged tells the broker that the token file of an IAM
	// Identity Center session changed (`codecommitd login` or `logout`
	// wrote or removed it): it reads it again now, and a sign-in it runs
	// for that session ends if the file now holds a usable token.
	SSOSessionChanged(ctx context.Context, s SSOSession) error
}

// SSOSession names an IAM Identity Center session as the AWS config does:
// an [sso-session Name] section, or (Name empty) a legacy profile's
// sso_start_url.
type SSOSession struct {
	Name, StartURL string
}

// SignIn is an IAM Identity Center sign-in the broker runs for a session
// that needs one, as a caller shows it to a person. It holds no secret: the
// code only works with the device code the broker keeps, and the authorize
// page's answer only reaches the broker's own listener.
type SignIn struct {
	// ID identifies the sign-in: the caller that shows it names it in
	// SignRequest.SSOSignInShown while it waits for it.
	ID string
	// Session names the session ("sso-session corp", "profile dev").
	Session string
	// AuthorizeURL is the page to open in a browser on this machine (the
	// authorization code grant); else VerificationURL is the page to open
	// on any device and UserCode the code to enter there (the device code
	// grant), VerificationURLComplete the same page with the code filled
	// in.
	AuthorizeURL                                       string
	VerificationURL, UserCode, VerificationURLComplete string
	// Expires is when the sign-in gives up waiting.
	Expires time.Time
	// Show reports that this caller is the one to show it (print it, open
	// the browser); the others wait, showing nothing.
	Show bool
}

// SignRequest asks for a signed password. Only Repository is required.
type SignRequest struct {
	// Profile named by the URL; "" means AWS_PROFILE from Env, else
	// "default".
	Profile string
	// Region named by the URL; "" means AWS_REGION, AWS_DEFAULT_REGION,
	// then the profile's region.
	Region string
	// Repository is the CodeCommit repository name.
	Repository string
	// Host to sign for when the caller already knows it (credential-helper
	// mode); "" derives it from the region and Env.
	Host string
	// Env holds the caller's values of EnvVars (and only those).
	Env map[string]string
	// MFACode is a code the caller collected after ErrMFARequired.
	MFACode string
	// Prompt says whether the caller can ask a person for an MFA code.
	Prompt Prompt
	// MFAPromptFailed reports that the caller was asked for a code after
	// ErrMFARequired and could not get one: another caller may prompt.
	MFAPromptFailed bool
	// SSOSignInShown is the ID of the sign-in (ErrSSOSignIn) this caller
	// showed a person and now waits for. A caller that gives up while it
	// waits (Ctrl-C) thereby ends it, so another caller may show a new
	// one.
	SSOSignInShown string
	// Browser reports that a browser can be opened where the caller's
	// person is (package browser): a sign-in the caller shows may then use
	// the authorization code grant, whose answer comes back to this
	// machine.
	Browser bool
	// Client names the calling program, for the audit log.
	Client string
	// Probe reports a request that only checks the profile (codecommitd
	// doctor's): it is resolved and its credentials refreshed as usual,
	// but it is not counted as a use (not in the requests status counts,
	// not among the profiles and SSO sessions used recently, and it keeps
	// nothing warm).
	Probe bool
}

// Prompt is whether a caller can ask a person for an MFA code.
type Prompt int

// Prompt values.
const (
	// PromptUnknown is what callers that do not say send: treated as able.
	PromptUnknown Prompt = iota
	// PromptAvailable: a terminal, an askpass program or an mfa_process.
	PromptAvailable
	// PromptUnavailable: none of those (an IDE's background fetch).
	PromptUnavailable
)

// LogValue leaves the MFA code and the environment's secrets out of logs.
func (r *SignRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("profile", r.Profile),
		slog.String("region", r.Region),
		slog.String("repository", r.Repository),
		slog.String("host", r.Host),
		slog.String("client", r.Client),
		slog.Bool("mfa_code", r.MFACode != ""),
		slog.Bool("probe", r.Probe),
	)
}

// SignedURL is a signed CodeCommit password and where to use it.
type SignedURL struct {
	// URL is https://<host>/v1/repos/<repository>, without credentials.
	URL string
	// Username is the access key id, plus "%" and the session token when
	// there is one. It is not URL-encoded.
	Username string
	// Password is the signing timestamp, "Z" and the signature.
	Password string
	// Expires is when the password stops working.
	Expires time.Time
	// Profile and Region are what the password was resolved and signed for.
	Profile, Region string
	// Warnings are one-line notes for the user.
	Warnings []string
}

// LogValue keeps the session token and password out of logs.
func (s *SignedURL) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", s.URL), slog.String("profile", s.Profile),
		slog.String("region", s.Region), slog.Time("expires", s.Expires))
}

// String keeps secrets out of fmt output.
func (s *SignedURL) String() string {
	return "SignedURL{" + s.URL + " profile=" + s.Profile + " expires=" + s.Expires.UTC().Format(time.RFC3339) + "}"
}

// Status describes a broker.
type Status struct {
	PID       int
	StartedAt time.Time
	Socket    string
	Version   string
	CachePath string
	KeySource string
	// CacheProblem says what is wrong with the persistent cache ("" when
	// nothing is): read-only, not writable, in use by another daemon.
	CacheProblem string
	Profiles     []ProfileStatus
	// RecentProfiles were used in the last seven days, most recent first.
	RecentProfiles []RecentProfile
	// OnDemand reports a daemon a client started; it exits after IdleExit
	// without a request (zero: never).
	OnDemand bool
	IdleExit time.Duration
	// Environment holds the daemon's own values of the variables that
	// change what it does; never secrets.
	Environment map[string]string
	// ClockSkew is how far AWS's clock was ahead of the daemon's at its
	// last AWS call, observed at ClockSkewAt (zero when never).
	ClockSkew   time.Duration
	ClockSkewAt time.Time
	// SSOSessions are the IAM Identity Center sessions used in the last
	// 24 hours, which the broker keeps signed in.
	SSOSessions []SSOSessionStatus
	// Transport is the git transport; nil where none runs (the one-shot).
	Transport *TransportStatus
}

// SSOSessionStatus describes one IAM Identity Center session the broker
// keeps signed in.
type SSOSessionStatus struct {
	// Session names it ("sso-session corp", "profile dev"); Name and
	// StartURL are as in SSOSession, Region is its sso_region.
	Session                string
	Name, StartURL, Region string
	// TokenFile is the token file it shares with the AWS CLI.
	TokenFile string
	// Expires is when its access token expires (zero: no usable token);
	// SessionEnds when the session itself ends, where known.
	Expires, SessionEnds time.Time
	// Renewable reports that the token can be renewed without a sign-in;
	// NextRefresh is when it is renewed next (zero: not planned).
	Renewable   bool
	NextRefresh time.Time
	// LastRefresh and Refreshes: the broker's last renewal, and how many.
	LastRefresh time.Time
	Refreshes   int
	LastUsed    time.Time
	// LastError says why the session cannot be kept alive, or how the
	// last renewal failed; "" when all is well.
	LastError string
	// SigningIn reports a sign-in under way, shown by a git process.
	SigningIn bool
}

// RecentProfile is a profile and when it was last used.
type RecentProfile struct {
	Profile  string
	LastUsed time.Time
}

// ProfileStatus describes one resolved profile a broker keeps.
type ProfileStatus struct {
	Profile     string
	ConfigKey   string
	Source      string
	AccessKeyID string // redacted to its first four characters
	Expires     time.Time
	NextRefresh time.Time
	LastError   string
	Requests    int64
	LastUsed    time.Time
	// RefreshingSince is when the refresh under way began; zero when none
	// is.
	RefreshingSince time.Time
	// NeedsMFA reports that refreshing needs a new MFA session: nothing is
	// tried until a request that can prompt brings a code.
	NeedsMFA bool
	// OnReserve reports that refreshing fails and credentials close to
	// their end are being handed out.
	OnReserve bool
}

// EnvVars are the variables of the caller's environment a SignRequest
// carries: what decides the profile, region, config files, endpoint and
// environment credentials (package envvar declares them, read by
// envvar.Request). Everything else the daemon takes from its own
// environment.
var EnvVars = envvar.Names(envvar.Request)

// Environ returns the EnvVars set in the environment getenv reads, with
// relative file paths made absolute against the working directory.
func Environ(getenv func(string) (string, bool)) map[string]string {
	env := make(map[string]string, 8)
	for _, v := range envvar.All {
		if !v.ReadBy(envvar.Request) {
			continue
		}
		if val, ok := getenv(v.Name); ok {
			if v.Path && val != "" && !filepath.IsAbs(val) && !strings.HasPrefix(val, "~") {
				if abs, err := filepath.Abs(val); err == nil {
					val = abs
				}
			}
			env[v.Name] = val
		}
	}
	return env
}
