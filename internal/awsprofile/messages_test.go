package awsprofile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// jargon is what no message a person reads may hold.
var jargon = []string{"operation error", "https response error", "StatusCode: 0", "RequestID", "request send failed",
	"rpc error", "desc =", "transport:", "failed to refresh cached credentials", "<nil>"}

// classify resolves profile dev of the world (or, when env names a profile
// or holds keys, what they decide) and fetches its credentials with STS at
// endpoint, and returns the world's home folder and the error as a person
// would read it. (SSO and `aws login` profiles: TestSSOMessages,
// TestLoginSessionMessages.)
func classify(t *testing.T, endpoint, config, credentials string, env map[string]string) (home string, err error) {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL_STS", endpoint)
	t.Setenv("AWS_ENDPOINT_URL_SSO", endpoint)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	home = writeFiles(t, config, credentials)
	r := newResolver(t)
	ctx := context.Background()
	reqEnv := map[string]string{"HOME": home}
	for k, v := range env {
		reqEnv[k] = v
	}
	urlProfile := "dev"
	if _, ok := env["AWS_PROFILE"]; ok || env["AWS_ACCESS_KEY_ID"] != "" {
		urlProfile = ""
	}
	p, err := r.Resolve(ctx, urlProfile, reqEnv)
	if err != nil {
		return home, err
	}
	prov, err := r.Chain(ctx, p, "us-east-1", nil)
	if err == nil {
		_, err = prov.Retrieve(ctx)
	}
	if err == nil {
		t.Fatal("no error")
	}
	return home, r.Classify(p, err)
}

// TestMessagesByFailureClass fetches credentials through the real SDK while
// each kind of failure happens, and checks the exact message: what failed,
// for which profile, the essential cause, the fix; no SDK or gRPC jargon.
func TestMessagesByFailureClass(t *testing.T) {
	sts := fakests.New()
	defer sts.Close()
	u := sts.AddUser("alice")
	role := sts.AddRole(fakests.Role{ARN: "Dev"})
	roleCfg := "[profile base]\n[profile dev]\nrole_arn = " + role + "\nsource_profile = base\nregion = us-east-1\n"
	roleCreds := "[base]\naws_access_key_id = " + u.AccessKeyID + "\naws_secret_access_key = " + u.SecretAccessKey + "\n"

	refusedAddr := testprobe.RefusingAddr(t)
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	defer untrusted.Close()
	untrustedHost := strings.TrimPrefix(untrusted.URL, "https://")
	const fixNetwork = "check the network connection, or the daemon's proxy and AWS_ENDPOINT_URL_* settings (`codecommitd doctor` shows them)"

	for _, tc := range []struct {
		name     string
		endpoint string
		fault    *fakests.Fault
		setup    func(t *testing.T) (config, credentials string)
		kind     error
		want     string
	}{
		{"DNS failure", "https://sts.codecommitd-test.invalid", nil, nil, broker.ErrSourceFailed,
			"cannot reach AWS STS for profile dev: sts.codecommitd-test.invalid does not resolve (DNS: no such host); " + fixNetwork},
		{"connection refused", "https://" + refusedAddr, nil, nil, broker.ErrSourceFailed,
			"cannot reach AWS STS for profile dev: " + refusedAddr + " refused the connection; " + fixNetwork},
		{"TLS certificate not trusted", untrusted.URL, nil, nil, broker.ErrSourceFailed,
			"cannot reach AWS STS for profile dev: the TLS certificate of " + untrustedHost + " is not trusted; if a proxy inspects TLS here, give the daemon its CA certificate with AWS_CA_BUNDLE"},
		{"AccessDenied", sts.URL, &fakests.Fault{Status: 403, Code: "AccessDenied", Message: "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: " + role}, nil, broker.ErrAccessDenied,
			"profile dev: AWS STS denied the request (AccessDenied): User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: " + role + "; check the role's trust policy and the profile's role_arn"},
		{"InvalidClientTokenId", sts.URL, &fakests.Fault{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}, nil, broker.ErrNoCredentials,
			"profile dev: AWS rejected the source credentials (InvalidClientTokenId: The security token included in the request is invalid.); they are the keys in [base] in ~/.aws/credentials: update them there, e.g. with `aws configure --profile base`"},
		{"ValidationError", sts.URL, &fakests.Fault{Status: 400, Code: "ValidationError", Message: "1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint"}, nil, broker.ErrInvalidRequest,
			"profile dev: STS refused the request: 1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint; check duration_seconds and role_session_name"},
		{"STS 5xx", sts.URL, &fakests.Fault{Status: 503, Code: "ServiceUnavailable", Message: "Service is unavailable."}, nil, broker.ErrTemporary,
			"profile dev: AWS STS failed (HTTP 503, ServiceUnavailable: Service is unavailable.); the fault is on AWS's side: codecommitd tries again by itself, or run the command again in a minute"},
		{"throttling", sts.URL, &fakests.Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded"}, nil, broker.ErrTemporary,
			"profile dev: AWS STS is throttling requests (HTTP 400, Throttling); codecommitd tries again by itself, or run the command again in a minute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if host, ok := strings.CutPrefix(tc.endpoint, "https://"); ok && strings.HasSuffix(host, ".invalid") {
				testprobe.RequireNXDOMAIN(t, host) // TestDNSFailuresAreNamed covers every machine
			}
			config, credentials := roleCfg, roleCreds
			if tc.setup != nil {
				config, credentials = tc.setup(t)
			}
			if tc.fault != nil {
				sts.SetOutage(tc.fault)
				defer sts.SetOutage(nil)
			}
			home, err := classify(t, tc.endpoint, config, credentials, nil)
			if !errors.Is(err, tc.kind) {
				t.Errorf("kind: %v, want %v", err, tc.kind)
			}
			if got := strings.ReplaceAll(err.Error(), home, "~"); got != tc.want {
				t.Errorf("message\n got: %s\nwant: %s", got, tc.want)
			}
			for _, j := range jargon {
				if strings.Contains(err.Error(), j) {
					t.Errorf("message holds %q", j)
				}
			}
		})
	}
}

