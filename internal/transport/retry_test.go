//go:build unix

package transport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/gitserver"
)

type connRequests struct{}

// closingUpstream is an HTTP/1.1 endpoint that serves the first request
// on each connection and closes the connection, unanswered, when a second
// request arrives on it: what a client sees when the server closed an idle
// connection just as the client sent a request on it. It counts the
// requests it served, and the bytes of the bodies it read.
type closingUpstream struct {
	served, bodyBytes atomic.Int64
}

func (u *closingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Context().Value(connRequests{}).(*atomic.Int64).Add(1) > 1 {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
		return
	}
	n, _ := io.Copy(io.Discard, r.Body)
	u.bodyBytes.Add(n)
	u.served.Add(1)
	w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
	fmt.Fprintf(w, "served %d bytes", n)
}

// TestRetriesOnAConnectionTheServerClosed sends requests on connections the
// server closes when they are used again. A GET and a POST whose body was
// kept are sent again on a new connection, signed afresh, and succeed; a
// POST too long to keep is not sent again, and git is told why.
func TestRetriesOnAConnectionTheServerClosed(t *testing.T) {
	up := &closingUpstream{}
	srv, ca := tlsUpstream(t, up, true, func(s *http.Server) {
		s.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connRequests{}, new(atomic.Int64))
		}
	})
	tr, _ := startTransport(t, Config{})
	signer := &testSigner{now: time.Now}
	c, revoke, err := tr.Grant(testCtx(t), Grant{Repository: "repo", Host: strings.TrimPrefix(srv.URL, "https://"), Signer: signer, Upstream: Upstream{CAInfo: ca}})
	if err != nil {
		t.Fatal(err)
	}
	defer revoke()
	client := loopback(t)
	refs := c.URL + "/info/refs?service=git-upload-pack"

	// The first request opens the connection; each later one finds the
	// connection its predecessor used closed, and must be sent again.
	steps := []struct {
		name, method, url string
		body              int
		served            bool
	}{
		{"the first GET", "GET", refs, 0, true},
		{"a GET", "GET", refs, 0, true},
		{"a POST of 1 KiB", "POST", c.URL + "/git-upload-pack", 1 << 10, true},
		{"a POST of 64 KiB", "POST", c.URL + "/git-upload-pack", keptBody, true},
		{"a POST of 64 KiB and a byte", "POST", c.URL + "/git-upload-pack", keptBody + 1, false},
	}
	for i, s := range steps {
		served, calls := up.served.Load(), signer.calls.Load()
		status, body := do(t, client, s.method, s.url, capHeader(c), bytes.NewReader(make([]byte, s.body)))
		gotServed := up.served.Load() - served
		switch {
		case s.served && (status != 200 || body != fmt.Sprintf("served %d bytes", s.body) || gotServed != 1):
			t.Errorf("%s: %d %q, served %d times; want it served once, whole", s.name, status, body, gotServed)
		case s.served && i > 0 && signer.calls.Load()-calls != 2:
			t.Errorf("%s: signed %d times, want twice (once per attempt)", s.name, signer.calls.Load()-calls)
		case !s.served && (gotServed != 0 || !strings.Contains(body, "ERR codecommitd: cannot reach "+strings.TrimPrefix(srv.URL, "https://")+" for repository repo")):
			t.Errorf("%s: %d %q, served %d times; want it not sent again, and git told it failed", s.name, status, body, gotServed)
		}
	}
}

// TestServerClosingIdleConnections runs 200 operations (info/refs and a
// POST, as git ls-remote makes) against the stand-in closing connections
// idle for 10 ms, pausing about that long between operations, so that
// many find their connection closed or closing: none fails.
func TestServerClosingIdleConnections(t *testing.T) {
	const idle = 10 * time.Millisecond
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			w := newWorld(t, Config{}, append(p.opts, gitserver.CloseIdleAfter(idle))...)
			c, _ := w.grant("repo")
			client := loopback(t)
			failed := 0
			for i := range 200 {
				time.Sleep(idle/2 + rand.N(idle)) // the load's shape, not synchronisation
				for _, r := range []struct{ method, url, body string }{
					{"GET", c.URL + "/info/refs?service=git-upload-pack", ""},
					{"POST", c.URL + "/git-upload-pack", "0000"},
				} {
					h := capHeader(c)
					if r.method == "POST" {
						h.Set("Content-Type", "application/x-git-upload-pack-request")
					}
					status, body := do(t, client, r.method, r.url, h, strings.NewReader(r.body))
					if status != 200 || strings.Contains(body, "ERR codecommitd") {
						failed++
						t.Logf("operation %d: %s: %d %q", i, r.method, status, body)
					}
				}
			}
			conns := w.env.Git.Conns()
			if failed != 0 {
				t.Errorf("%d of 400 requests failed, want none", failed)
			}
			if conns.TCP < 20 {
				t.Errorf("the stand-in saw only %d connections: it did not close idle ones as the test needs", conns.TCP)
			}
			t.Logf("%d connections, %d signatures for %d requests", conns.TCP, w.signer.calls.Load(), w.seen())
		})
	}
}
