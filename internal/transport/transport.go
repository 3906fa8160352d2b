package transport

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sort"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/internal/clean"
)

// DefaultIdleTimeout is how long an upstream connection is kept after its
// last request unless Config.IdleTimeout says otherwise.
const DefaultIdleTimeout = 10 * time.Minute

// Config configures a Transport. The zero value is usable.
type Config struct {
	// Logger receives the transport's lines (component=transport); nil:
	// none.
	Logger *slog.Logger
	// IdleTimeout is how long an upstream connection is kept after its
	// last request; default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// PingInterval is how long an HTTP/2 connection may stay silent before
	// it is sent a PING (answered within 15 s, or it is closed); default
	// 1 minute.
	PingInterval time.Duration
	// DialTimeout bounds connecting (TCP, and the proxy's CONNECT) and the
	// TLS handshake, each; default 30 s.
	DialTimeout time.Duration
	// DrainTimeout is how long Run lets the git operations under way
	// finish once its context ends (until their grants are revoked, and
	// their requests have ended); default 30 s.
	DrainTimeout time.Duration
	// RootCAs are trusted for a grant whose Upstream names no CA file;
	// nil: the system's roots.
	RootCAs *x509.CertPool
	// Now is the clock of capability expiry and connection times; default
	// time.Now.
	Now func() time.Time
}

// CheckAndSetDefaults fills in the defaults and checks the values.
func (c *Config) CheckAndSetDefaults() error {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Logger = c.Logger.With("component", "transport")
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
		n   string
	}{
		{&c.IdleTimeout, DefaultIdleTimeout, "IdleTimeout"},
		{&c.PingInterval, time.Minute, "PingInterval"},
		{&c.DialTimeout, 30 * time.Second, "DialTimeout"},
		{&c.DrainTimeout, 30 * time.Second, "DrainTimeout"},
	} {
		switch {
		case *d.v < 0:
			return fmt.Errorf("transport: %s %s is negative", d.n, *d.v)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Transport is the git transport. Its methods may be called concurrently.
type Transport struct {
	cfg     Config
	ln      net.Listener
	base    string // http://127.0.0.1:<port>
	proxy   *httputil.ReverseProxy
	refused refusals

	// ctx ends when Run returns: it ends prewarm dials; wg counts them.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	grants map[[sha256.Size]byte]*grant
	pools  map[poolKey]*pool
	// revoked is signalled when a grant is revoked.
	revoked chan struct{}
}

// New makes a transport listening on a free port of 127.0.0.1. Run serves
// it; until then connections wait.
func New(cfg Config) (*Transport, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the git transport cannot listen on 127.0.0.1: %w", err)
	}
	t := &Transport{
		cfg:     cfg,
		ln:      ln,
		base:    "http://" + ln.Addr().String(),
		grants:  map[[sha256.Size]byte]*grant{},
		pools:   map[poolKey]*pool{},
		revoked: make(chan struct{}, 1),
	}
	t.refused.init(cfg.Now)
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.proxy = &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      upstream{t},
		FlushInterval:  -1, // git's answers stream: every write goes on at once
		ModifyResponse: t.checkResponse,
		ErrorHandler:   t.failed,
		ErrorLog:       stdLog(cfg.Logger, slog.LevelDebug), // failed says what matters, in our words
	}
	return t, nil
}

// String names the service.
// Close releases a Transport that will not be Run (its maker failed
// after New): it closes the loopback listener. Run closes everything
// itself.
func (t *Transport) Close() error { return t.ln.Close() }

func (t *Transport) String() string { return "git transport on " + t.ln.Addr().String() }

