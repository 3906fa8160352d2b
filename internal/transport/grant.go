package transport

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/internal/codecommit"
)

// CapabilityHeader is the header that carries a capability on every
// request git sends to the loopback URL.
const CapabilityHeader = "X-Codecommitd-Capability"

// ErrInvalidGrant is wrapped by Grant's error for a Grant the caller built
// wrong (no repository, no signer, a host that is not host[:port]): a bug,
// not a setting a user can fix.
var ErrInvalidGrant = errors.New("invalid grant")

// Grant is what one git operation may reach through the transport: one
// repository on one endpoint, signed for one profile, with git's http
// settings for the repository's https URL.
type Grant struct {
	// Repository is the CodeCommit repository name.
	Repository string
	// Host is the endpoint's host[:port] exactly as it is signed for:
	// the Host of every upstream request.
	Host string
	// Region and Profile are what the Signer signs for; they name the
	// grant in messages and logs.
	Region, Profile string
	// Signer signs every upstream request of the grant.
	Signer Signer
	// Upstream is git's http settings for the repository's URL.
	Upstream Upstream
	// Expires, when set, ends the capability then if it was not revoked
	// before.
	Expires time.Time
}

// Upstream is what git would have used to reach the repository's https
// URL: the helper sends git's effective values for that URL. The zero
// value is a direct connection that trusts the transport's roots.
type Upstream struct {
	// Proxy is the proxy git would use (http.proxy, else HTTPS_PROXY,
	// https_proxy or ALL_PROXY): [scheme://][user:password@]host[:port],
	// with scheme http (the default, as curl's), https, socks5 or socks5h.
	// "" connects directly.
	Proxy string
	// NoProxy is NO_PROXY (or no_proxy) as curl reads it: host names and
	// addresses, with or without a leading dot, separated by commas; "*"
	// for every host.
	NoProxy string
	// CAInfo is the PEM content of the CA file git would trust
	// (http.sslCAInfo, GIT_SSL_CAINFO). Empty: Config.RootCAs.
	CAInfo []byte
	// NoVerify reports whether git would not verify the server
	// (http.sslVerify false, GIT_SSL_NO_VERIFY): Grant refuses it.
	NoVerify bool
	// LowSpeedLimit and LowSpeedTime are http.lowSpeedLimit (bytes per
	// second) and http.lowSpeedTime: an exchange slower than the limit for
	// that long is aborted. Either zero: no limit.
	LowSpeedLimit int64
	LowSpeedTime  time.Duration
	// UserAgent is http.userAgent; "" sends git's own User-Agent.
	UserAgent string
}

// Capability is what git needs to use a grant. Header is a secret: it
// redacts itself in logs and fmt output.
type Capability struct {
	// URL is the loopback URL of the repository,
	// http://127.0.0.1:<port>/v1/repos/<repository>.
	URL string
	// Header is the header line git must send on every request to URL:
	// CapabilityHeader, ": " and 256 random bits in base64url.
	Header string
}

// String keeps the header out of fmt's %v and %s.
func (c Capability) String() string { return "Capability{" + c.URL + "}" }

// GoString keeps the header out of fmt's %#v.
func (c Capability) GoString() string { return c.String() }

// LogValue keeps the header out of logs.
func (c Capability) LogValue() slog.Value { return slog.StringValue(c.URL) }

// Signer signs upstream requests. The daemon implements it with its
// credential manager, one per grant.
type Signer interface {
	// Sign returns the Authorization header value for one request to host
	// (the grant's Host) and path (/v1/repos/<repository>). An error that
	// is a *SignError is shown to git as it says; any other is logged and
	// git is told that signing failed.
	Sign(ctx context.Context, host, path string) (string, error)
}

// SignError is a Signer's failure with a message for the user.
type SignError struct {
	// Msg is complete and on one line: what failed, for which profile,
	// and what to do. It never holds a secret.
	Msg string
	// Err is the cause, for errors.Is and errors.As; it is not shown.
	Err error
}

func (e *SignError) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *SignError) Unwrap() error { return e.Err }