// TestRejectedKeysAreNamedWhereTheyLive: when AWS rejects the credentials
// a role is assumed from, the message names the profile at the end of the
// source_profile chain and the section and file that hold its keys (the
// credentials file winning over the config file, as in the SDK), or the
// environment, or the credential_process, whichever gave them.
func TestRejectedKeysAreNamedWhereTheyLive(t *testing.T) {
	sts := fakests.New()
	defer sts.Close()
	u := sts.AddUser("alice")
	role := sts.AddRole(fakests.Role{ARN: "Dev"})
	keys := "aws_access_key_id = " + u.AccessKeyID + "\naws_secret_access_key = " + u.SecretAccessKey + "\n"
	devRole := "[profile dev]\nrole_arn = " + role + "\nregion = us-east-1\n"
	const prefix = "profile dev: AWS rejected the source credentials (InvalidClientTokenId: The security token included in the request is invalid.); "
	for _, tc := range []struct {
		name, config, credentials string
		env                       map[string]string
		want                      string
	}{
		{"keys in the config file", devRole + "source_profile = badkeys\n[profile badkeys]\n" + keys, "",
			nil, "they are the keys in [profile badkeys] in ~/.aws/config: update them there, e.g. with `aws configure --profile badkeys`"},
		{"keys in both files: the credentials file's are used", devRole + "source_profile = badkeys\n[profile badkeys]\n" + keys, "[badkeys]\n" + keys,
			nil, "they are the keys in [badkeys] in ~/.aws/credentials: update them there, e.g. with `aws configure --profile badkeys`"},
		{"a chain of two roles", devRole + "source_profile = mid\n[profile mid]\nrole_arn = " + role + "\nsource_profile = root\n", "[root]\n" + keys,
			nil, "they are the keys in [root] in ~/.aws/credentials: update them there, e.g. with `aws configure --profile root`"},
		{"keys of the default profile", devRole + "source_profile = default\n[default]\n" + keys, "",
			nil, "they are the keys in [default] in ~/.aws/config: update them there, e.g. with `aws configure --profile default`"},
		{"credential_source = Environment", devRole + "credential_source = Environment\n", "",
			map[string]string{"AWS_PROFILE": "dev", "AWS_ACCESS_KEY_ID": u.AccessKeyID, "AWS_SECRET_ACCESS_KEY": u.SecretAccessKey},
			"they are AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment git runs in: set valid ones (profile dev has credential_source = Environment)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts.SetOutage(&fakests.Fault{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."})
			defer sts.SetOutage(nil)
			home, err := classify(t, sts.URL, tc.config, tc.credentials, tc.env)
			if !errors.Is(err, broker.ErrNoCredentials) {
				t.Errorf("kind: %v, want ErrNoCredentials", err)
			}
			if got := strings.ReplaceAll(err.Error(), home, "~"); got != prefix+tc.want {
				t.Errorf("message\n got: %s\nwant: %s", got, prefix+tc.want)
			}
			if strings.Contains(err.Error(), u.SecretAccessKey) {
				t.Error("the message holds the secret key")
			}
		})
	}
}

