package transport

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"
)

// peer is the other end of a connection to the loopback URL, and (where
// the system says) the user who opened it.
type peer struct {
	local, remote netip.AddrPort

	once sync.Once
	uid  int   // -1 until known
	err  error // why the uid is not known
}

type peerKey struct{}

// withPeer is the loopback server's ConnContext: it records the
// connection's addresses, to find its user at its first request.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	p := &peer{uid: -1}
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		p.local = a.AddrPort()
	}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		p.remote = a.AddrPort()
	}
	return context.WithValue(ctx, peerKey{}, p)
}

func peerOf(ctx context.Context) *peer {
	if p, ok := ctx.Value(peerKey{}).(*peer); ok {
		return p
	}
	return &peer{uid: -1}
}

// checkPeer refuses a connection of another user. Where there is no way
// to tell (peerCheck is false), every connection passes and the
// capability alone decides.
func checkPeer(ctx context.Context) *refusal {
	if !peerCheck {
		return nil
	}
	p := peerOf(ctx)
	p.once.Do(func() { p.uid, p.err = socketUID(p.remote, p.local) })
	me := os.Geteuid()
	switch {
	case p.err != nil:
		return &refusal{http.StatusForbidden, "cannot tell which user connected: " + p.err.Error(),
			"cannot tell which user this connection comes from, and codecommitd serves only its own user"}
	case p.uid != me:
		return &refusal{http.StatusForbidden, fmt.Sprintf("a connection from uid %d", p.uid),
			fmt.Sprintf("codecommitd serves only its own user (uid %d); this connection comes from uid %d; run your own daemon as that user", me, p.uid)}
	}
	return nil
}

// key names the peer for the refusal log: its user where known, else its
// address.
func (p *peer) key() string {
	if p.uid >= 0 {
		return "uid " + strconv.Itoa(p.uid)
	}
	return p.remote.String()
}

// attrs are the log attributes of the peer.
func (p *peer) attrs() []any {
	a := []any{"peer", p.remote.String()}
	if p.uid >= 0 {
		a = append(a, "peer_uid", p.uid)
	}
	return a
}

// refusals remembers which refusals were logged in the last minute, so a
// peer that repeats itself is logged once.
type refusals struct {
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]time.Time
}

// maxRefusals bounds what refusals remembers; past it, it starts over.
const maxRefusals = 1024

func (r *refusals) init(now func() time.Time) {
	r.now = now
	r.seen = map[string]time.Time{}
}

// first reports whether key was not logged in the last minute, and counts
// it as logged now.
func (r *refusals) first(key string) bool {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if at, ok := r.seen[key]; ok && now.Sub(at) < time.Minute {
		return false
	}
	if len(r.seen) >= maxRefusals {
		clear(r.seen)
	}
	r.seen[key] = now
	return true
}
