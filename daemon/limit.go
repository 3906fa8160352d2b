package daemon

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// limitListener keeps at most max connections open, and room for new
// ones: when all are taken, a new connection closes the one idle longest
// (no request or stream under way for at least evictAfter: a client done
// with it, one that connected and sent nothing). When every connection has
// something under way, a new one is still accepted, up to maxQueued of
// them, so the daemon answers it (its HTTP/2 handshake, health checks: a
// busy daemon is never taken for a stopped one); its first request waits
// for a slot (take). Only beyond that do new connections wait in the
// kernel's queue. Nor can any one client keep them all busy: one process
// may have something under way on at most perProcess connections (a
// request beyond is refused), and long-lived streams are capped apart
// (MaxLongStreams). A connection is closed once it is older than maxAge
// (ending its streams), unless it carries a git transport stream, which
// lasts as long as its git operation (then it is closed when the last one
// ends). Unlike golang.org/x/net/netutil's, its connections still give
// access to the socket (syscall.Conn), which the peer check needs.
type limitListener struct {
	net.Listener
	max, perProcess, maxQueued int
	// now is the clock idle times are read from (time.Now; a test moves
	// it to age every connection at once).
	now func() time.Time
	// quiet, if set, is called when the last open connection closes.
	quiet func()
	open  atomic.Int64
	// maxAge is how old a connection without a transport stream may get.
	maxAge time.Duration

	done      chan struct{}
	closeOnce sync.Once

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	// queued counts the connections accepted without a slot.
	queued int
	// freed is closed, and replaced, when a connection closes or goes
	// idle: it wakes every wait for a slot.
	freed chan struct{}
	// busy counts, per process, its connections with something under way.
	busy map[int]int
}

// evictAfter is how long a connection must have been idle before a new
// one may close it: a client that just connected has that long to send its
// first request.
const evictAfter = time.Second

// newLimitListener returns a limitListener of n connections (and as many
// queued), at most MaxConnectionsPerProcess of them busy for one process
// (tests change these before the first Accept).
func newLimitListener(l net.Listener, n int) *limitListener {
	ll := &limitListener{Listener: l, max: n, perProcess: MaxConnectionsPerProcess, maxQueued: n, now: time.Now,
		maxAge: MaxConnectionAge + MaxConnectionAgeGrace,
		done:   make(chan struct{}), freed: make(chan struct{}),
		conns: make(map[*trackedConn]struct{}), busy: make(map[int]int)}
	go ll.reap()
	return ll
}

// ageCheck is how often the listener looks for connections past maxAge.
const ageCheck = 10 * time.Second

// reap closes, every ageCheck until the listener closes, the connections
// past maxAge that carry no transport stream.
func (l *limitListener) reap() {
	t := time.NewTicker(ageCheck)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			l.closeAged()
		}
	}
}

// closeAged closes the connections past maxAge that carry no transport
// stream.
func (l *limitListener) closeAged() {
	l.mu.Lock()
	var old []*trackedConn
	now := l.now()
	for c := range l.conns {
		if aged(c.opened, c.transports, now, l.maxAge) {
			old = append(old, c)
		}
	}
	l.mu.Unlock()
	for _, c := range old {
		_ = c.Close()
	}
}

// aged reports whether a connection opened at opened, carrying transports
// transport streams, is to be closed at now.
func aged(opened time.Time, transports int, now time.Time, maxAge time.Duration) bool {
	return transports == 0 && now.Sub(opened) >= maxAge
}

func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	t := &trackedConn{Conn: c, l: l, opened: l.now()}
	if err := l.admit(t, true, nil); err != nil {
		c.Close()
		return nil, err
	}
	l.open.Add(1)
	return t, nil
}

// errStopped ends a wait for a slot whose request ended first.
var errStopped = errors.New("the request ended before a connection slot was free")

// admit gives t a slot: a free one, else that of the connection idle
// longest; else, when queue is set and there is room, it queues t (its
// first request takes a slot); else it waits for the first slot to free,
// until the listener closes or stop is closed.
func (l *limitListener) admit(t *trackedConn, queue bool, stop <-chan struct{}) error {
	for {
		l.mu.Lock()
		if _, in := l.conns[t]; in || t.closed {
			l.mu.Unlock()
			if t.closed {
				return net.ErrClosed
			}
			return nil
		}
		if len(l.conns) < l.max {
			if t.queued {
				t.queued = false
				l.queued--
			}
			t.idleSince = l.now()
			l.conns[t] = struct{}{}
			l.mu.Unlock()
			return nil
		}
		open := make([]*trackedConn, 0, len(l.conns))
		states := make([]connState, 0, len(l.conns))
		for c := range l.conns {
			open = append(open, c)
			states = append(states, connState{busy: c.busy, idleSince: c.idleSince})
		}
		victim, wait := evictable(states, l.now())
		if victim < 0 && queue && l.queued < l.maxQueued {
			t.queued = true
			l.queued++
			l.mu.Unlock()
			return nil
		}
		freed := l.freed
		l.mu.Unlock()
		if victim >= 0 {
			_ = open[victim].Close() // frees its slot, whatever the socket says
			continue
		}
		var later <-chan time.Time
		if wait > 0 {
			later = time.After(wait)
		}
		select {
		case <-freed:
		case <-later:
		case <-l.done:
			return net.ErrClosed
		case <-stop:
			return errStopped
		}
	}
}

