// Package wanlink is a stand-in for a wide-area network link: a TCP proxy
// on 127.0.0.1 in front of one address, which delays what crosses it as a
// link with a round-trip time (and, optionally, a bandwidth) would, and
// counts what it carried. Kernel netem is not needed, nor root.
//
// What a connection through a link pays, for a round-trip time RTT:
//
//   - Connecting costs one round trip, as TCP's handshake does: the first
//     byte a client sends reaches the target no earlier than RTT + RTT/2
//     after the link accepted the connection, and the first byte the target
//     sends reaches the client no earlier than 2 RTT after it (the target's
//     side of the connection opens when the handshake's last packet would
//     reach it, at 1.5 RTT).
//   - Every chunk (what one read returned) is delivered RTT/2 after it was
//     read, in either direction, in order. Chunks are pipelined: each waits
//     in a queue with its own delivery time, so one chunk's delay never adds
//     to the next one's.
//   - With a bandwidth, each direction of the link is one wire shared by its
//     connections: a chunk goes on the wire when the wire is free and takes
//     its size over the bandwidth to cross, then RTT/2 to arrive.
//   - Half-close and close travel like data: a client's CloseWrite reaches
//     the target as its CloseWrite RTT/2 later, and a connection is closed at
//     both ends once both directions have ended (or at once, if either end
//     resets it or cannot be written to).
//
// Not modelled: loss, reordering, TCP slow start. At most 4 MiB are in
// flight each way on a connection (a receive window), so one connection
// carries at most 4 MiB per RTT/2.
//
// It is test infrastructure (the end-to-end tests, `make bench` and
// `make demo LATENCY=…` put it in front of the git stand-in); no binary
// links it.
package wanlink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes a link.
type Config struct {
	// Target is the host:port the link forwards connections to.
	Target string
	// RTT is the round-trip time of connections accepted from the start
	// (see SetRTT); 0: none, the link is a plain proxy.
	RTT time.Duration
	// Bandwidth is how many bytes per second each direction of the link
	// carries, shared by every connection; 0: no limit.
	Bandwidth int64
}

// Stats counts what a link carried.
type Stats struct {
	// Conns is how many connections the link accepted.
	Conns int64
	// Up is how many bytes it delivered from clients to the target.
	Up int64
	// Down is how many bytes it delivered from the target to clients.
	Down int64
}

// Sub returns s less o: what a link carried between reading o and s.
func (s Stats) Sub(o Stats) Stats {
	return Stats{Conns: s.Conns - o.Conns, Up: s.Up - o.Up, Down: s.Down - o.Down}
}

// Link is a running link. Its methods may be called concurrently.
type Link struct {
	target string
	ln     net.Listener
	rtt    atomic.Int64 // time.Duration of new connections
	conns  atomic.Int64
	// up carries clients' bytes to the target, down the target's back.
	up, down wire

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the link started
}

// New starts a link on a free port of 127.0.0.1 in front of cfg.Target.
// Close stops it.
func New(cfg Config) (*Link, error) {
	if cfg.Target == "" {
		return nil, errors.New("wanlink: no target address")
	}
	if cfg.RTT < 0 || cfg.Bandwidth < 0 {
		return nil, fmt.Errorf("wanlink: RTT %s and bandwidth %d must not be negative", cfg.RTT, cfg.Bandwidth)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &Link{target: cfg.Target, ln: ln, up: wire{bandwidth: cfg.Bandwidth}, down: wire{bandwidth: cfg.Bandwidth}}
	l.rtt.Store(int64(cfg.RTT))
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Go(l.accept)
	return l, nil
}

// Addr returns the host:port clients connect to.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// SetRTT sets the round-trip time of connections accepted from now on;
// connections already open keep theirs.
func (l *Link) SetRTT(d time.Duration) { l.rtt.Store(int64(max(d, 0))) }

// Stats returns what the link carried so far.
func (l *Link) Stats() Stats {
	return Stats{Conns: l.conns.Load(), Up: l.up.bytes.Load(), Down: l.down.bytes.Load()}
}

// Close stops accepting, closes every connection at both ends (bytes still
// in flight are dropped) and returns once every goroutine of the link has
// returned.
func (l *Link) Close() error {
	l.cancel()
	err := l.ln.Close()
	l.wg.Wait()
	return err
}

func (l *Link) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors, say: let others close theirs, then go on.
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		l.conns.Add(1)
		l.wg.Go(func() { l.serve(c.(*net.TCPConn)) })
	}
}

// serve carries one connection both ways until both directions have ended,
// either end fails, or the link closes.
func (l *Link) serve(client *net.TCPConn) {
	accepted := time.Now()
	rtt := time.Duration(l.rtt.Load())
	ctx, cancel := context.WithCancel(l.ctx)
	defer cancel()
	// Whatever ends the connection closes both of its ends, which also
	// unblocks any Read under way.
	context.AfterFunc(ctx, func() { _ = client.Close() })
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", l.target)
	if err != nil {
		// Nothing listens there: the client sees a reset, the nearest a
		// proxy comes to a refused connection.
		_ = client.SetLinger(0)
		return
	}
	server := c.(*net.TCPConn)
	context.AfterFunc(ctx, func() { _ = server.Close() })
	var wg sync.WaitGroup
	wg.Go(func() { carry(ctx, cancel, client, server, &l.up, accepted.Add(rtt), rtt/2) })
	wg.Go(func() { carry(ctx, cancel, server, client, &l.down, accepted.Add(rtt+rtt/2), rtt/2) })
	wg.Wait()
}
