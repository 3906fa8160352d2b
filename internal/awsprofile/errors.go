package awsprofile

import (
	"errors"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/smithy-go"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
)

// Classify turns an error from resolving p's credentials into a broker
// error that names the profile, says what failed and what to do. Errors
// that already are broker errors pass through.
func (r *Resolver) Classify(p *Profile, err error) error {
	if err == nil {
		return nil
	}
	var be *broker.Error
	if errors.As(err, &be) {
		return err
	}
	name := p.Name
	e := func(kind error, format string, args ...any) error {
		return broker.Errorf(kind, name, format, args...)
	}
	msg := err.Error()

	var pe *ProcessError
	var ssoErr *ssocreds.InvalidTokenError
	var api smithy.APIError
	var netErr net.Error
	switch {
	case errors.As(err, &pe):
		return e(broker.ErrSourceFailed, "%s; run its credential_process (%s …) yourself to see why", pe.Error(), pe.Program)
	case errors.As(err, &ssoErr), strings.Contains(msg, "UnauthorizedException"),
		strings.Contains(msg, "InvalidGrantException"), strings.Contains(msg, "failed to read cached SSO token file"):
		return e(broker.ErrSSOExpired, "the SSO session of profile %s has expired or was never started; run `aws sso login --profile %s`", name, name)
	case strings.Contains(msg, "login session has expired"), strings.Contains(msg, "login session password has changed"),
		strings.Contains(msg, "load login token"):
		return e(broker.ErrLoginExpired, "the `aws login` session of profile %s has expired or was never started; run `aws login --profile %s`", name, name)
	case errors.As(err, &api):
		return r.classifyAPI(p, api, e)
	case strings.Contains(msg, "no EC2 IMDS role found"), strings.Contains(msg, "failed to refresh cached credentials"),
		strings.Contains(msg, "EC2 IMDS"):
		if !p.Exists {
			return e(broker.ErrNoCredentials, "no profile %s and no credentials in the environment or instance metadata; create the profile with `aws configure --profile %s`, or name another profile in the URL (codecommit://<profile>@<repository>)", name, name)
		}
		return e(broker.ErrNoCredentials, "profile %s has no credentials (%s); configure them with `aws configure --profile %s`", name, clean.Line(msg, 200), name)
	case errors.As(err, &netErr):
		return e(broker.ErrSourceFailed, "cannot reach AWS for profile %s: %s; check the network or proxy settings", name, clean.Line(msg, 300))
	case strings.Contains(msg, "credential_source"), strings.Contains(msg, "token file path is not set"),
		strings.Contains(msg, "role ARN is not set"):
		return e(broker.ErrNoCredentials, "profile %s: %s", name, clean.Line(msg, 300))
	}
	return e(broker.ErrSourceFailed, "cannot get credentials for profile %s: %s", name, clean.Line(msg, 300))
}

func (r *Resolver) classifyAPI(p *Profile, api smithy.APIError, e func(error, string, ...any) error) error {
	name, code, msg := p.Name, api.ErrorCode(), api.ErrorMessage()
	switch code {
	case "AccessDenied", "AccessDeniedException":
		return e(broker.ErrAccessDenied, "profile %s: STS denied the request (%s): %s; check the role's trust policy and the profile's role_arn", name, code, msg)
	case "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException":
		return e(broker.ErrNoCredentials, "profile %s: AWS rejected the source credentials (%s: %s); update them, e.g. with `aws configure --profile %s`", name, code, msg, name)
	case "SignatureDoesNotMatch", "RequestExpired", "InvalidSignatureException":
		if skew, at := r.ClockSkew(); !at.IsZero() && (skew >= MaxClockSkew || skew <= -MaxClockSkew) {
			return e(broker.ErrClockSkew, "profile %s: AWS refused the request (%s): %s", name, code, SkewMessage(skew, at))
		}
		return e(broker.ErrNoCredentials, "profile %s: AWS rejected the signature (%s: %s); check the secret key, and that this machine's clock is right", name, code, msg)
	case "InvalidIdentityToken", "IDPRejectedClaim", "IDPCommunicationError":
		return e(broker.ErrSourceFailed, "profile %s: STS rejected the web identity token (%s: %s); refresh the token file", name, code, msg)
	case "RegionDisabledException":
		return e(broker.ErrAccessDenied, "profile %s: STS is not activated in this region (%s); activate it in IAM or use another region", name, msg)
	case "UnauthorizedException":
		return e(broker.ErrSSOExpired, "the SSO session of profile %s has expired; run `aws sso login --profile %s`", name, name)
	case "ValidationError":
		return e(broker.ErrInvalidRequest, "profile %s: STS refused the request: %s; check duration_seconds and role_session_name", name, msg)
	}
	return e(broker.ErrSourceFailed, "profile %s: %s: %s", name, code, msg)
}