// SettingError is Grant's refusal of a git setting: Setting names it
// ("http.sslVerify"), Msg says why and what to do.
type SettingError struct {
	Setting string
	Msg     string
}

func (e *SettingError) Error() string { return e.Msg }

// grant is a live capability.
type grant struct {
	Grant
	token  [tokenBytes]byte // the capability's random bits
	sum    [sha256.Size]byte
	pool   *pool
	up     upstreamSettings
	path   string // /v1/repos/<repository>
	revoke func()
}

const tokenBytes = 32

// Grant makes a capability for g, and starts dialing g's endpoint. The
// capability ends when revoke is called or ctx ends, whichever comes
// first, or at g.Expires; requests already under way may finish. The error
// is a *SettingError for a git setting codecommitd will not work with,
// and wraps ErrInvalidGrant for a g built wrong.
func (t *Transport) Grant(ctx context.Context, g Grant) (Capability, func(), error) {
	if err := codecommit.ValidateRepositoryName(g.Repository); err != nil {
		return Capability{}, nil, fmt.Errorf("%w: %w", ErrInvalidGrant, err)
	}
	if err := codecommit.ValidateEndpointOverride(g.Host); err != nil {
		return Capability{}, nil, fmt.Errorf("%w: the host is not host[:port]", ErrInvalidGrant)
	}
	if g.Signer == nil {
		return Capability{}, nil, fmt.Errorf("%w: no signer", ErrInvalidGrant)
	}
	up, err := t.settings(g)
	if err != nil {
		return Capability{}, nil, err
	}
	gr := &grant{Grant: g, up: up, path: codecommit.RepositoryPath(g.Repository)}
	if _, err := rand.Read(gr.token[:]); err != nil {
		return Capability{}, nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(gr.token[:])
	gr.sum = sha256.Sum256([]byte(token))

	t.mu.Lock()
	gr.pool = t.poolLocked(up)
	gr.pool.addGrant(1)
	t.grants[gr.sum] = gr
	t.mu.Unlock()

	// The capability also ends with ctx; revoke drops that watch. stop is
	// set once AfterFunc returns, which may be after it ran revoke.
	var mu sync.Mutex
	var stop func() bool
	gr.revoke = sync.OnceFunc(func() {
		mu.Lock()
		if stop != nil {
			stop()
		}
		mu.Unlock()
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.grants[gr.sum] == gr {
			delete(t.grants, gr.sum)
			gr.pool.addGrant(-1)
			select {
			case t.revoked <- struct{}{}:
			default:
			}
		}
	})
	mu.Lock()
	stop = context.AfterFunc(ctx, gr.revoke)
	mu.Unlock()
	gr.pool.prewarm()
	return Capability{URL: t.base + gr.path, Header: CapabilityHeader + ": " + token}, gr.revoke, nil
}

// refusal is why a request was not forwarded: what the log says and what
// the peer is told.
type refusal struct {
	status int
	reason string // for the log
	msg    string // for the peer
}

// noCapability is what a peer without a usable capability is told; the
// log says which it was.
const noCapability = "this request carries no valid capability (it is missing, wrong, or ended with the git-remote-codecommit that received it); " +
	"use a codecommit:// URL, not the daemon's loopback URL"

// lookup returns the live grant whose capability header value is token.
func (t *Transport) lookup(token string) (*grant, *refusal) {
	if token == "" {
		return nil, &refusal{403, "no capability", noCapability}
	}
	sum := sha256.Sum256([]byte(token))
	t.mu.Lock()
	g := t.grants[sum]
	t.mu.Unlock()
	// The map is keyed by a digest, so how long a lookup takes says
	// nothing about the token; the token itself is compared in constant
	// time all the same.
	var want [tokenBytes]byte
	if g != nil {
		want = g.token
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	if g == nil || err != nil || subtle.ConstantTimeCompare(want[:], got) != 1 {
		return nil, &refusal{403, "unknown or revoked capability", noCapability}
	}
	if !g.Expires.IsZero() && !t.cfg.Now().Before(g.Expires) {
		g.revoke()
		return nil, &refusal{403, "expired capability", noCapability}
	}
	return g, nil
}
