package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/internal/clean"
)

// maxConns bounds the connections of one pool: HTTP/1.1 carries one
// request at a time, and this many git processes at once is a burst.
const maxConns = 32

// Protocols a connection speaks, as ALPN names them.
const (
	protoH2    = "h2"
	protoHTTP1 = "http/1.1"
)

var errClosed = errors.New("the git transport is stopping")

// pool is the connections to one endpoint through one proxy with one CA
// set. net/http makes each connection (Transport.NewClientConn: TCP, the
// proxy's CONNECT, TLS, ALPN) and carries requests on it; the pool decides
// which connection a request takes, opens one when none is free (on
// HTTP/2, or before the protocol is known, one dial at a time, which every
// request waits for), and closes one idle for too long.
type pool struct {
	key  poolKey
	tr   *http.Transport
	cfg  *Config
	ctx  context.Context // the transport's: ends dials when it stops
	wg   *sync.WaitGroup // the transport's: prewarm dials
	host string          // for messages: the endpoint, host:port

	mu      sync.Mutex
	conns   []*conn
	dialing int
	proto   string        // of the last connection made; "" before the first
	wake    chan struct{} // closed, and replaced, when a request may find a connection free
	grants  int
	closed  bool
}

// conn is one upstream connection.
type conn struct {
	p      *pool
	cc     *http.ClientConn
	proto  string
	opened time.Time
	// Guarded by p.mu.
	lastUsed time.Time
	requests int64
	idle     *time.Timer
}

func newPool(ctx context.Context, wg *sync.WaitGroup, cfg *Config, s upstreamSettings) *pool {
	p := &pool{key: s.key, cfg: cfg, ctx: ctx, wg: wg, host: s.key.addr, wake: make(chan struct{})}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	p.tr = &http.Transport{
		DialContext: dialer.DialContext,
		TLSClientConfig: &tls.Config{
			RootCAs:            s.roots,
			MinVersion:         tls.VersionTLS12,
			ClientSessionCache: tls.NewLRUClientSessionCache(maxConns),
		},
		TLSHandshakeTimeout:    cfg.DialTimeout,
		Protocols:              protocols,
		HTTP2:                  &http.HTTP2Config{SendPingTimeout: cfg.PingInterval, PingTimeout: 15 * time.Second},
		DisableCompression:     true, // git asks for what it can read; its answers pass untouched
		MaxResponseHeaderBytes: 64 << 10,
	}
	if s.proxy != nil {
		proxy := s.proxy
		p.tr.Proxy = func(*http.Request) (*url.URL, error) { return proxy, nil }
	}
	return p
}

// addGrant counts grants that use p (n is 1 or -1); t.mu is held.
func (p *pool) addGrant(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.grants += n
}

// unused reports whether p has no grant, no connection and no dial.
func (p *pool) unused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.grants == 0 && len(p.conns) == 0 && p.dialing == 0
}

// prewarm opens a connection in the background when p has none, so that
// the first request finds it ready.
func (p *pool) prewarm() {
	p.mu.Lock()
	start := !p.closed && len(p.conns) == 0 && p.dialing == 0
	if start {
		p.dialing++
	}
	p.mu.Unlock()
	if !start {
		return
	}
	p.wg.Go(func() {
		if _, err := p.dial(p.ctx, false); err != nil {
			p.cfg.Logger.DebugContext(p.ctx, "could not open a connection ahead of git's first request", "host", p.host, "error", clean.Line(err.Error(), 300))
		}
	})
}

