package wanlink_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/testprobe"
	"github.com/codecommitd/codecommitd/internal/wanlink"
)

const rtt = 40 * time.Millisecond

// target serves every connection made to it with handle, and stops (its
// listener, its connections, its goroutines) with the test.
func target(t *testing.T, handle func(*net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Go(func() { handle(c.(*net.TCPConn)) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func echo(c *net.TCPConn) {
	defer c.Close()
	io.Copy(c, c)
}

func newLink(t *testing.T, cfg wanlink.Config) *wanlink.Link {
	t.Helper()
	l, err := wanlink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dial(t *testing.T, l *wanlink.Link) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A broken link must fail the test, not hang it.
	c.SetDeadline(time.Now().Add(time.Minute))
	return c.(*net.TCPConn)
}

// TestConnectingCostsOneRoundTrip checks, with timestamps taken at both
// ends, that the first byte either way arrives no earlier than TCP's
// handshake would let it: the client's at the target 1.5 RTT after the
// connection was made, the target's at the client 2 RTT after.
func TestConnectingCostsOneRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  wanlink.Config
		set  bool // SetRTT(rtt) after New
	}{
		{name: "RTT in the config", cfg: wanlink.Config{RTT: rtt}},
		{name: "RTT set later", set: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Run("client speaks first", func(t *testing.T) {
				arrived := make(chan time.Time, 1)
				c.cfg.Target = target(t, func(conn *net.TCPConn) {
					defer conn.Close()
					b := make([]byte, 1)
					if _, err := conn.Read(b); err != nil {
						return
					}
					arrived <- time.Now()
					conn.Write(b)
				})
				l := newLink(t, c.cfg)
				if c.set {
					l.SetRTT(rtt)
				}
				start := time.Now()
				conn := dial(t, l)
				if _, err := conn.Write([]byte("x")); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
					t.Fatal(err)
				}
				back := time.Since(start)
				if there := (<-arrived).Sub(start); there < rtt+rtt/2 {
					t.Errorf("the first byte reached the target %s after connecting, want ≥ 1.5 RTT (%s)", there, rtt+rtt/2)
				}
				if back < 2*rtt {
					t.Errorf("the echo came back %s after connecting, want ≥ 2 RTT (%s)", back, 2*rtt)
				}
			})
			t.Run("target speaks first", func(t *testing.T) {
				c.cfg.Target = target(t, func(conn *net.TCPConn) {
					defer conn.Close()
					conn.Write([]byte("hello"))
					io.Copy(io.Discard, conn)
				})
				l := newLink(t, c.cfg)
				if c.set {
					l.SetRTT(rtt)
				}
				start := time.Now()
				conn := dial(t, l)
				if _, err := io.ReadFull(conn, make([]byte, 5)); err != nil {
					t.Fatal(err)
				}
				if got := time.Since(start); got < 2*rtt {
					t.Errorf("the target's greeting arrived %s after connecting, want ≥ 2 RTT (%s)", got, 2*rtt)
				}
			})
		})
	}
}

// TestPingPong checks that each exchange over an open connection costs one
// round trip: never less, and not two.
func TestPingPong(t *testing.T) {
	l := newLink(t, wanlink.Config{Target: target(t, echo), RTT: rtt})
	const n = 10
	start := time.Now()
	conn := dial(t, l)
	var took []time.Duration
	b := make([]byte, 1)
	for i := range n {
		t0 := time.Now()
		if _, err := conn.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(conn, b); err != nil {
			t.Fatal(err)
		}
		if b[0] != byte(i) {
			t.Fatalf("exchange %d: got %d back", i, b[0])
		}
		took = append(took, time.Since(t0))
	}
	if total := time.Since(start); total < (n+1)*rtt {
		t.Errorf("%d exchanges took %s from connecting, want ≥ %d RTT (%s): one to connect, one each", n, total, n+1, (n+1)*rtt)
	}
	for i, d := range took[1:] {
		if d < rtt {
			t.Errorf("exchange %d took %s, want ≥ RTT (%s)", i+1, d, rtt)
		}
	}
	// A busy machine can slow any exchange, but not every one.
	if fastest := slices.Min(took); fastest >= 2*rtt {
		t.Errorf("the fastest exchange took %s: the link charges more than RTT/2 each way (RTT %s)", fastest, rtt)
	}
}

// TestAStreamArrivesIntact echoes 10 MiB at RTT 100 ms. Pipelined, it takes
// a few round trips; a link that held each chunk for RTT/2 in turn would
// take over 16 s (320 chunks or more of at most 32 KiB, 50 ms each).
func TestAStreamArrivesIntact(t *testing.T) {
	const size = 10 << 20
	l := newLink(t, wanlink.Config{Target: target(t, echo), RTT: 100 * time.Millisecond})
	want := make([]byte, size)
	rand.Read(want)
	start := time.Now()
	conn := dial(t, l)
	sent := make(chan error, 1)
	go func() {
		_, err := conn.Write(want)
		if err == nil {
			err = conn.CloseWrite()
		}
		sent <- err
	}()
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes back, not the %d sent (or not the same)", len(got), len(want))
	}
	if took > 8*time.Second {
		t.Errorf("10 MiB took %s: chunks wait for each other", took)
	}
	if s := l.Stats(); s != (wanlink.Stats{Conns: 1, Up: size, Down: size}) {
		t.Errorf("stats %+v, want 1 connection and %d bytes each way", s, size)
	}
	t.Logf("10 MiB each way at RTT 100 ms in %s", took)
}

