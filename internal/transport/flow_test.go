//go:build unix

package transport

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// within fails the test unless done is closed within 10 s: for waits
// that only a broken transport makes endless.
func within(t *testing.T, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen", what)
	}
}

// grantOn grants repository "repo" on srv for the test.
func grantOn(t *testing.T, tr *Transport, srvURL string, ca []byte, up Upstream) Capability {
	t.Helper()
	up.CAInfo = ca
	c, revoke, err := tr.Grant(testCtx(t), Grant{Repository: "repo", Host: strings.TrimPrefix(srvURL, "https://"), Profile: "dev",
		Signer: &testSigner{now: time.Now}, Upstream: up})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(revoke)
	return c
}

// TestResponsesStream has the endpoint send 256 KiB of its answer and wait
// until the client has read them before it sends the rest: a transport
// that held the answer back until its end would wait for ever.
func TestResponsesStream(t *testing.T) {
	for _, http1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/2", true: "HTTP/1.1"}[http1], func(t *testing.T) {
			firstRead := make(chan struct{})
			srv, ca := tlsUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
				w.Write(make([]byte, 256<<10))
				http.NewResponseController(w).Flush()
				select {
				case <-firstRead:
				case <-r.Context().Done():
					return
				}
				io.WriteString(w, "the end")
			}), http1)
			tr, _ := startTransport(t, Config{})
			c := grantOn(t, tr, srv.URL, ca, Upstream{})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // an answer held back never comes
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", c.URL+"/git-upload-pack", strings.NewReader("0000"))
			req.Header = capHeader(c)
			resp, err := loopback(t).Do(req) //nolint:bodyclose // closed by the defer below; the reading goroutine confuses the linter
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			read := make(chan struct{})
			go func() {
				defer close(read)
				io.ReadFull(resp.Body, make([]byte, 256<<10))
			}()
			within(t, "reading the first 256 KiB before the endpoint sent the rest", read)
			close(firstRead)
			rest, err := io.ReadAll(resp.Body)
			if err != nil || string(rest) != "the end" {
				t.Errorf("the rest: %q, %v", rest, err)
			}
		})
	}
}

// TestRequestBodiesStream sends a POST of 1 MiB whose second half the
// client writes only once the endpoint has read the first: a transport
// that read the whole body before sending it on would wait for ever.
func TestRequestBodiesStream(t *testing.T) {
	const half = 512 << 10
	firstHalf := make(chan struct{})
	srv, ca := tlsUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadFull(r.Body, make([]byte, half)); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		close(firstHalf)
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
		io.WriteString(w, strings.Repeat("x", int(n)/half))
	}), false)
	tr, _ := startTransport(t, Config{})
	c := grantOn(t, tr, srv.URL, ca, Upstream{})
	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, half))
		select {
		case <-firstHalf:
			pw.Write(make([]byte, half))
			pw.Close()
		case <-time.After(10 * time.Second):
			pw.CloseWithError(io.ErrUnexpectedEOF)
		}
	}()
	status, body := do(t, loopback(t), "POST", c.URL+"/git-receive-pack", capHeader(c), pr)
	if status != 200 || body != "x" {
		t.Errorf("got %d %q, want the endpoint to have read the second half after the first (\"x\")", status, body)
	}
}

// blockingUpstream answers with a first chunk, then waits for release (or
// for the request to end) before the last one. started is closed when the
// first chunk is out.
type blockingUpstream struct {
	started, release chan struct{}
}

func newBlockingUpstream() *blockingUpstream {
	return &blockingUpstream{started: make(chan struct{}), release: make(chan struct{})}
}

func (u *blockingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
	io.WriteString(w, "first;")
	http.NewResponseController(w).Flush()
	select {
	case <-u.started:
	default:
		close(u.started)
	}
	select {
	case <-u.release:
		io.WriteString(w, "last")
	case <-r.Context().Done():
	}
}

// get starts a GET of info/refs and returns a channel with its body (or
// the error that ended it) once it is done.
func get(t *testing.T, c Capability) <-chan string {
	out := make(chan string, 1)
	req, _ := http.NewRequestWithContext(testCtx(t), "GET", c.URL+"/info/refs?service=git-upload-pack", nil)
	req.Header = capHeader(c)
	client := loopback(t)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			out <- string(b) + " error: " + err.Error()
			return
		}
		out <- string(b)
	}()
	return out
}

