//go:build unix

package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/testprobe"
	"github.com/codecommitd/codecommitd/internal/wire"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// freezer is a listener whose connections can be frozen the way SIGSTOP
// freezes a process: the kernel still accepts connections and takes the
// bytes clients send, but the server accepts, reads and sends nothing until
// it is thawed.
type freezer struct {
	*net.UnixListener
	mu   sync.Mutex
	gate chan struct{} // closed while thawed
}

func newFreezer(t *testing.T, socket string) *freezer {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{UnixListener: l, gate: make(chan struct{})}
	close(f.gate)
	return f
}

func (f *freezer) wait() {
	f.mu.Lock()
	g := f.gate
	f.mu.Unlock()
	<-g
}

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = make(chan struct{})
}

func (f *freezer) thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.gate:
	default:
		close(f.gate)
	}
}

func (f *freezer) Accept() (net.Conn, error) {
	c, err := f.AcceptUnix()
	if err != nil {
		return nil, err
	}
	f.wait()
	return &frozenConn{UnixConn: c, f: f}, nil
}

// frozenConn keeps *net.UnixConn's SyscallConn, for the daemon's peer
// check.
type frozenConn struct {
	*net.UnixConn
	f *freezer
}

func (c *frozenConn) Read(b []byte) (int, error) {
	n, err := c.UnixConn.Read(b)
	c.f.wait() // what it read is handled once the process runs again
	return n, err
}

func (c *frozenConn) Write(b []byte) (int, error) {
	c.f.wait()
	return c.UnixConn.Write(b)
}

// slowBroker answers SignURL after its hold, or when released; entered
// says a request arrived.
type slowBroker struct {
	hold    time.Duration
	entered chan struct{}
}

func (b *slowBroker) SignURL(ctx context.Context, _ *broker.SignRequest) (*broker.SignedURL, error) {
	b.entered <- struct{}{}
	select {
	case <-time.After(b.hold):
		return &broker.SignedURL{URL: "https://h/v1/repos/r", Username: "u", Password: "p"}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
func (b *slowBroker) Status(context.Context) (*broker.Status, error)    { return &broker.Status{}, nil }
func (b *slowBroker) Forget(context.Context, string, bool) (int, error) { return 0, nil }
func (b *slowBroker) SSOSessionChanged(context.Context, broker.SSOSession) error {
	return nil
}

// serveDaemon serves b's SignURL and a health service, as the daemon
// does, on a freezable socket in a private folder. (That the daemon's own
// server answers at once, health checks included, while requests wait is
// its tests': package daemon's slots_test.go, with this package's client.)
func serveDaemon(t *testing.T, b broker.Broker) (socket string, f *freezer) {
	t.Helper()
	socket = filepath.Join(testprobe.ShortDir(t), "d.sock")
	f = newFreezer(t, socket)
	srv := grpc.NewServer()
	codecommitdv1.RegisterBrokerServiceServer(srv, signer{b: b})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(f)
	t.Cleanup(func() { f.thaw(); srv.Stop() })
	return socket, f
}

// signer serves SignURL from b.
type signer struct {
	codecommitdv1.UnimplementedBrokerServiceServer
	b broker.Broker
}

func (s signer) SignURL(ctx context.Context, m *codecommitdv1.SignURLRequest) (*codecommitdv1.SignURLResponse, error) {
	u, err := s.b.SignURL(ctx, wire.SignRequestFromProto(m))
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return wire.SignedURLToProto(u), nil
}

var quick = timing{answer: 300 * time.Millisecond, probe: 100 * time.Millisecond}

// TestAStoppedDaemonIsKnownWithinSeconds: a daemon stopped before a
// connection, between two requests or during one fails the request within
// the probe interval and the answer timeout, with the pid the kernel gave.
func TestAStoppedDaemonIsKnownWithinSeconds(t *testing.T) {
	for _, tc := range []struct {
		name string
		// stop freezes the daemon at the right moment and returns the
		// request to make then.
		stop func(c *Client, f *freezer, b *slowBroker) (hold time.Duration)
	}{
		{"before the first connection", func(_ *Client, f *freezer, _ *slowBroker) time.Duration {
			f.freeze()
			return 0
		}},
		{"between two requests", func(c *Client, f *freezer, b *slowBroker) time.Duration {
			go func() { <-b.entered }()
			if _, err := c.SignURL(context.Background(), &broker.SignRequest{Repository: "r"}); err != nil {
				t.Fatal(err)
			}
			f.freeze()
			return 0
		}},
		{"during a request", func(_ *Client, f *freezer, b *slowBroker) time.Duration {
			go func() { <-b.entered; f.freeze() }()
			return time.Hour
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &slowBroker{entered: make(chan struct{}, 1)}
			socket, f := serveDaemon(t, b)
			c, err := Dial(socket)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.timing = quick
			b.hold = tc.stop(c, f, b)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			_, err = c.SignURL(ctx, &broker.SignRequest{Repository: "r"})
			took := time.Since(start)
			var stuck *StuckError
			if !errors.As(err, &stuck) || !errors.Is(err, broker.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("after %s: %v, want a *StuckError", took, err)
			}
			want := fmt.Sprintf("the daemon on %s (pid %d) does not answer (stopped or stuck)", socket, os.Getpid())
			if err.Error() != want {
				t.Errorf("message\n got: %s\nwant: %s", err, want)
			}
			if bound := 10 * (quick.answer + quick.probe); took > bound {
				t.Errorf("took %s to notice (bound %s)", took, bound)
			}
		})
	}
}

// TestABusyDaemonIsWaitedFor: a request the daemon works on for many probe
// intervals (a slow STS, an MFA prompt another process holds) is not cut.
func TestABusyDaemonIsWaitedFor(t *testing.T) {
	b := &slowBroker{hold: 5 * (quick.answer + quick.probe), entered: make(chan struct{}, 1)}
	socket, _ := serveDaemon(t, b)
	c, err := Dial(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.timing = quick
	if _, err := c.SignURL(context.Background(), &broker.SignRequest{Repository: "r"}); err != nil {
		t.Fatalf("a request the daemon worked on for %s was cut: %v", b.hold, err)
	}
}

// TestAStoppedDaemonGetsNoSecondDaemon: the helpers resolve in-process at
// once, saying which process does not answer, and never try to start a
// daemon beside it.
func TestAStoppedDaemonGetsNoSecondDaemon(t *testing.T) {
	socket, f := serveDaemon(t, &slowBroker{entered: make(chan struct{}, 1)})
	f.freeze()
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	bin := filepath.Join(dir, "codecommitd")
	os.WriteFile(bin, []byte("#!/bin/sh\necho \"$1\" >> "+runs+"\nexit 1\n"), 0o755)
	var stderr bytes.Buffer
	a := &Auto{Socket: socket, Autostart: true, Daemon: bin, Stderr: &stderr}
	defer a.Close()
	a.SignURL(context.Background(), &broker.SignRequest{Repository: "repo"})
	want := fmt.Sprintf("codecommitd: the daemon on %s (pid %d) does not answer (stopped or stuck); resolving in this process\n", socket, os.Getpid())
	if stderr.String() != want {
		t.Errorf("note\n got: %s\nwant: %s", stderr.String(), want)
	}
	if b, _ := os.ReadFile(runs); strings.TrimSpace(string(b)) != "oneshot" {
		t.Errorf("codecommitd was run as %q, want only oneshot", strings.Fields(string(b)))
	}
}
