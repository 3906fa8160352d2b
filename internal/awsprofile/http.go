package awsprofile

import (
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Bounds on every call to AWS (STS, SSO, sign-in), so an endpoint that
// does not answer fails a request in seconds, not minutes: connecting,
// the TLS handshake and the wait for an answer are each bounded, one
// attempt is bounded as a whole, and a failed attempt is retried once.
const (
	DialTimeout      = 3 * time.Second
	TLSTimeout       = 5 * time.Second
	AnswerTimeout    = 8 * time.Second
	AttemptTimeout   = 10 * time.Second
	MaxAttempts      = 2
	MaxRetryBackoff  = time.Second
	idleConnsPerHost = 4
)

// newHTTPClient is the HTTP client every AWS call of a Resolver shares.
func newHTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithTimeout(AttemptTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = DialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = TLSTimeout
			t.ResponseHeaderTimeout = AnswerTimeout
			t.MaxIdleConnsPerHost = idleConnsPerHost
		})
}

// newRetryer retries a failed AWS call once, soon.
func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxRetryBackoff
	})
}

// httpClient is the Resolver's shared client, made on first use: over
// Transport when it is set.
func (r *Resolver) httpClient() aws.HTTPClient {
	r.httpOnce.Do(func() {
		if r.Transport != nil {
			r.http = &http.Client{Transport: r.Transport, Timeout: AttemptTimeout}
			return
		}
		r.http = newHTTPClient()
	})
	return r.http
}
