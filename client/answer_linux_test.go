package client

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// TestADaemonThatAcceptsNothingIsStuck: once the queue of connections a
// stopped daemon has not accepted is full, connecting fails at once
// (EAGAIN); that daemon is stuck too, not absent.
func TestADaemonThatAcceptsNothingIsStuck(t *testing.T) {
	socket := filepath.Join(testprobe.ShortDir(t), "d.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: socket}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil { // and never accept
		t.Fatal(err)
	}
	for full := false; !full; {
		c, err := net.Dial("unix", socket)
		if full = errors.Is(err, syscall.EAGAIN); !full {
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
		}
	}
	c, err := Dial(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.SignURL(context.Background(), &broker.SignRequest{Repository: "r"})
	var stuck *StuckError
	if !errors.As(err, &stuck) || err.Error() != "the daemon on "+socket+" does not answer (stopped or stuck)" {
		t.Fatalf("a daemon whose queue is full: %v, want a *StuckError", err)
	}
}