// TestCloseTravels checks half-close and close both ways.
func TestCloseTravels(t *testing.T) {
	t.Run("client half-closes, target answers and closes", func(t *testing.T) {
		l := newLink(t, wanlink.Config{RTT: rtt, Target: target(t, func(c *net.TCPConn) {
			defer c.Close()
			b, err := io.ReadAll(c) // up to the client's CloseWrite
			if err != nil {
				return
			}
			c.Write(append([]byte("got "), b...))
		})})
		conn := dial(t, l)
		conn.Write([]byte("ping"))
		if err := conn.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(conn)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "got ping" {
			t.Errorf("got %q, want %q and then the target's close", got, "got ping")
		}
	})
	t.Run("target closes", func(t *testing.T) {
		l := newLink(t, wanlink.Config{RTT: rtt, Target: target(t, func(c *net.TCPConn) {
			c.Write([]byte("bye"))
			c.Close()
		})})
		got, err := io.ReadAll(dial(t, l))
		if err != nil || string(got) != "bye" {
			t.Errorf("read %q, %v; want %q, then EOF", got, err, "bye")
		}
	})
	t.Run("client resets", func(t *testing.T) {
		started, ended := make(chan struct{}), make(chan error, 1)
		l := newLink(t, wanlink.Config{RTT: rtt, Target: target(t, func(c *net.TCPConn) {
			defer c.Close()
			if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
				ended <- err
				return
			}
			close(started)
			_, err := io.Copy(io.Discard, c)
			ended <- err
		})})
		conn := dial(t, l)
		conn.Write([]byte("x"))
		<-started
		conn.SetLinger(0)
		conn.Close()
		if err := <-ended; err == nil {
			t.Error("the target saw a clean end of the stream, want a reset")
		}
	})
	t.Run("nothing listens at the target", func(t *testing.T) {
		l := newLink(t, wanlink.Config{RTT: rtt, Target: testprobe.RefusingAddr(t)})
		conn, err := net.Dial("tcp", l.Addr())
		if err == nil { // else the reset came before connect returned
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(time.Minute))
			_, err = io.ReadAll(conn)
		}
		if err == nil {
			t.Error("the client saw a clean end of the stream, want a reset")
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("the client's read timed out: the link never gave up on the target")
		}
		if s := l.Stats(); s.Conns != 1 {
			t.Errorf("stats %+v, want 1 connection", s)
		}
	})
}

// TestCloseEndsEverything closes a link while bytes are in flight on
// several connections: Close returns at once, not when they would have
// arrived, both ends of each connection are closed, and no goroutine of the
// link is left.
func TestCloseEndsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	accepted, ended := make(chan struct{}, 8), make(chan struct{}, 8)
	addr := target(t, func(c *net.TCPConn) {
		defer c.Close()
		accepted <- struct{}{}
		io.Copy(io.Discard, c)
		ended <- struct{}{}
	})
	l, err := wanlink.New(wanlink.Config{Target: addr, RTT: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var conns []*net.TCPConn
	for range 8 {
		c := dial(t, l)
		c.Write([]byte("in flight for 30 s"))
		conns = append(conns, c)
	}
	for range 8 {
		<-accepted // the link has dialled the target for each
	}
	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the bytes in flight")
	}
	for i, c := range conns {
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("connection %d is still open at the client's end", i)
		} else if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("connection %d: the client's end was never closed", i)
		}
	}
	for range 8 {
		select {
		case <-ended:
		case <-time.After(time.Minute):
			t.Fatal("a connection is still open at the target's end")
		}
	}
	// Only the target's accept loop is left.
	for deadline := time.Now().Add(time.Minute); runtime.NumGoroutine() > before+1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before the link:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
	}
}

// TestManyConnections echoes on 64 connections at once and checks every
// byte and the counters.
func TestManyConnections(t *testing.T) {
	const conns, size = 64, 256 << 10
	l := newLink(t, wanlink.Config{Target: target(t, echo), RTT: 20 * time.Millisecond})
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for range conns {
		conn := dial(t, l)
		wg.Go(func() {
			want := make([]byte, size)
			rand.Read(want)
			go func() {
				conn.Write(want)
				conn.CloseWrite()
			}()
			got, err := io.ReadAll(conn)
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("the echo differs from what was sent")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if s := l.Stats(); s != (wanlink.Stats{Conns: conns, Up: conns * size, Down: conns * size}) {
		t.Errorf("stats %+v, want %d connections and %d bytes each way", s, conns, conns*size)
	}
}

// TestBandwidthIsShared sends 512 KiB on each of two connections over a
// 4 MiB/s link: the last byte cannot arrive before 1 MiB took its 250 ms.
func TestBandwidthIsShared(t *testing.T) {
	const size = 512 << 10
	type end struct {
		at time.Time
		n  int64
	}
	done := make(chan end, 2)
	l := newLink(t, wanlink.Config{Bandwidth: 4 << 20, Target: target(t, func(c *net.TCPConn) {
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		done <- end{time.Now(), n}
	})})
	start := time.Now()
	for range 2 {
		conn := dial(t, l)
		go func() {
			conn.Write(make([]byte, size))
			conn.CloseWrite()
		}()
	}
	var last time.Time
	for range 2 {
		e := <-done
		if e.n != size {
			t.Fatalf("the target got %d bytes, want %d", e.n, size)
		}
		if e.at.After(last) {
			last = e.at
		}
	}
	if took := last.Sub(start); took < 250*time.Millisecond {
		t.Errorf("2 × 512 KiB arrived in %s over 4 MiB/s, want ≥ 250 ms", took)
	}
}
