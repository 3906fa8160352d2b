//go:build unix

package transport

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// connectProxy is an HTTP proxy that tunnels CONNECT requests carrying
// the Basic credentials user:pass, and records the targets.
type connectProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	targets []string
	conns   []net.Conn
	wg      sync.WaitGroup
}

func newConnectProxy(t *testing.T) *connectProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{ln: ln}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *connectProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		p.wg.Go(func() { p.tunnel(c) })
	}
}

func (p *connectProxy) tunnel(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pass"))
	if req.Method != "CONNECT" || req.Header.Get("Proxy-Authorization") != want {
		io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
		return
	}
	p.mu.Lock()
	p.targets = append(p.targets, req.Host)
	p.mu.Unlock()
	up, err := net.Dial("tcp", req.Host)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	p.mu.Lock()
	p.conns = append(p.conns, up)
	p.mu.Unlock()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		io.Copy(up, br)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	<-done
}

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

// TestProxy sends git's requests through the proxy git would use (given
// without a scheme, with a user and password, as curl takes it): they go
// through it, Status shows it with the password redacted; a NO_PROXY
// entry for the host sends them directly; a proxy that refuses is one
// line naming it.
func TestProxy(t *testing.T) {
	w := newWorld(t, Config{})
	proxy := newConnectProxy(t)
	addr := proxy.ln.Addr().String()

	c, _ := w.grant("repo", func(g *Grant) { g.Upstream.Proxy = "user:pass@" + addr })
	w.git(c, "", "ls-remote", c.URL)
	if got := proxy.seen(); len(got) != 1 || got[0] != w.env.GitHost() {
		t.Errorf("the proxy tunnelled to %q, want once to %s", got, w.env.GitHost())
	}
	st := w.tr.Status()
	if len(st.Conns) != 1 || st.Conns[0].Proxy != "http://[redacted]@"+addr {
		t.Errorf("Status().Conns = %+v, want one connection through http://[redacted]@%s", st.Conns, addr)
	}
	if s := fmt.Sprintf("%+v", st); strings.Contains(s, "pass") {
		t.Errorf("Status shows the proxy's password: %s", s)
	}

	direct, _ := w.grant("repo", func(g *Grant) {
		g.Upstream.Proxy = "user:pass@" + addr
		g.Upstream.NoProxy = "example.com, 127.0.0.1"
	})
	w.git(direct, "", "ls-remote", direct.URL)
	if got := proxy.seen(); len(got) != 1 {
		t.Errorf("with NO_PROXY naming the host, the proxy tunnelled %d times in all, want still 1", len(got))
	}

	down, _ := w.grant("repo", func(g *Grant) { g.Upstream.Proxy = "http://user:pass@" + w.noProxy })
	oneLine(t, w.gitFails(down, "", "ls-remote", down.URL), fmt.Sprintf("cannot reach %s for repository repo: the proxy at %s cannot be reached (connection refused); "+
		"check the network, and git's proxy (http.proxy, HTTPS_PROXY, NO_PROXY) and CA (http.sslCAInfo, GIT_SSL_CAINFO) settings for the repository's URL", w.env.GitHost(), w.noProxy))
}
