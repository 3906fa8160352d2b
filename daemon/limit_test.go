//go:build unix

package daemon

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestEvictable(t *testing.T) {
	now := time.Unix(1000, 0)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, tc := range []struct {
		name   string
		conns  []connState
		victim int
		wait   time.Duration
	}{
		{"every connection busy", []connState{{busy: 1, idleSince: ago(time.Hour)}, {busy: 3, idleSince: ago(time.Hour)}}, -1, 0},
		{"the one idle longest", []connState{{idleSince: ago(2 * time.Second)}, {idleSince: ago(time.Minute)}, {idleSince: ago(5 * time.Second)}}, 1, 0},
		{"busy ones are never closed, however old", []connState{{busy: 1, idleSince: ago(time.Hour)}, {idleSince: ago(3 * time.Second)}}, 1, 0},
		{"idle exactly evictAfter", []connState{{busy: 1}, {idleSince: ago(evictAfter)}}, 1, 0},
		{"a new connection gets time for its first request", []connState{{busy: 1}, {idleSince: ago(300 * time.Millisecond)}}, -1, evictAfter - 300*time.Millisecond},
		{"waits for the one idle longest", []connState{{idleSince: ago(100 * time.Millisecond)}, {idleSince: ago(400 * time.Millisecond)}}, -1, evictAfter - 400*time.Millisecond},
		{"none", nil, -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			victim, wait := evictable(tc.conns, now)
			if victim != tc.victim || wait != tc.wait {
				t.Errorf("evictable = %d, %s; want %d, %s", victim, wait, tc.victim, tc.wait)
			}
		})
	}
}

// accepted runs Accept in the background.
func accepted(l net.Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			c = nil
		}
		ch <- c
	}()
	return ch
}

// pipeListener hands out the server ends of net.Pipe connections, so that
// a listener on it runs in a synctest bubble (a real socket's waits are
// not the bubble's).
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn, 16), done: make(chan struct{})}
}

// dial returns the client end of a new connection.
func (l *pipeListener) dial() net.Conn {
	c, s := net.Pipe()
	l.conns <- s
	return c
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "unix"} }

func TestLimitListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := newPipeListener()
		l := newLimitListener(inner, 2)
		l.maxAge = 1000 * time.Hour // TestAgedConnections checks the age
		l.maxQueued = 0             // connections wait in Accept, as beyond the queue
		defer l.Close()
		var clients []net.Conn
		for range 4 {
			c := inner.dial()
			defer c.Close()
			clients = append(clients, c)
		}
		var conns []*trackedConn
		for range 2 {
			c, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.(syscall.Conn); !ok {
				t.Fatalf("accepted %T hides the socket from the peer check", c)
			}
			conns = append(conns, c.(*trackedConn))
		}
		end, _ := conns[1].begin() // a request under way on the second

		// Full: the third waits until the idle first has had its second.
		third := accepted(l)
		synctest.Wait()
		select {
		case <-third:
			t.Fatal("a connection was closed for a new one before it could send its first request")
		default:
		}
		time.Sleep(evictAfter)
		c3 := <-third
		if c3 == nil {
			t.Fatal("the third connection was not accepted")
		}
		defer c3.Close()
		if !isClosed(clients[0]) {
			t.Error("the idle connection was not closed for the new one")
		}
		if l.open.Load() != 2 {
			t.Errorf("%d open, want 2", l.open.Load())
		}

		// Busy and too new: the fourth waits, however long, for one to end.
		c3.(*trackedConn).begin()
		fourth := accepted(l)
		time.Sleep(time.Hour)
		synctest.Wait()
		select {
		case <-fourth:
			t.Fatal("a connection with a request under way was closed for a new one")
		default:
		}
		end()
		synctest.Wait() // it waits for the one just idle
		select {
		case <-fourth:
			t.Fatal("a connection was closed for a new one the moment its request ended")
		default:
		}
		time.Sleep(evictAfter)
		if c4 := <-fourth; c4 == nil {
			t.Fatal("the fourth connection was not accepted once a request ended")
		} else {
			defer c4.Close()
		}
		if !isClosed(clients[1]) {
			t.Error("the connection idle longest was not closed for the fourth")
		}
		c3.Close()
		c3.Close() // a second Close must not free a second slot
		if l.open.Load() != 1 {
			t.Errorf("after one close %d open, want 1", l.open.Load())
		}

		// Closing the listener ends a wait.
		done := make(chan error, 1)
		go func() {
			_, err := l.Accept()
			done <- err
		}()
		l.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close = %v", err)
		}
	})
}

