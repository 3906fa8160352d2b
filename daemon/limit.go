package daemon

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
)

// limitListener keeps at most max connections open, and room for new
// ones: when all are taken, a new connection closes the one idle longest
// (no request or stream under way for at least evictAfter: a client done
// with it, one that connected and sent nothing), and waits only while every
// connection has something under way. Long-lived streams cannot fill it:
// their number is capped (MaxLongStreams), as are one process's
// connections (MaxConnectionsPerProcess, counted at the peer check, with
// the same rule among that process's own).
// Unlike golang.org/x/net/netutil's, its connections still give access to
// the socket (syscall.Conn), which the peer check needs.
type limitListener struct {
	net.Listener
	max   int
	clock clockwork.Clock
	// quiet, if set, is called when the last open connection closes.
	quiet func()
	open  atomic.Int64

	done      chan struct{}
	closeOnce sync.Once
	// freed is signalled when a connection closes or goes idle.
	freed chan struct{}

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

// evictAfter is how long a connection must have been idle before a new
// one may close it: a client that just connected has that long to send its
// first request.
const evictAfter = time.Second

// newLimitListener returns a limitListener on the real clock (tests set
// another before the first Accept).
func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, max: n, clock: clockwork.NewRealClock(), done: make(chan struct{}),
		freed: make(chan struct{}, 1), conns: make(map[*trackedConn]struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	t := &trackedConn{Conn: c, l: l}
	if err := l.admit(t); err != nil {
		c.Close()
		return nil, err
	}
	return t, nil
}

// admit gives t a slot: a free one, else that of the connection idle
// longest, else the first to free.
func (l *limitListener) admit(t *trackedConn) error {
	for {
		l.mu.Lock()
		if len(l.conns) < l.max {
			t.idleSince.Store(l.clock.Now().UnixNano())
			l.conns[t] = struct{}{}
			l.open.Add(1)
			l.mu.Unlock()
			return nil
		}
		open := make([]*trackedConn, 0, len(l.conns))
		states := make([]connState, 0, len(l.conns))
		for c := range l.conns {
			open = append(open, c)
			states = append(states, c.state())
		}
		l.mu.Unlock()
		victim, wait := evictable(states, l.clock.Now())
		if victim >= 0 {
			_ = open[victim].Close() // frees its slot, whatever the socket says
			continue
		}
		var later <-chan time.Time
		if wait > 0 {
			later = l.clock.After(wait)
		}
		select {
		case <-l.freed:
		case <-later:
		case <-l.done:
			return net.ErrClosed
		}
	}
}

// connState is what the listener knows of one open connection.
type connState struct {
	busy      int32     // requests and streams under way
	idleSince time.Time // when the last one ended, or it opened
}

// evictable picks the connection to close for a new one: of those with
// nothing under way, the one idle longest, if it has been for evictAfter.
// Otherwise it returns -1 and how long until one is (0: every connection
// has something under way; wait for one to end).
func evictable(conns []connState, now time.Time) (victim int, wait time.Duration) {
	victim = -1
	for i, c := range conns {
		if c.busy == 0 && (victim < 0 || c.idleSince.Before(conns[victim].idleSince)) {
			victim = i
		}
	}
	if victim < 0 {
		return -1, 0
	}
	if idle := now.Sub(conns[victim].idleSince); idle < evictAfter {
		return -1, evictAfter - idle
	}
	return victim, 0
}

// join records that process pid is at the other end of t. A process that
// has perProcess connections open already first has its own connection
// idle longest closed (as admit does for all); when each of them has
// something under way, join returns false and how many it holds. A pid of
// 0 (a process the kernel cannot name here) is not counted.
func (l *limitListener) join(t *trackedConn, pid, perProcess int) (ok bool, open int) {
	if pid <= 0 {
		return true, 0
	}
	for {
		l.mu.Lock()
		var mine []*trackedConn
		var states []connState
		for c := range l.conns {
			if c.pid == pid {
				mine = append(mine, c)
				states = append(states, c.state())
			}
		}
		if len(mine) < perProcess {
			t.pid = pid
			l.mu.Unlock()
			return true, len(mine)
		}
		l.mu.Unlock()
		victim, _ := evictable(states, l.clock.Now())
		if victim < 0 {
			return false, len(mine)
		}
		_ = mine[victim].Close()
	}
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *limitListener) signal() {
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

func (l *limitListener) release(t *trackedConn) {
	l.mu.Lock()
	delete(l.conns, t)
	l.mu.Unlock()
	l.signal()
	if l.open.Add(-1) == 0 && l.quiet != nil {
		l.quiet()
	}
}

// trackedConn is a connection of a limitListener: it knows how many
// requests and streams are under way on it, since when none is, and which
// process is at the other end (once the peer check has admitted it).
type trackedConn struct {
	net.Conn
	l         *limitListener
	busy      atomic.Int32
	idleSince atomic.Int64 // unix nanoseconds
	pid       int          // guarded by l.mu; 0 until joined
	closeOnce sync.Once
}

var errNotSocket = errors.New("the connection is not on a socket")

// SyscallConn gives the peer check the socket.
func (c *trackedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNotSocket
}

func (c *trackedConn) Close() error {
	c.closeOnce.Do(func() { c.l.release(c) })
	return c.Conn.Close()
}

// begin records a request or stream under way; call the function it
// returns when it ends.
func (c *trackedConn) begin() (end func()) {
	c.busy.Add(1)
	return func() {
		if c.busy.Add(-1) == 0 {
			c.idleSince.Store(c.l.clock.Now().UnixNano())
			c.l.signal()
		}
	}
}

func (c *trackedConn) state() connState {
	return connState{busy: c.busy.Load(), idleSince: time.Unix(0, c.idleSince.Load())}
}