// TestClockSkewIsNamed: the SDK corrects its own requests for a skewed
// clock, but when AWS still refuses a signature and the last answer's Date
// showed the skew, the message names the clock as the cause.
func TestClockSkewIsNamed(t *testing.T) {
	r := newResolver(t)
	now := time.Now()
	r.skew.observe(now.Add(7*time.Minute), now)
	err := r.Classify(&Profile{Name: "dev"}, &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRole",
		Err: &smithy.GenericAPIError{Code: "SignatureDoesNotMatch", Message: "Signature expired"}})
	if !errors.Is(err, broker.ErrClockSkew) || !strings.HasPrefix(err.Error(), "profile dev: AWS refused the request (SignatureDoesNotMatch): this machine's clock is 7m0s behind AWS's") ||
		!strings.Contains(err.Error(), "fix the clock (NTP") {
		t.Fatalf("err = %v", err)
	}
}

// TestProxyFailureIsNamed classifies the errors net/http gives for a proxy
// that cannot be reached (a client of its own: Go reads the proxy variables
// once per process): the message names the proxy by its address, or the
// name that did not resolve, and never its password.
func TestProxyFailureIsNamed(t *testing.T) {
	const pw = "Sup3rS3cret"
	const fix = "; check the daemon's HTTPS_PROXY and NO_PROXY (`codecommitd doctor` shows them)"
	refused := testprobe.RefusingAddr(t)
	for _, tc := range []struct{ proxy, want string }{
		{"http://user:" + pw + "@" + refused, "cannot reach AWS STS for profile dev: the proxy at " + refused + " cannot be reached (connection refused)" + fix},
		{"socks5://user:" + pw + "@" + refused, "cannot reach AWS STS for profile dev: the proxy at " + refused + " cannot be reached (connection refused)" + fix},
		{"http://user:" + pw + "@proxy.codecommitd-test.invalid:3128", "cannot reach AWS STS for profile dev: the proxy at proxy.codecommitd-test.invalid cannot be reached (its name does not resolve)" + fix},
		// A '#' not percent-encoded: Go reads scheme "user" and no host, and dials ":0".
		{"user:Sup3r#S3cret@" + refused, "cannot reach AWS STS for profile dev: the proxy cannot be reached (connection refused)" + fix},
	} {
		t.Run(tc.proxy, func(t *testing.T) {
			u, err := url.Parse(tc.proxy)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(u.Hostname(), ".invalid") {
				testprobe.RequireNXDOMAIN(t, u.Hostname())
			}
			c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
			resp, err := c.Post("https://sts.us-east-1.amazonaws.com/", "text/plain", nil)
			if err == nil {
				resp.Body.Close()
				t.Fatal("the request through a proxy that is not there succeeded")
			}
			err = &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRole", Err: fmt.Errorf("request send failed, %w", err)}
			got := (&Resolver{}).Classify(&Profile{Name: "dev"}, err)
			if got.Error() != tc.want || !errors.Is(got, broker.ErrTemporary) {
				t.Fatalf("message\n got: %s\nwant: %s", got, tc.want)
			}
			what, _ := NetworkCause(err)
			if strings.Contains(got.Error()+what, "Sup3r") || strings.Contains(got.Error()+what, "S3cret") {
				t.Fatalf("the password shows: %s / %s", got, what)
			}
		})
	}
}

// TestDNSFailuresAreNamed gives Classify the errors Go's resolver returns,
// as the SDK wraps them, whatever this machine's DNS does.
func TestDNSFailuresAreNamed(t *testing.T) {
	const fix = "; check the network connection, or the daemon's proxy and AWS_ENDPOINT_URL_* settings (`codecommitd doctor` shows them)"
	for _, tc := range []struct {
		dns  *net.DNSError
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "sts.example.invalid", IsNotFound: true},
			"cannot reach AWS STS for profile dev: sts.example.invalid does not resolve (DNS: no such host)" + fix},
		{&net.DNSError{Err: "i/o timeout", Name: "sts.us-east-1.amazonaws.com", Server: "10.0.0.2:53", IsTimeout: true},
			"cannot reach AWS STS for profile dev: sts.us-east-1.amazonaws.com does not resolve (DNS: the DNS server did not answer)" + fix},
		{&net.DNSError{Err: "server misbehaving", Name: "sts.us-east-1.amazonaws.com", Server: "10.0.0.2:53", IsTemporary: true},
			"cannot reach AWS STS for profile dev: sts.us-east-1.amazonaws.com does not resolve (DNS: lookup failed)" + fix},
	} {
		inner := &url.Error{Op: "Post", URL: "https://" + tc.dns.Name + "/",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: tc.dns}}
		err := &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRole", Err: fmt.Errorf("request send failed, %w", inner)}
		got := (&Resolver{}).Classify(&Profile{Name: "dev"}, err)
		if got.Error() != tc.want || !errors.Is(got, broker.ErrTemporary) {
			t.Errorf("%s:\n got: %s\nwant: %s", tc.dns.Err, got, tc.want)
		}
	}
}