// TestOneProcessKeepsAtMostPerProcessBusy: a request on a connection of
// its own is refused to a process that keeps perProcess connections busy
// already; more requests on a busy connection, another process's, and
// connections of a process the kernel could not name are not.
func TestOneProcessKeepsAtMostPerProcessBusy(t *testing.T) {
	path := filepath.Join(testprobe.ShortDir(t), "s")
	inner, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitListener(inner, 10)
	l.perProcess = 2
	defer l.Close()
	conn := func(pid int) *trackedConn {
		t.Helper()
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		a, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		a.(*trackedConn).setPID(pid)
		return a.(*trackedConn)
	}
	busy := func(c *trackedConn) func() {
		t.Helper()
		end, n := c.begin()
		if end == nil {
			t.Fatalf("refused (pid %d busy on %d)", c.pid, n)
		}
		return end
	}
	first, second, third := conn(7), conn(7), conn(7)
	end1 := busy(first)
	end1b := busy(first) // a second stream on a busy connection
	busy(second)
	if end, n := third.begin(); end != nil || n != 2 {
		t.Fatalf("a third busy connection of pid 7: end %v, busy %d; want refused, 2", end != nil, n)
	}
	busy(conn(8))
	busy(conn(0))
	busy(conn(0))
	busy(conn(0))
	end1()
	if end, _ := third.begin(); end != nil {
		t.Fatal("still counted busy with a stream under way on it")
	}
	// Closing a busy connection frees its place, once.
	first.Close()
	end1b()
	end3 := busy(third)
	end3()
	end3() // a second end must not free a second place either
	if l.busy[7] != 1 {
		t.Errorf("pid 7 busy on %d, want 1 (second)", l.busy[7])
	}
}

// TestAgedConnections: a connection past its age is closed, ending its
// streams, unless a git transport stream is under way on it; that one is
// closed when its last transport stream ends.
func TestAgedConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := newPipeListener()
		l := newLimitListener(inner, 8)
		defer l.Close()
		var clients []net.Conn
		var conns []*trackedConn
		for range 3 {
			c := inner.dial()
			defer c.Close()
			clients = append(clients, c)
			a, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, a.(*trackedConn))
		}
		conns[0].begin() // a health Watch, say
		endTransport, _ := conns[1].beginTransport()
		// conns[2]: nothing under way
		time.Sleep(l.maxAge + ageCheck)
		synctest.Wait()
		if !isClosed(clients[0]) || !isClosed(clients[2]) {
			t.Error("a connection past its age without a transport stream is still open")
		}
		if isClosed(clients[1]) {
			t.Fatal("a connection carrying a git transport stream was closed for its age")
		}
		time.Sleep(10 * l.maxAge) // an hour-long push
		synctest.Wait()
		if isClosed(clients[1]) {
			t.Fatal("a connection carrying a git transport stream was closed for its age")
		}
		endTransport()
		synctest.Wait()
		if !isClosed(clients[1]) {
			t.Error("the old connection stays open once its transport stream ended")
		}
	})
}

func TestAged(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		age        time.Duration
		transports int
		want       bool
	}{
		{time.Minute, 0, false},
		{6 * time.Minute, 0, true},
		{6 * time.Minute, 1, false},
		{10 * time.Hour, 2, false},
	} {
		if got := aged(t0, tc.transports, t0.Add(tc.age), 6*time.Minute); got != tc.want {
			t.Errorf("aged(%s old, %d transport streams) = %v, want %v", tc.age, tc.transports, got, tc.want)
		}
	}
}

// isClosed reports whether c's other end has been closed, without waiting
// for more than a moment on an open one.
func isClosed(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	defer c.SetReadDeadline(time.Time{})
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

// TestLimitListenerQueues: with every slot busy, a new connection is
// accepted at once without one (up to maxQueued, then Accept waits); its
// first request waits for a slot and gets the first to free, or gives up
// when it ends; a health check on it needs none.
func TestLimitListenerQueues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := newPipeListener()
		l := newLimitListener(inner, 1)
		l.maxQueued = 2
		defer l.Close()
		accept := func() *trackedConn {
			t.Helper()
			c := inner.dial()
			t.Cleanup(func() { c.Close() })
			a, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			return a.(*trackedConn)
		}
		first := accept()
		end, _ := first.begin()
		second, third := accept(), accept()
		if !second.isQueued() || !third.isQueued() {
			t.Fatal("connections accepted while every slot is busy have a slot")
		}
		if l.open.Load() != 3 {
			t.Errorf("%d open, want 3 (queued ones count)", l.open.Load())
		}
		// Beyond the queue, Accept waits.
		inner.dial()
		fourth := accepted(l)
		synctest.Wait()
		select {
		case <-fourth:
			t.Fatal("a connection beyond the queue was accepted")
		default:
		}
		// A request that ends before a slot frees gives up.
		stop := make(chan struct{})
		gaveUp := make(chan error, 1)
		go func() { gaveUp <- third.take(stop) }()
		took := make(chan error, 1)
		go func() { took <- second.take(nil) }()
		synctest.Wait()
		close(stop)
		if err := <-gaveUp; !errors.Is(err, errStopped) {
			t.Errorf("a wait whose request ended: %v, want errStopped", err)
		}
		select {
		case err := <-took:
			t.Fatalf("a queued connection got a slot while every one was busy: %v", err)
		default:
		}
		// The busy one ends, and is idle for evictAfter: the waiting
		// request takes its slot.
		end()
		time.Sleep(evictAfter)
		if err := <-took; err != nil {
			t.Fatalf("the queued request: %v", err)
		}
		if second.isQueued() {
			t.Error("still queued after taking a slot")
		}
		if err := second.take(nil); err != nil {
			t.Errorf("take on a connection with a slot: %v", err)
		}
		// Closing a queued connection frees its place in the queue.
		third.Close()
		if c4 := <-fourth; c4 == nil {
			t.Fatal("Accept did not go on when the queue had room")
		} else {
			defer c4.Close()
		}
	})
}
