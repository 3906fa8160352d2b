package daemon

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// limitListener accepts at most n connections at a time; Accept waits for
// one to close beyond that. Unlike golang.org/x/net/netutil's, its
// connections still give access to the socket (syscall.Conn), which the
// peer check needs.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	// quiet, if set, is called when the last open connection closes.
	quiet func()
	open  atomic.Int64
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	l.open.Add(1)
	release := func() {
		<-l.sem
		if l.open.Add(-1) == 0 && l.quiet != nil {
			l.quiet()
		}
	}
	if sc, ok := c.(socketConn); ok {
		return &limitedSocketConn{socketConn: sc, release: sync.OnceFunc(release)}, nil
	}
	return &limitedConn{Conn: c, release: sync.OnceFunc(release)}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// socketConn is a connection on a real socket, like *net.UnixConn.
type socketConn interface {
	net.Conn
	syscall.Conn
}

type limitedSocketConn struct {
	socketConn
	release func()
}

func (c *limitedSocketConn) Close() error {
	c.release()
	return c.socketConn.Close()
}

type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	c.release()
	return c.Conn.Close()
}