// connState is what the listener knows of one open connection.
type connState struct {
	busy      int       // requests and streams under way
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

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// wake wakes every wait for a slot; l.mu is held.
func (l *limitListener) wake() {
	close(l.freed)
	l.freed = make(chan struct{})
}

func (l *limitListener) release(t *trackedConn) {
	l.mu.Lock()
	t.closed = true
	if t.queued {
		t.queued = false
		l.queued--
	}
	if _, in := l.conns[t]; in {
		delete(l.conns, t)
		if t.busy > 0 {
			l.idle(t.pid)
		}
	}
	l.wake()
	l.mu.Unlock()
	if l.open.Add(-1) == 0 && l.quiet != nil {
		l.quiet()
	}
}

// idle counts one connection of process pid less as busy; l.mu is held.
func (l *limitListener) idle(pid int) {
	if pid <= 0 {
		return
	}
	if l.busy[pid]--; l.busy[pid] <= 0 {
		delete(l.busy, pid)
	}
}

// trackedConn is a connection of a limitListener: it knows which process
// is at the other end (once the peer check has asked), whether it waits
// for a slot, how many requests and streams are under way on it, and
// since when none is.
type trackedConn struct {
	net.Conn
	l         *limitListener
	closeOnce sync.Once
	// Guarded by l.mu:
	pid       int // 0: not known
	queued    bool
	closed    bool
	busy      int
	idleSince time.Time
	opened    time.Time
	// transports counts the git transport streams under way on it.
	transports int
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

// setPID records which process is at the other end.
func (c *trackedConn) setPID(pid int) {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	c.pid = pid
}

// isQueued reports whether c was accepted without a slot and has none yet.
func (c *trackedConn) isQueued() bool {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	return c.queued
}

// take gives a queued c a slot (see limitListener.admit), waiting until
// one frees or stop is closed; for a connection with a slot it does
// nothing.
func (c *trackedConn) take(stop <-chan struct{}) error {
	return c.l.admit(c, false, stop)
}

// begin records a request or stream under way on c, and returns the
// function to call when it ends. When c has nothing under way yet and its
// process already has perProcess busy connections, it records nothing and
// returns nil and that number. A process the kernel could not name (pid 0)
// is not counted, nor a connection already closed; a busy connection
// counts until it idles or closes, whichever comes first.
func (c *trackedConn) begin() (end func(), busy int) { return c.beginCounting(0) }

// beginCounting is begin, adding transports to c's git transport streams
// in the same critical section, so that the age reaper never sees the
// request without the stream.
func (c *trackedConn) beginCounting(transports int) (end func(), busy int) {
	l := c.l
	l.mu.Lock()
	if _, open := l.conns[c]; open && c.busy == 0 && c.pid > 0 {
		if n := l.busy[c.pid]; n >= l.perProcess {
			l.mu.Unlock()
			return nil, n
		}
		l.busy[c.pid]++
	}
	c.busy++
	c.transports += transports
	l.mu.Unlock()
	return sync.OnceFunc(func() {
		l.mu.Lock()
		if c.busy--; c.busy == 0 {
			c.idleSince = l.now()
			if _, open := l.conns[c]; open {
				l.idle(c.pid)
			}
		}
		l.wake()
		l.mu.Unlock()
	}), 0
}

// beginTransport is begin for a git transport stream: the connection is
// not closed for its age while one is under way; once the last ends, a
// connection past its age is closed.
func (c *trackedConn) beginTransport() (end func(), busy int) {
	request, busy := c.beginCounting(1)
	if request == nil {
		return nil, busy
	}
	l := c.l
	return sync.OnceFunc(func() {
		l.mu.Lock()
		c.transports--
		old := aged(c.opened, c.transports, l.now(), l.maxAge)
		l.mu.Unlock()
		request()
		if old {
			_ = c.Close()
		}
	}), 0
}