// acquire returns a connection with a request slot reserved for the
// caller.
func (p *pool) acquire(ctx context.Context) (*conn, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, errClosed
		}
		wake := p.wake
		conns := append([]*conn(nil), p.conns...)
		p.mu.Unlock()
		// Outside p.mu: Reserve may run a connection's state hook.
		for _, c := range conns {
			if c.cc.Reserve() == nil {
				p.mu.Lock()
				c.useLocked(p.cfg.Now())
				p.mu.Unlock()
				return c, nil
			}
		}
		p.mu.Lock()
		if p.wake != wake { // a connection came or went meanwhile
			p.mu.Unlock()
			continue
		}
		dial := len(p.conns)+p.dialing < maxConns && (p.dialing == 0 || p.proto == protoHTTP1)
		if dial {
			p.dialing++
		}
		p.mu.Unlock()
		if dial {
			return p.dial(ctx, true)
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// dial opens a connection (its dial counted in p.dialing) and adds it to
// p, with a request slot reserved when reserve is set.
func (p *pool) dial(ctx context.Context, reserve bool) (*conn, error) {
	var state tls.ConnectionState
	trace := &httptrace.ClientTrace{TLSHandshakeDone: func(cs tls.ConnectionState, _ error) { state = cs }}
	dctx, cancel := context.WithTimeout(httptrace.WithClientTrace(ctx, trace), 2*p.cfg.DialTimeout)
	cc, err := p.tr.NewClientConn(dctx, "https", p.key.addr)
	cancel()

	p.mu.Lock()
	p.dialing--
	p.wakeLocked()
	if err == nil && p.closed {
		err = errClosed
		_ = cc.Close()
	}
	if err != nil {
		p.mu.Unlock()
		return nil, err
	}
	now := p.cfg.Now()
	c := &conn{p: p, cc: cc, proto: state.NegotiatedProtocol, opened: now, lastUsed: now}
	if c.proto == "" {
		c.proto = protoHTTP1
	}
	p.proto = c.proto
	if reserve {
		if err := cc.Reserve(); err != nil { // a new connection is free
			p.mu.Unlock()
			_ = cc.Close()
			return nil, err
		}
		c.useLocked(now)
	} else {
		c.armIdleLocked()
	}
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	// Outside p.mu: the hook may run at once, and it takes p.mu.
	cc.SetStateHook(c.changed)
	return c, nil
}

// useLocked counts a request on c.
func (c *conn) useLocked(now time.Time) {
	c.requests++
	c.lastUsed = now
	if c.idle != nil {
		c.idle.Stop()
		c.idle = nil
	}
}

// armIdleLocked closes c once it has been idle for the idle timeout.
func (c *conn) armIdleLocked() {
	if c.idle != nil {
		c.idle.Stop()
	}
	c.idle = time.AfterFunc(c.p.cfg.IdleTimeout, func() {
		p := c.p
		p.mu.Lock()
		idle := c.cc.InFlight() == 0
		if idle {
			p.removeLocked(c) // no request takes it from now on
		}
		p.mu.Unlock()
		if idle {
			_ = c.cc.Close()
		}
	})
}

// changed is c's state hook: a request ended, or the connection did.
func (c *conn) changed(cc *http.ClientConn) {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.wakeLocked()
	if cc.Err() != nil {
		if c.idle != nil {
			c.idle.Stop()
		}
		p.removeLocked(c)
		return
	}
	if cc.InFlight() == 0 {
		c.lastUsed = p.cfg.Now()
		c.armIdleLocked()
	}
}

// removeLocked takes c out of p.
func (p *pool) removeLocked(c *conn) {
	for i, o := range p.conns {
		if o == c {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			return
		}
	}
}

func (p *pool) wakeLocked() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// close closes every connection of p and fails requests waiting for one.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	conns := append([]*conn(nil), p.conns...)
	p.wakeLocked()
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.cc.Close()
	}
}

// status describes p's connections.
func (p *pool) status() []ConnStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]ConnStatus, 0, len(p.conns))
	for _, c := range p.conns {
		out = append(out, ConnStatus{
			Host:     p.host,
			Proxy:    clean.RedactURL(p.key.proxy),
			Protocol: c.proto,
			Opened:   c.opened,
			LastUsed: c.lastUsed,
			InFlight: c.cc.InFlight(),
			Requests: c.requests,
		})
	}
	return out
}
