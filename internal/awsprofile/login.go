package awsprofile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/logincreds"
	"github.com/aws/aws-sdk-go-v2/service/signin"
	signintypes "github.com/aws/aws-sdk-go-v2/service/signin/types"
	"github.com/aws/smithy-go"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
)

// `aws login` profiles (login_session, AWS CLI 2.32 and later). The SDK's
// logincreds provider serves them from the session `aws login` keeps in
// ~/.aws/login/cache (or AWS_LOGIN_CACHE_DIRECTORY), renewing it with the
// sign-in service when its credentials have expired. Its failures are
// sentences; the link below turns them into a LoginError of a reason, from
// the sign-in service's typed refusal and from the token file itself, never
// from the words. Signing in is `aws login`'s: codecommitd does not do it.

// LoginReason is why an `aws login` session could not give credentials.
type LoginReason int

// The reasons.
const (
	// LoginNoToken: there is no token file (never signed in, or signed
	// out).
	LoginNoToken LoginReason = iota + 1
	// LoginUnusable: the token file is there but the SDK cannot use it (not
	// JSON, a field missing, it cannot be read or written).
	LoginUnusable
	// LoginExpired: the sign-in service refused to renew the session: it
	// has ended (TOKEN_EXPIRED), or another refusal (Code says which).
	LoginExpired
	// LoginPasswordChanged: the session ended because its user's password
	// changed (USER_CREDENTIALS_CHANGED).
	LoginPasswordChanged
	// LoginNotPermitted: the identity may not renew its session
	// (INSUFFICIENT_PERMISSIONS: signin:CreateOAuth2Token).
	LoginNotPermitted
)

// LoginError is a failure of an `aws login` profile. Its message names the
// profile and the fix; the SDK's text is its cause only.
type LoginError struct {
	Reason  LoginReason
	Profile string
	// Path is the session's token file.
	Path string
	// Code is the sign-in service's error code, for its refusals.
	Code string
	Err  error
}

func (e *LoginError) Error() string {
	fix := "sign in again with `aws login --profile " + e.Profile + "`"
	switch e.Reason {
	case LoginNoToken:
		return fmt.Sprintf("profile %s has no `aws login` session (no token file %s); sign in with `aws login --profile %s` (codecommitd does not sign in to `aws login` sessions itself)", e.Profile, e.Path, e.Profile)
	case LoginUnusable:
		return fmt.Sprintf("the `aws login` token file of profile %s, %s, cannot be used (it is not one `aws login` wrote, or it cannot be read or written); %s, which writes it anew", e.Profile, e.Path, fix)
	case LoginPasswordChanged:
		return fmt.Sprintf("the `aws login` session of profile %s ended because its user's password changed (USER_CREDENTIALS_CHANGED); %s", e.Profile, fix)
	case LoginNotPermitted:
		return fmt.Sprintf("the identity of profile %s may not renew its `aws login` session (INSUFFICIENT_PERMISSIONS: signin:CreateOAuth2Token is not allowed); ask an administrator for that permission, or %s each time it ends", e.Profile, fix)
	}
	return fmt.Sprintf("the `aws login` session of profile %s has ended (the AWS sign-in service refused to renew it: %s); %s", e.Profile, e.Code, fix)
}

func (e *LoginError) Unwrap() error { return e.Err }

// loginLink is the link of a chain that an `aws login` session feeds.
type loginLink struct {
	profile, path string
	sdk           *logincreds.Provider
}

func (b *builder) login(ctx context.Context, c *config.SharedConfig) (aws.CredentialsProvider, error) {
	path, err := logincreds.StandardCachedTokenFilepath(c.LoginSession, os.Getenv("AWS_LOGIN_CACHE_DIRECTORY"))
	if err != nil {
		return nil, broker.Errorf(broker.ErrInvalidRequest, b.p.Name, "profile %s: cannot find the home folder, which holds the `aws login` cache (~/.aws/login/cache); set HOME for the daemon", c.Profile)
	}
	cfg, err := b.baseConfig(ctx, aws.AnonymousCredentials{})
	if err != nil {
		return nil, err
	}
	return &loginLink{profile: c.Profile, path: path, sdk: logincreds.New(refusals{signin.NewFromConfig(cfg)}, path, func(o *logincreds.Options) {
		o.RestrictPermissions = true
	})}, nil
}

// Retrieve asks the SDK's provider, and says why it failed by type: the
// sign-in service's refusal, a network or API failure (Classify's), else
// what the token file is.
func (l *loginLink) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := l.sdk.Retrieve(ctx)
	if err == nil {
		return c, nil
	}
	var refused *loginRefused
	var api smithy.APIError
	var netErr net.Error
	e := &LoginError{Profile: l.profile, Path: l.path, Err: err}
	switch {
	case errors.As(err, &refused):
		e.Code = clean.Line(string(refused.code), 64)
		switch refused.code {
		case signintypes.OAuth2ErrorCodeUserCredentialsChanged:
			e.Reason = LoginPasswordChanged
		case signintypes.OAuth2ErrorCodeInsufficientPermissions:
			e.Reason = LoginNotPermitted
		default:
			e.Reason = LoginExpired
			if !errorCode.MatchString(e.Code) {
				e.Code = "an unknown error"
			}
		}
	case errors.As(err, &api), errors.As(err, &netErr), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return aws.Credentials{}, err
	default:
		e.Reason = LoginUnusable
		if _, serr := os.Stat(l.path); errors.Is(serr, fs.ErrNotExist) {
			e.Reason = LoginNoToken
		}
	}
	return aws.Credentials{}, e
}

// refusals hands the SDK's provider the sign-in service's answers, but for
// its AccessDeniedException, which the provider would flatten into a
// sentence: that one becomes a loginRefused, which the provider passes on
// as it is (wrapped, so errors.As finds it).
type refusals struct{ c logincreds.TokenAPIClient }

func (r refusals) CreateOAuth2Token(ctx context.Context, in *signin.CreateOAuth2TokenInput, opts ...func(*signin.Options)) (*signin.CreateOAuth2TokenOutput, error) {
	out, err := r.c.CreateOAuth2Token(ctx, in, opts...)
	var denied *signintypes.AccessDeniedException
	if errors.As(err, &denied) {
		return nil, &loginRefused{code: denied.Error_}
	}
	return out, err
}

// loginRefused is the sign-in service's refusal to renew a session. It
// wraps nothing, so that the SDK's provider does not recognise it.
type loginRefused struct{ code signintypes.OAuth2ErrorCode }

func (e *loginRefused) Error() string {
	return "the sign-in service refused to renew the session (" + string(e.code) + ")"
}

// classifyLogin maps a LoginError to a broker error.
func classifyLogin(p *Profile, e *LoginError) error {
	kind := broker.ErrLoginExpired
	if e.Reason == LoginNotPermitted {
		kind = broker.ErrAccessDenied
	}
	return &broker.Error{Kind: kind, Profile: p.Name, Msg: e.Error(), Err: e}
}