// TestRunDrains stops the transport while a git operation is under way:
// it goes on accepting while the operation's grant is live (git's next
// request may come on a new connection), stops accepting once the grant is
// revoked, lets the transfer under way finish, then returns nil.
func TestRunDrains(t *testing.T) {
	up := newBlockingUpstream()
	srv, ca := tlsUpstream(t, up, false)
	tr, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	c, revoke, err := tr.Grant(testCtx(t), Grant{Repository: "repo", Host: strings.TrimPrefix(srv.URL, "https://"), Profile: "dev",
		Signer: &testSigner{now: time.Now}, Upstream: Upstream{CAInfo: ca}})
	if err != nil {
		t.Fatal(err)
	}
	body := get(t, c)
	within(t, "the transfer starting", up.started)
	cancel()
	addr := strings.TrimPrefix(tr.Status().URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("the listener refuses connections while a grant is live: %v", err)
	}
	conn.Close()
	revoke()
	eventually(t, "the listener refuses new connections", func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) with a transfer under way", err)
	default:
	}
	close(up.release)
	if got := <-body; got != "first;last" {
		t.Errorf("the transfer under way got %q, want it whole", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the transfer ended")
	}
	if st := tr.Status(); len(st.Conns) != 0 {
		t.Errorf("upstream connections left open after Run: %+v", st.Conns)
	}
}

// TestRunDrainIsBounded stops the transport while a transfer never ends:
// Run cuts it after DrainTimeout, says so, and returns nil.
func TestRunDrainIsBounded(t *testing.T) {
	up := newBlockingUpstream()
	srv, ca := tlsUpstream(t, up, false)
	logs := &syncBuffer{}
	tr, err := New(Config{DrainTimeout: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	c := grantOn(t, tr, srv.URL, ca, Upstream{})
	body := get(t, c)
	within(t, "the transfer starting", up.started)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its drain time")
	}
	if got := <-body; got == "first;last" || !strings.Contains(got, "error") {
		t.Errorf("the endless transfer got %q, want it cut", got)
	}
	if !strings.Contains(logs.String(), "git operations still under way after the drain time are cut") {
		t.Errorf("the log does not say it cut transfers:\n%s", logs)
	}
}

// TestRevokeLetsRequestsFinish revokes a capability during a transfer:
// the transfer finishes, the next request with the capability is refused.
func TestRevokeLetsRequestsFinish(t *testing.T) {
	up := newBlockingUpstream()
	srv, ca := tlsUpstream(t, up, false)
	tr, _ := startTransport(t, Config{})
	c, revoke, err := tr.Grant(testCtx(t), Grant{Repository: "repo", Host: strings.TrimPrefix(srv.URL, "https://"), Signer: &testSigner{now: time.Now},
		Upstream: Upstream{CAInfo: ca}})
	if err != nil {
		t.Fatal(err)
	}
	body := get(t, c)
	within(t, "the transfer starting", up.started)
	revoke()
	status, _ := do(t, loopback(t), "GET", c.URL+"/info/refs?service=git-upload-pack", capHeader(c), nil)
	if status != http.StatusForbidden {
		t.Errorf("a request after revoke: %d, want 403", status)
	}
	close(up.release)
	if got := <-body; got != "first;last" {
		t.Errorf("the transfer under way at revoke got %q, want it whole", got)
	}
	if st := tr.Status(); st.Grants != 0 {
		t.Errorf("%d grants after revoke", st.Grants)
	}
}

// TestLowSpeed has the endpoint stall before it answers, and in the middle
// of its answer, with http.lowSpeedLimit 1000 bytes/s for 300 ms: the
// first is one ERR line for git, the second a cut transfer, and the log
// says both. A fast transfer with the limit on is not stopped.
func TestLowSpeed(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv, ca := tlsUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/info/refs") { // fast, unless asked to stall
			if r.URL.Query().Get("service") == "git-receive-pack" {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			w.Write(bytes.Repeat([]byte("x"), 64<<10))
			return
		}
		w.Write([]byte("a little"))
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), false)
	tr, logs := startTransport(t, Config{})
	c := grantOn(t, tr, srv.URL, ca, Upstream{LowSpeedLimit: 1000, LowSpeedTime: 300 * time.Millisecond})
	client := loopback(t)
	const line = "slower than http.lowSpeedLimit (1000 bytes/s) for http.lowSpeedTime (300ms)"

	status, body := do(t, client, "GET", c.URL+"/info/refs?service=git-upload-pack", capHeader(c), nil)
	if status != 200 || len(body) != 64<<10 {
		t.Errorf("a fast transfer: %d, %d bytes; want it whole", status, len(body))
	}
	status, body = do(t, client, "GET", c.URL+"/info/refs?service=git-receive-pack", capHeader(c), nil)
	if status != 200 || !strings.Contains(body, "ERR codecommitd: the transfer for repository repo was "+line) {
		t.Errorf("a stall before the answer: %d %q, want an ERR line about the low speed", status, body)
	}
	req, _ := http.NewRequestWithContext(testCtx(t), "POST", c.URL+"/git-upload-pack", strings.NewReader("0000"))
	req.Header = capHeader(c)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || string(b) != "a little" {
		t.Errorf("a stall in the answer: read %q, %v; want the start, then an error", b, err)
	}
	if n := logs.count(line); n != 2 {
		t.Errorf("the log says %d times that a transfer was too slow, want 2:\n%s", n, logs)
	}
}

// TestCloseFreesTheListener: a Transport that will not be Run gives its
// loopback port back with Close.
func TestCloseFreesTheListener(t *testing.T) {
	tr, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	addr := tr.ln.Addr().String()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Close", addr)
	}
}
