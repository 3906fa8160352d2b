package awsprofile

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/sso"
)

// Classify turns an error from resolving p's credentials into a broker
// error that names the profile, says what failed in codecommitd's words,
// keeps the essential part of the cause (the name that did not resolve,
// the HTTP status and AWS error code, the exit status) and says what to do.
// It is the one place where a library's error text is looked at: text that
// may quote a file or a program's output is never passed on, and what is
// passed on (an AWS error message, a program's stderr) is redacted. The
// original error stays the cause, for errors.Is. Errors that already are
// broker errors pass through.
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
		return broker.Errorf(kind, name, format, args...).WithCause(err)
	}
	msg := err.Error()

	var pe *ProcessError
	var ssoErr *sso.Error
	var loginErr *LoginError
	var api smithy.APIError
	switch {
	case errors.Is(err, context.Canceled):
		return e(broker.ErrSourceFailed, "the request for profile %s was abandoned before AWS answered", name)
	case errors.As(err, &pe):
		if errors.Is(err, context.DeadlineExceeded) {
			return broker.Errorf(broker.ErrSourceFailed, name, "%s; run it yourself to see why it hangs (%s …)", pe.Error(), pe.Program).WithCause(errors.Join(broker.ErrTemporary, err))
		}
		return e(broker.ErrSourceFailed, "%s; run its credential_process (%s …) yourself to see why", pe.Error(), pe.Program)
	case errors.As(err, &ssoErr):
		return classifySSO(p, ssoErr, err)
	case errors.As(err, &loginErr):
		return classifyLogin(p, loginErr)
	case errors.As(err, &api):
		return r.classifyAPI(p, api, err)
	}
	if c, ok := networkCause(err); ok {
		return broker.Errorf(broker.ErrSourceFailed, name, "cannot reach %s for profile %s: %s; %s", service(err), name, c.what, c.fix).
			WithCause(errors.Join(broker.ErrTemporary, err))
	}
	switch {
	case strings.Contains(msg, "failed to retrieve jwt"):
		file := p.webIdentityTokenFile()
		return e(broker.ErrSourceFailed, "profile %s: cannot read its web identity token file %s (%s); check web_identity_token_file or AWS_WEB_IDENTITY_TOKEN_FILE, and whatever writes the token",
			name, clean.Line(file, 200), unreadable(file))
	case strings.Contains(msg, "no EC2 IMDS role found"), strings.Contains(msg, "EC2 IMDS"):
		if !p.Exists {
			return e(broker.ErrNoCredentials, "no profile %s and no credentials in the environment or instance metadata; create the profile with `aws configure --profile %s`, or name another profile in the URL (codecommit://<profile>@<repository>)", name, name)
		}
		return e(broker.ErrNoCredentials, "profile %s has no credentials; configure them with `aws configure --profile %s`", name, name)
	case strings.Contains(msg, "token file path is not set"), strings.Contains(msg, "role ARN is not set"),
		strings.Contains(msg, "credential_source"):
		return e(broker.ErrNoCredentials, "profile %s: %s", name, r.scrub(p, msg))
	}
	return e(broker.ErrSourceFailed, "cannot get credentials for profile %s: %s", name, r.scrub(p, msg))
}

// sdkJargon is what the SDK's error texts say that tells a user nothing.
var sdkJargon = regexp.MustCompile(`(operation error [^:,]+: [A-Za-z]+, |https response error StatusCode: \d+, RequestID: [^,]*, |request send failed, |exceeded maximum number of attempts, \d+, |failed to refresh cached credentials, |failed to retrieve credentials, )`)

// scrub is the last resort for text no rule above recognised: the SDK's
// jargon dropped, anything that looks like a credential (or is one the
// profile holds) redacted, one line, at most 300 bytes.
func (r *Resolver) scrub(p *Profile, msg string) string {
	return clean.Line(clean.Redact(sdkJargon.ReplaceAllString(msg, ""), p.secrets()...), 300)
}

