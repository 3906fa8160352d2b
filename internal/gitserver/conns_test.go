package gitserver_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/gitserver"
)

func newServer(t *testing.T, opts ...gitserver.Option) *gitserver.Server {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the git stand-in needs git on PATH")
	}
	sts := fakests.New()
	t.Cleanup(sts.Close)
	s, err := gitserver.New(t.TempDir(), "us-east-1", sts, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// watchedConn reports when a connection ended: the client's transport
// always has a read waiting on a connection it keeps, and closes the
// connection when the server's TLS close_notify ends that read (the TCP
// read itself may then never fail). The transport in client never closes
// one of its own accord.
type watchedConn struct {
	net.Conn
	once   sync.Once
	closed chan time.Time
}

func (c *watchedConn) ended() { c.once.Do(func() { c.closed <- time.Now() }) }

func (c *watchedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.ended()
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.ended()
	return c.Conn.Close()
}

// client returns an HTTPS client that trusts s, speaks HTTP/2 only if h2,
// and sends each connection it opens to conns.
func client(t *testing.T, s *gitserver.Server, h2 bool, conns chan<- *watchedConn) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	var p http.Protocols
	p.SetHTTP1(!h2)
	p.SetHTTP2(h2)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		Protocols:       &p,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			w := &watchedConn{Conn: c, closed: make(chan time.Time, 1)}
			if conns != nil {
				conns <- w
			}
			return w, nil
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// get makes a request to s and returns the HTTP major version it got.
func get(t *testing.T, c *http.Client, s *gitserver.Server) int {
	t.Helper()
	resp, err := c.Get("https://" + s.Host + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.ProtoMajor
}

// TestProtocolsAndConns checks which protocol each kind of client gets and
// that Conns counts connections and handshakes, not requests.
func TestProtocolsAndConns(t *testing.T) {
	for _, c := range []struct {
		name      string
		opts      []gitserver.Option
		clientH2  bool
		wantMajor int
	}{
		{name: "HTTP/2 by default", clientH2: true, wantMajor: 2},
		{name: "HTTP/1.1 to a client that asks for it", clientH2: false, wantMajor: 1},
		{name: "HTTP/1.1 only", opts: []gitserver.Option{gitserver.HTTP1Only()}, clientH2: true, wantMajor: 0},
		{name: "HTTP/1.1 only, HTTP/1.1 client", opts: []gitserver.Option{gitserver.HTTP1Only()}, clientH2: false, wantMajor: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, c.opts...)
			cl := client(t, s, c.clientH2, nil)
			if c.wantMajor == 0 {
				// An HTTP/2-only client finds no protocol in common.
				if resp, err := cl.Get("https://" + s.Host + "/"); err == nil {
					resp.Body.Close()
					t.Fatalf("an HTTP/2-only client got %s from a server that offers HTTP/1.1 alone", resp.Proto)
				}
				return
			}
			for range 3 {
				if major := get(t, cl, s); major != c.wantMajor {
					t.Fatalf("got HTTP/%d, want HTTP/%d", major, c.wantMajor)
				}
			}
			h2 := 0
			if c.wantMajor == 2 {
				h2 = 1
			}
			if got, want := s.Conns(), (gitserver.Conns{TCP: 1, TLS: 1, HTTP2: h2}); got != want {
				t.Errorf("after 3 requests on one connection: %+v, want %+v", got, want)
			}
			if reqs, _ := s.Seen(); reqs != 3 {
				t.Errorf("Seen says %d requests, want 3", reqs)
			}
			cl.CloseIdleConnections()
			before := s.Conns()
			get(t, cl, s)
			if got, want := s.Conns().Sub(before), (gitserver.Conns{TCP: 1, TLS: 1, HTTP2: h2}); got != want {
				t.Errorf("a request on a new connection added %+v, want %+v", got, want)
			}
		})
	}
}

// TestClosesIdleConnections checks that CloseIdleAfter closes a connection
// a client keeps for reuse, no sooner than it says, for both protocols, and
// that the next request then needs a connection of its own.
func TestClosesIdleConnections(t *testing.T) {
	const idle = 300 * time.Millisecond
	for _, h2 := range []bool{true, false} {
		name := map[bool]string{true: "HTTP/2", false: "HTTP/1.1"}[h2]
		t.Run(name, func(t *testing.T) {
			s := newServer(t, gitserver.CloseIdleAfter(idle))
			conns := make(chan *watchedConn, 2)
			cl := client(t, s, h2, conns)
			start := time.Now()
			get(t, cl, s)
			first := <-conns
			select {
			case at := <-first.closed:
				if waited := at.Sub(start); waited < idle {
					t.Errorf("the server closed the connection %s after the request, before its idle timeout (%s)", waited, idle)
				}
			case <-time.After(time.Minute):
				t.Fatal("the server never closed the idle connection")
			}
			get(t, cl, s)
			if got := s.Conns().TCP; got != 2 {
				t.Errorf("%d TCP connections, want 2: the second request should need a new one", got)
			}
		})
	}
}
