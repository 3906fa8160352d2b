//go:build unix

package daemon

import (
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestLimitListener(t *testing.T) {
	path := filepath.Join(testprobe.ShortDir(t), "s")
	inner, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitListener(inner, 2)
	defer l.Close()
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for range 2 {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.(syscall.Conn); !ok {
			t.Fatalf("accepted %T hides the socket from the peer check", c)
		}
		conns = append(conns, c)
	}
	if len(l.sem) != 2 {
		t.Fatalf("%d slots taken, want 2", len(l.sem))
	}
	conns[0].Close()
	conns[0].Close() // a second Close must not free a second slot
	if len(l.sem) != 1 {
		t.Fatalf("after one close %d slots taken, want 1", len(l.sem))
	}
	third, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	// A full listener's Accept waits; closing the listener ends the wait.
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	l.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v", err)
	}
}