// Run serves the transport until ctx ends, then drains it for at most
// DrainTimeout: it goes on serving the grants in use until they are
// revoked (their git operations ended), then stops accepting and lets the
// requests under way finish; it cuts what is left at the bound, closes
// every upstream connection and returns nil. Call it once.
func (t *Transport) Run(ctx context.Context) error {
	var handlers sync.WaitGroup
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers.Add(1)
			defer handlers.Done()
			t.serve(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    hardHeaderBytes,
		ConnContext:       withPeer,
		ErrorLog:          stdLog(t.cfg.Logger, slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(t.ln) }()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		drain, cancel := context.WithTimeout(context.Background(), t.cfg.DrainTimeout)
		t.awaitRevoked(drain)
		if srv.Shutdown(drain) != nil {
			t.cfg.Logger.WarnContext(drain, "git transfers still under way after the drain time were cut", "drain", t.cfg.DrainTimeout)
			_ = srv.Close()
		}
		cancel()
		err = <-served
	}
	t.cancel()
	t.mu.Lock()
	pools := make([]*pool, 0, len(t.pools))
	for _, p := range t.pools {
		pools = append(pools, p)
	}
	t.mu.Unlock()
	for _, p := range pools {
		p.close()
	}
	handlers.Wait()
	t.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("the git transport stopped serving: %w", err)
}

// awaitRevoked returns once no grant is live, or ctx ends.
func (t *Transport) awaitRevoked(ctx context.Context) {
	for {
		t.mu.Lock()
		n := len(t.grants)
		t.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-t.revoked:
		case <-ctx.Done():
			t.cfg.Logger.WarnContext(ctx, "git operations still under way after the drain time are cut", "operations", n, "drain", t.cfg.DrainTimeout)
			return
		}
	}
}

// poolLocked returns the pool for s, making it if needed and dropping
// pools nobody uses any more; t.mu is held.
func (t *Transport) poolLocked(s upstreamSettings) *pool {
	for k, p := range t.pools {
		if k != s.key && p.unused() {
			delete(t.pools, k)
		}
	}
	p := t.pools[s.key]
	if p == nil {
		p = newPool(t.ctx, &t.wg, &t.cfg, s)
		t.pools[s.key] = p
	}
	return p
}

// Status describes a transport.
type Status struct {
	// URL is where the transport listens, http://127.0.0.1:<port>.
	URL string
	// Grants is how many capabilities are live.
	Grants int
	// Conns are the upstream connections, oldest first.
	Conns []ConnStatus
}

// ConnStatus describes one upstream connection.
type ConnStatus struct {
	// Host is the endpoint, host:port.
	Host string
	// Proxy is the proxy it goes through, its user and password redacted;
	// "" for none.
	Proxy string
	// Protocol is "h2" or "http/1.1".
	Protocol string
	// Opened is when it was opened, LastUsed when a request last started
	// or ended on it.
	Opened, LastUsed time.Time
	// InFlight is how many requests it carries now.
	InFlight int
	// Requests is how many it has carried.
	Requests int64
}

// Status reports the listener, the live grants and every upstream
// connection.
func (t *Transport) Status() Status {
	now := t.cfg.Now()
	t.mu.Lock()
	st := Status{URL: t.base}
	for _, g := range t.grants {
		if g.Expires.IsZero() || now.Before(g.Expires) {
			st.Grants++
		}
	}
	pools := make([]*pool, 0, len(t.pools))
	for _, p := range t.pools {
		pools = append(pools, p)
	}
	t.mu.Unlock()
	for _, p := range pools {
		st.Conns = append(st.Conns, p.status()...)
	}
	sort.SliceStable(st.Conns, func(i, j int) bool { return st.Conns[i].Opened.Before(st.Conns[j].Opened) })
	return st
}

// stdLog is a log.Logger for net/http's own lines, written to l at level,
// one line each, cleaned (they may quote what a peer sent).
func stdLog(l *slog.Logger, level slog.Level) *log.Logger {
	return log.New(logWriter{l, level}, "", 0)
}

type logWriter struct {
	l     *slog.Logger
	level slog.Level
}

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Log(context.Background(), w.level, "net/http: "+clean.Line(clean.Redact(string(p)), 300))
	return len(p), nil
}
