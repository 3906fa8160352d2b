package gitserver

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Option changes how New's server speaks HTTP.
type Option func(*options)

type options struct {
	http1Only bool
	idle      time.Duration
}

// HTTP1Only makes the server offer HTTP/1.1 alone. By default it offers
// HTTP/2 over ALPN ("h2", then "http/1.1").
func HTTP1Only() Option { return func(o *options) { o.http1Only = true } }

// CloseIdleAfter makes the server close a connection, HTTP/1.1 or HTTP/2,
// that has carried no request for d (HTTP/2 says so first with a GOAWAY).
// By default it keeps idle connections open.
func CloseIdleAfter(d time.Duration) Option { return func(o *options) { o.idle = d } }

// Conns counts the connections a server has seen.
type Conns struct {
	// TCP is how many TCP connections it accepted.
	TCP int
	// TLS is how many TLS handshakes (full or resumed) reached their end.
	TLS int
	// HTTP2 is how many of those negotiated HTTP/2.
	HTTP2 int
}

// Sub returns c less o: what a server saw between reading o and c.
func (c Conns) Sub(o Conns) Conns {
	return Conns{TCP: c.TCP - o.TCP, TLS: c.TLS - o.TLS, HTTP2: c.HTTP2 - o.HTTP2}
}

// Conns returns the connections the server has seen so far; the requests
// they carried are Seen's.
func (s *Server) Conns() Conns {
	s.counter.mu.Lock()
	defer s.counter.mu.Unlock()
	return s.counter.n
}

// connCounter counts what Conns returns, from the server's hooks.
type connCounter struct {
	mu sync.Mutex
	n  Conns
}

// start starts the HTTPS server for s, counting its connections.
func (s *Server) start(opts []Option) *httptest.Server {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	hs := httptest.NewUnstartedServer(s)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(!o.http1Only)
	hs.Config.Protocols = &p
	hs.EnableHTTP2 = !o.http1Only
	// The HTTP/2 server takes its idle timeout from this one.
	hs.Config.IdleTimeout = o.idle
	hs.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.counter.mu.Lock()
			s.counter.n.TCP++
			s.counter.mu.Unlock()
		}
	}
	hs.TLS = &tls.Config{
		Certificates: []tls.Certificate{s.cert},
		NextProtos:   []string{"h2", "http/1.1"},
		// The server's last step in every handshake, resumed or not.
		VerifyConnection: func(cs tls.ConnectionState) error {
			s.counter.mu.Lock()
			defer s.counter.mu.Unlock()
			s.counter.n.TLS++
			if cs.NegotiatedProtocol == "h2" {
				s.counter.n.HTTP2++
			}
			return nil
		},
	}
	if o.http1Only {
		hs.TLS.NextProtos = []string{"http/1.1"}
	}
	hs.StartTLS()
	return hs
}
