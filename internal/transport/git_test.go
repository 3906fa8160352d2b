//go:build unix

package transport

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/gitserver"
)

var protocols = []struct {
	name  string
	opts  []gitserver.Option
	proto string
}{
	{"HTTP/2", nil, protoH2},
	{"HTTP/1.1", []gitserver.Option{gitserver.HTTP1Only()}, protoHTTP1},
}

// TestGitThroughTheTransport clones, pushes, fetches and lists through the
// transport with the real git, over HTTP/2 and over HTTP/1.1: every
// request reaches the stand-in signed for the signer's identity (the
// stand-in recomputes each signature), none is answered 401, each is
// signed once, and the operations share one warm connection: after the
// first, no new TCP connection and no TLS handshake.
func TestGitThroughTheTransport(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			w := newWorld(t, Config{}, p.opts...)
			c, _ := w.grant("repo")
			w.git(c, "", "clone", "--quiet", c.URL, "clone")
			first := w.env.Git.Conns()
			if first.TCP != 1 || first.TLS != 1 {
				t.Errorf("clone: the stand-in saw %d TCP connections and %d TLS handshakes, want 1 and 1", first.TCP, first.TLS)
			}
			if err := os.WriteFile(filepath.Join(w.env.Dir, "clone", "f"), []byte("hello"), 0o644); err != nil {
				t.Fatal(err)
			}
			w.git(c, "clone", "add", "f")
			w.git(c, "clone", "commit", "--quiet", "-m", "f")
			w.git(c, "clone", "push", "--quiet", "origin", "main")
			w.git(c, "clone", "fetch", "--quiet")
			out := w.git(c, "", "ls-remote", c.URL)
			head := strings.TrimSpace(w.git(c, "clone", "rev-parse", "HEAD"))
			if !strings.Contains(out, head+"\trefs/heads/main") {
				t.Errorf("ls-remote after the push: %q, want main at %s", out, head)
			}

			if d := w.env.Git.Conns().Sub(first); d.TCP != 0 || d.TLS != 0 {
				t.Errorf("push, fetch, ls-remote on the warm pool opened %d TCP connections and %d TLS handshakes, want 0", d.TCP, d.TLS)
			}
			reqs := w.env.Git.Requests()
			for _, r := range reqs {
				if r.Principal != w.signer.id.ARN || r.Status >= 300 {
					t.Errorf("%s %s: status %d as %q (%s), want it served for %s", r.Method, r.Path, r.Status, r.Principal, r.Reason, w.signer.id.ARN)
				}
			}
			if n := w.signer.calls.Load(); n != int64(len(reqs)) {
				t.Errorf("the signer signed %d times for %d requests, want once each", n, len(reqs))
			}
			st := w.tr.Status()
			if len(st.Conns) != 1 || st.Conns[0].Protocol != p.proto || st.Conns[0].Requests != int64(len(reqs)) || st.Conns[0].Host != w.env.GitHost() {
				t.Errorf("Status().Conns = %+v, want one %s connection to %s that carried all %d requests", st.Conns, p.proto, w.env.GitHost(), len(reqs))
			}
		})
	}
}

// TestParallelLsRemoteShareOneConnection runs 16 git ls-remote at once,
// each with a capability of its own (as 16 helpers get), on a cold pool
// over HTTP/2: they share one upstream connection, one TLS handshake.
func TestParallelLsRemoteShareOneConnection(t *testing.T) {
	w := newWorld(t, Config{})
	var caps []Capability
	for range 16 {
		c, _ := w.grant("repo")
		caps = append(caps, c)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(caps))
	for _, c := range caps {
		wg.Go(func() {
			if _, stderr, err := w.run(w.gitCmd(c, "", "ls-remote", c.URL)); err != nil {
				errs <- fmt.Errorf("%w: %s", err, stderr)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := w.env.Git.Conns(); c.TCP != 1 || c.TLS != 1 || c.HTTP2 != 1 {
		t.Errorf("16 parallel ls-remote: %d TCP connections, %d TLS handshakes, %d HTTP/2; want 1, 1, 1", c.TCP, c.TLS, c.HTTP2)
	}
	if n := w.seen(); n != 2*len(caps) {
		t.Errorf("the stand-in saw %d requests, want %d (info/refs and ls-refs each)", n, 2*len(caps))
	}
}

// TestGrantPrewarms checks that a grant opens the connection before git
// sends anything: the TLS handshake is done when git starts, and git's
// requests all go on that connection.
func TestGrantPrewarms(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			w := newWorld(t, Config{}, p.opts...)
			c, _ := w.grant("repo")
			// The stand-in counts a handshake when its side of it ends,
			// which may be after the transport's.
			eventually(t, "the grant's connection is open", func() bool { return len(w.tr.Status().Conns) == 1 && w.env.Git.Conns().TLS == 1 })
			if got := w.env.Git.Conns(); got.TLS != 1 || w.seen() != 0 {
				t.Fatalf("after the grant: %d TLS handshakes and %d requests, want 1 and 0", got.TLS, w.seen())
			}
			w.git(c, "", "ls-remote", c.URL)
			if got := w.env.Git.Conns(); got.TCP != 1 || got.TLS != 1 {
				t.Errorf("ls-remote after the grant opened more: %d TCP connections and %d TLS handshakes in all, want 1 and 1", got.TCP, got.TLS)
			}
			if st := w.tr.Status(); len(st.Conns) != 1 || st.Conns[0].Requests != int64(w.seen()) {
				t.Errorf("Status().Conns = %+v, want the one prewarmed connection carrying all %d requests", st.Conns, w.seen())
			}
		})
	}
}

// TestIdleConnectionsClose checks that a connection idle for IdleTimeout
// is closed, and that the next operation opens a new one.
func TestIdleConnectionsClose(t *testing.T) {
	w := newWorld(t, Config{IdleTimeout: 100 * time.Millisecond})
	c, _ := w.grant("repo")
	w.git(c, "", "ls-remote", c.URL)
	eventually(t, "the idle connection is closed", func() bool { return len(w.tr.Status().Conns) == 0 })
	w.git(c, "", "ls-remote", c.URL)
	if got := w.env.Git.Conns(); got.TCP != 2 {
		t.Errorf("%d TCP connections, want 2: the idle one was closed", got.TCP)
	}
}