// errorCode is what an AWS error code looks like; anything else is not
// shown as one.
var errorCode = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.:_-]{0,63}$`)

// throttling lists the error codes AWS uses to slow a client down.
var throttling = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "RequestLimitExceeded": true, "SlowDown": true, "PriorRequestNotComplete": true,
	"ProvisionedThroughputExceededException": true, "BandwidthLimitExceeded": true, "RequestThrottled": true,
}

func (r *Resolver) classifyAPI(p *Profile, api smithy.APIError, cause error) error {
	name, code := p.Name, api.ErrorCode()
	if !errorCode.MatchString(code) {
		code = "an unknown error"
	}
	msg := clean.Line(clean.Redact(api.ErrorMessage(), p.secrets()...), 300)
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(cause, &re) {
		status = re.HTTPStatusCode()
	}
	svc := service(cause)
	e := func(kind error, format string, args ...any) error {
		return broker.Errorf(kind, name, format, args...).WithCause(cause)
	}
	temporary := func(format string, args ...any) error {
		return broker.Errorf(broker.ErrSourceFailed, name, format, args...).WithCause(errors.Join(broker.ErrTemporary, cause))
	}
	switch {
	case code == "AccessDenied" || code == "AccessDeniedException":
		return e(broker.ErrAccessDenied, "profile %s: %s denied the request (%s): %s; check the role's trust policy and the profile's role_arn", name, svc, code, msg)
	case code == "InvalidClientTokenId" || code == "UnrecognizedClientException" || code == "ExpiredToken" || code == "ExpiredTokenException":
		return e(broker.ErrNoCredentials, "profile %s: AWS rejected the source credentials (%s: %s); %s", name, code, msg, p.fixSourceCredentials())
	case code == "SignatureDoesNotMatch" || code == "RequestExpired" || code == "InvalidSignatureException":
		if skew, at := r.ClockSkew(); !at.IsZero() && (skew >= broker.MaxClockSkew || skew <= -broker.MaxClockSkew) {
			return e(broker.ErrClockSkew, "profile %s: AWS refused the request (%s): %s", name, code, SkewMessage(skew, at))
		}
		return e(broker.ErrNoCredentials, "profile %s: AWS rejected the signature (%s: %s); check the secret key, and that this machine's clock is right", name, code, msg)
	case code == "InvalidIdentityToken" || code == "IDPRejectedClaim" || code == "IDPCommunicationError":
		return e(broker.ErrSourceFailed, "profile %s: STS rejected the web identity token (%s: %s); refresh the token file", name, code, msg)
	case code == "RegionDisabledException":
		return e(broker.ErrAccessDenied, "profile %s: STS is not activated in this region (%s); activate it in IAM or use another region", name, msg)
	case code == "ValidationError":
		return e(broker.ErrInvalidRequest, "profile %s: STS refused the request: %s; check duration_seconds and role_session_name", name, msg)
	case throttling[code] || status == 429:
		return temporary("profile %s: %s is throttling requests (HTTP %d, %s); codecommitd tries again by itself, or run the command again in a minute", name, svc, status, code)
	case status >= 500:
		return temporary("profile %s: %s failed (HTTP %d, %s: %s); the fault is on AWS's side: codecommitd tries again by itself, or run the command again in a minute", name, svc, status, code, msg)
	}
	if status != 0 {
		return e(broker.ErrSourceFailed, "profile %s: %s refused the request (HTTP %d, %s: %s)", name, svc, status, code, msg)
	}
	return e(broker.ErrSourceFailed, "profile %s: %s refused the request (%s: %s)", name, svc, code, msg)
}

// fixSourceCredentials says where the credentials AWS rejected come from,
// and how to replace them: the keys of the profile at the end of the
// source_profile chain (naming the section and file that hold them), the
// caller's environment, or that profile's credential_process.
func (p *Profile) fixSourceCredentials() string {
	const env = "they are AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment git runs in: set valid ones"
	end := p.chainEnd()
	switch {
	case p.usesEnvCredentials():
		return env
	case end.CredentialSource == "Environment":
		return env + " (profile " + end.Profile + " has credential_source = Environment)"
	case p.keysAt != "":
		return fmt.Sprintf("they are the keys in %s: update them there, e.g. with `aws configure --profile %s`", clean.Line(p.keysAt, 300), end.Profile)
	case end.CredentialProcess != "":
		return "they come from the credential_process of profile " + end.Profile + ": run it yourself to see what it prints"
	}
	return fmt.Sprintf("update them, e.g. with `aws configure --profile %s`", orSomething(end.Profile, p.Name))
}

// service names the AWS service an SDK error came from.
func service(err error) string {
	var op *smithy.OperationError
	if errors.As(err, &op) {
		switch op.Service() {
		case "STS":
			return "AWS STS"
		case "SSO", "SSO OIDC":
			return "AWS IAM Identity Center (SSO)"
		case "Signin":
			return "the AWS sign-in service"
		}
	}
	return "AWS"
}

// NetworkCause says in a few words why a connection to a server failed
// (the name that did not resolve, the address that refused, the certificate
// that is not trusted, the proxy) and what to do, for messages outside a
// credential fetch (doctor's clock check).
func NetworkCause(err error) (what, fix string) {
	if c, ok := networkCause(err); ok {
		return c.what, c.fix
	}
	return clean.Line(sdkJargon.ReplaceAllString(err.Error(), ""), 160), ""
}

// cause is the essential part of a network failure and its fix.
type cause struct{ what, fix string }

const fixEndpoint = "check the network connection, or the daemon's proxy and AWS_ENDPOINT_URL_* settings (`codecommitd doctor` shows them)"

// networkCause reduces a failure to reach a server to what matters: the
// name that did not resolve, the address that refused or did not answer,
// the certificate that is not trusted, the proxy that failed.
func networkCause(err error) (cause, bool) {
	host := ""
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
	}
	var dns *net.DNSError
	var op *net.OpError
	hasOp := errors.As(err, &op)
	addr := host
	if hasOp && op.Addr != nil && host == "" {
		addr = op.Addr.String()
	}
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	var netErr net.Error
	switch {
	case hasOp && op.Op == "proxyconnect":
		return cause{fmt.Sprintf("%s cannot be reached (%s)", proxyName(op.Err), errnoText(op.Err)),
			"check the daemon's HTTPS_PROXY and NO_PROXY (`codecommitd doctor` shows them)"}, true
	case errors.As(err, &dns):
		why := "lookup failed"
		switch {
		case dns.IsNotFound:
			why = "no such host"
		case dns.IsTimeout:
			why = "the DNS server did not answer"
		}
		return cause{fmt.Sprintf("%s does not resolve (DNS: %s)", clean.Line(dns.Name, 100), why), fixEndpoint}, true
	case errors.Is(err, syscall.ECONNREFUSED):
		return cause{orSomething(addr, "the server") + " refused the connection", fixEndpoint}, true
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return cause{orSomething(addr, "the server") + " is unreachable (no route)", fixEndpoint}, true
	case errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &invalid), errors.As(err, &verify):
		return cause{"the TLS certificate of " + orSomething(host, "the server") + " is not trusted",
			"if a proxy inspects TLS here, give the daemon its CA certificate with AWS_CA_BUNDLE"}, true
	case errors.As(err, &record):
		return cause{orSomething(host, "the server") + " does not speak TLS", fixEndpoint}, true
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return cause{orSomething(host, "the server") + " did not answer in time", "check the network connection; codecommitd tries again by itself"}, true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return cause{"the connection to " + orSomething(host, "the server") + " broke", "check the network connection; codecommitd tries again by itself"}, true
	}
	return cause{}, false
}

// proxyName names the proxy of a "proxyconnect" failure whose cause is
// err: net/http gives that error no address, but its cause has the address
// it dialled, or the name that did not resolve. Neither can hold the
// proxy's user or password; it goes through clean.RedactURL all the same,
// as every proxy value shown does.
func proxyName(err error) string {
	var dial *net.OpError
	var dns *net.DNSError
	addr := ""
	switch {
	case errors.As(err, &dial) && dial.Addr != nil:
		addr = dial.Addr.String()
	case errors.As(err, &dns):
		addr = dns.Name
	}
	if addr == "" || addr[0] == ':' { // ":0": a proxy URL Go read without a host
		return "the proxy"
	}
	return "the proxy at " + clean.RedactURL(clean.Line(addr, 100))
}

func orSomething(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return clean.Line(s, 100)
}

// errnoText names a system call failure briefly.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "its name does not resolve"
	}
	return "it does not answer"
}

// unreadable says, from what the file system reports, why path cannot be
// read as a file.
func unreadable(path string) string {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err.Error()
		}
		return "cannot be opened"
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return "not a regular file: a " + kind(fi.Mode())
	}
	return "cannot be read"
}
