package transport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"

	"github.com/codecommitd/codecommitd/internal/clean"
)

const (
	// maxHeaderBytes bounds the header block of a request to the loopback
	// URL: git's are well under 2 KiB. Past it, a request is refused and
	// logged; past hardHeaderBytes net/http refuses it before it is read.
	maxHeaderBytes  = 16 << 10
	hardHeaderBytes = 64 << 10
	// keptBody is how much of a POST body is kept so that the request can
	// be sent again: git's negotiation and small pushes fit.
	keptBody = 64 << 10
)

// exchange is what a request forwarded upstream carries in its context.
type exchange struct {
	g     *grant
	route route
	// sideband reports whether git asked for its answer in side-band
	// packets (a push's POST that names side-band or side-band-64k).
	sideband bool
}

type exchangeKey struct{}

func exchangeOf(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// serve admits one request from git and forwards it, or refuses it.
func (t *Transport) serve(w http.ResponseWriter, r *http.Request) {
	if ref := checkPeer(r.Context()); ref != nil {
		t.refuse(w, r, ref)
		return
	}
	if n := headerBytes(r); n > maxHeaderBytes {
		t.refuse(w, r, &refusal{http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("a header block of %d bytes", n),
			"the request's headers are too large (over 16 KiB)"})
		return
	}
	rt, ref := parseRoute(r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
	if ref != nil {
		t.refuse(w, r, ref)
		return
	}
	g, ref := t.lookup(r.Header.Get(CapabilityHeader))
	if ref != nil {
		t.refuse(w, r, ref)
		return
	}
	if g.Repository != rt.repo {
		t.refuse(w, r, &refusal{http.StatusForbidden, "a capability for another repository (" + g.Repository + ")", noCapability})
		return
	}
	x := &exchange{g: g, route: rt}
	if r.Method == http.MethodPost {
		head, err := keepBody(r)
		if err != nil {
			t.cfg.Logger.DebugContext(r.Context(), "git went away while sending its request", "repository", g.Repository)
			return
		}
		x.sideband = rt.service == "git-receive-pack" && asksSideband(head)
	}
	for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization", CapabilityHeader, "Upgrade", "Http2-Settings", "Expect"} {
		r.Header.Del(h)
	}
	ctx := context.WithValue(r.Context(), exchangeKey{}, x)
	t.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// headerBytes is the size of r's header block, about as it came.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Host) + 16
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// keepBody reads up to keptBody bytes of r's body, and returns what it
// read. A body that ends within them is kept whole, so the request can be
// sent again (r.GetBody); a longer one streams on from where it was read.
func keepBody(r *http.Request) ([]byte, error) {
	buf := make([]byte, keptBody+1)
	n, err := io.ReadFull(r.Body, buf)
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		kept := buf[:n]
		r.Body = io.NopCloser(bytes.NewReader(kept))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(kept)), nil }
		r.ContentLength = int64(n)
		return kept, nil
	case nil:
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		return buf, nil
	}
	return nil, err
}

// asksSideband reports whether a push's request asks for side-band
// packets: its first command's capabilities (after a NUL in the first
// pkt-line) name side-band or side-band-64k.
func asksSideband(body []byte) bool {
	if len(body) < 4 {
		return false
	}
	n, err := strconv.ParseUint(string(body[:4]), 16, 16)
	if err != nil || n < 4 || int(n) > len(body) {
		return false
	}
	_, caps, ok := bytes.Cut(body[4:n], []byte{0})
	return ok && bytes.Contains(caps, []byte("side-band"))
}

// rewrite makes the upstream request of a forwarded one.
func rewrite(pr *httputil.ProxyRequest) {
	x := exchangeOf(pr.In.Context())
	out := pr.Out
	out.URL.Scheme = "https"
	out.URL.Host = x.g.Host
	out.URL.Path, out.URL.RawPath = x.g.path+x.route.suffix(), ""
	out.URL.RawQuery = x.route.query()
	out.Host = x.g.Host
	if x.g.up.userAgent != "" {
		out.Header.Set("User-Agent", x.g.up.userAgent)
	}
}

// refuse answers a request that is not forwarded with status and one
// line, and logs it once per peer and reason a minute.
func (t *Transport) refuse(w http.ResponseWriter, r *http.Request, ref *refusal) {
	peer := peerOf(r.Context())
	if t.refused.first(peer.key() + "\x00" + ref.reason) {
		t.cfg.Logger.WarnContext(r.Context(), "refused a request to the git transport: "+ref.reason,
			append(peer.attrs(), "method", r.Method, "path", clean.Line(r.URL.EscapedPath(), 200))...)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Connection", "close")
	w.WriteHeader(ref.status)
	io.WriteString(w, "codecommitd: "+ref.msg+"\n")
}
