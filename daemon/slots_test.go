//go:build unix

package daemon

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/peercred"
	"github.com/codecommitd/codecommitd/internal/testprobe"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// serveLimited runs the daemon's gRPC server behind its connection limits
// (reading idle times from now, when not nil) on a socket in a temp dir;
// the peer check names the n-th connection's process pidOf(n).
func serveLimited(t *testing.T, b broker.Broker, log *slog.Logger, now func() time.Time, pidOf func(n int) int, more ...grpc.UnaryServerInterceptor) string {
	t.Helper()
	dir := testprobe.ShortDir(t) // private: the client trusts nothing else
	sock := filepath.Join(dir, "d.sock")
	inner, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	of := func(c syscall.Conn) (peercred.Peer, error) {
		p, err := peercred.Of(c)
		p.PID = pidOf(int(n.Add(1)))
		return p, err
	}
	tr, _ := b.(broker.Transporter)
	srv := newGRPCServer(b, tr, log, peerCreds{self: peercred.Current(), of: of}, more...)
	l := newLimitListener(inner, MaxConnections)
	if now != nil {
		l.now = now
	}
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return sock
}

// watch opens a connection and asks for a health Watch on it, which stays
// open until the test ends; it returns how the daemon answered.
func watch(t *testing.T, sock string) error {
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); conn.Close() })
	s, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = s.Recv()
	}
	return err
}

// TestLongLivedStreamsCannotStarveRequests: however a client of this user
// spreads health Watch streams over all the connections the daemon admits,
// from one process or many, a request that comes next, a second later, is
// answered at once, not after the streams end (also one from the process
// that holds them all).
func TestLongLivedStreamsCannotStarveRequests(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pidOf func(n int) int // the request is connection MaxConnections+1
	}{
		{"all from one process", func(int) int { return 7 }},
		{"each from a process of its own", func(n int) int { return 1000 + n }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &countingBroker{}
			var later atomic.Int64 // how far the listener's clock is ahead
			now := func() time.Time { return time.Now().Add(time.Duration(later.Load())) }
			sock := serveLimited(t, b, slog.New(slog.DiscardHandler), now, tc.pidOf)
			var mu sync.Mutex
			answers := map[codes.Code]int{}
			var refusal string
			var wg sync.WaitGroup
			for range MaxConnections {
				wg.Go(func() {
					err := watch(t, sock)
					mu.Lock()
					defer mu.Unlock()
					answers[status.Code(err)]++
					if m := status.Convert(err).Message(); status.Code(err) == codes.ResourceExhausted {
						refusal = m
					}
				})
			}
			wg.Wait()
			t.Logf("watchers: %v", answers)
			if answers[codes.OK] > MaxLongStreams {
				t.Errorf("%d streams granted, want at most %d", answers[codes.OK], MaxLongStreams)
			}
			if want := "codecommitd serves at most 32 streams (health Watch, reflection) at once; try again when one has closed"; refusal != want {
				t.Errorf("refusal %q, want %q", refusal, want)
			}
			// The next connection comes a second later.
			later.Add(int64(evictAfter))
			c, err := client.Dial(sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			if _, err := c.Status(ctx); err != nil {
				t.Fatalf("the request after the watchers: %v (after %s)", err, time.Since(start))
			}
			if took := time.Since(start); took > client.AnswerTimeout/2 {
				t.Errorf("the request after the watchers took %s", took)
			}
		})
	}
}

// TestOneProcessCannotKeepEverySlotBusy: a process with requests under
// way on MaxConnectionsPerProcess connections has its next one refused,
// saying why; another process is served.
func TestOneProcessCannotKeepEverySlotBusy(t *testing.T) {
	b := &holdingBroker{entered: make(chan struct{}, MaxConnectionsPerProcess), release: make(chan struct{})}
	defer close(b.release)
	// Connections 1…MaxConnectionsPerProcess+1 are pid 7's, then pid 8's.
	sock := serveLimited(t, b, slog.New(slog.DiscardHandler), nil, func(n int) int { return 7 + n/(MaxConnectionsPerProcess+2) })
	sign := func(ctx context.Context) error {
		conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		t.Cleanup(func() { conn.Close() })
		_, err = codecommitdv1.NewBrokerServiceClient(conn).SignURL(ctx, &codecommitdv1.SignURLRequest{Repository: "r"})
		return err
	}
	for range MaxConnectionsPerProcess {
		go sign(context.Background())
	}
	for range MaxConnectionsPerProcess {
		<-b.entered
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := sign(ctx)
	want := "codecommitd serves one process on at most 128 connections at a time, and pid 7 has requests under way on 128; try again when one has ended"
	if status.Code(err) != codes.ResourceExhausted || status.Convert(err).Message() != want {
		t.Errorf("pid 7's next request: %v, want ResourceExhausted: %s", err, want)
	}
	c, err := client.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Status(context.Background()); err != nil {
		t.Errorf("another process's request: %v", err)
	}
}

// TestABusyDaemonIsNotTakenForAStoppedOne (issue #17): with a request
// under way on every one of MaxConnections connections (each held, as by
// a slow STS), the next caller's connection is answered, its health checks
// too, so the client does not call the daemon stuck; its request waits and
// is served once one ends.
func TestABusyDaemonIsNotTakenForAStoppedOne(t *testing.T) {
	t.Parallel() // it waits for three probes a second apart
	b := &holdingBroker{entered: make(chan struct{}, MaxConnections+1), release: make(chan struct{})}
	checks := make(chan struct{}, 100)
	countChecks := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if strings.HasSuffix(info.FullMethod, "/Check") {
			checks <- struct{}{}
		}
		return resp, err
	}
	sock := serveLimited(t, b, slog.New(slog.DiscardHandler), nil, func(n int) int { return 1000 + n }, countChecks)
	held := make(chan error, MaxConnections)
	for range MaxConnections {
		go func() {
			conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				held <- err
				return
			}
			defer conn.Close()
			_, err = codecommitdv1.NewBrokerServiceClient(conn).SignURL(context.Background(), &codecommitdv1.SignURLRequest{Repository: "r"})
			held <- err
		}()
	}
	for range MaxConnections {
		<-b.entered
	}
	c, err := client.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.SignURL(context.Background(), &broker.SignRequest{Repository: "r"})
		done <- err
	}()
	for range 3 { // the client asks once a second while its request waits
		select {
		case <-checks:
		case err := <-done:
			t.Fatalf("the request on a busy daemon ended before it was served: %v", err)
		}
	}
	select {
	case <-b.entered:
		t.Fatal("a request reached the broker while every connection was busy")
	default:
	}
	b.release <- struct{}{} // one held request ends
	if err := <-held; err != nil {
		t.Errorf("a held request: %v", err)
	}
	<-b.entered // the waiting one takes its slot
	close(b.release)
	if err := <-done; err != nil {
		t.Fatalf("the request on a busy daemon: %v", err)
	}
}

// holdingBroker holds every SignURL until released.
type holdingBroker struct {
	countingBroker
	entered, release chan struct{}
}

func (b *holdingBroker) SignURL(ctx context.Context, req *broker.SignRequest) (*broker.SignedURL, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.countingBroker.SignURL(ctx, req)
}

// TestHealthIsCheapAndUnlogged: a health check is answered on the
// connection of a request that waits (the helpers' liveness probe), and is
// not written to the audit log.
func TestHealthIsCheapAndUnlogged(t *testing.T) {
	t.Parallel() // it waits for three probes a second apart
	b := &blockingBroker{entered: make(chan struct{}), release: make(chan struct{})}
	logs := &lockedBuffer{}
	checks := make(chan struct{}, 100)
	countChecks := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if strings.HasSuffix(info.FullMethod, "/Check") {
			checks <- struct{}{}
		}
		return resp, err
	}
	sock := serveLimited(t, b, slog.New(slog.NewTextHandler(logs, nil)), nil, func(int) int { return os.Getpid() }, countChecks)
	c, err := client.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.SignURL(context.Background(), &broker.SignRequest{Repository: "r"})
		done <- err
	}()
	select {
	case <-b.entered:
	case err := <-done:
		t.Fatalf("the request did not reach the broker: %v", err)
	}
	for range 3 { // the client asks once a second while its request waits
		<-checks
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Fatalf("a request the broker held was cut: %v", err)
	}
	l := logs.String()
	if strings.Count(l, "msg=request ") != 1 || strings.Contains(l, "grpc.health") {
		t.Errorf("audit log: want the one request and no health check:\n%s", l)
	}
}

// blockingBroker holds SignURL until released.
type blockingBroker struct {
	countingBroker
	entered, release chan struct{}
}

func (b *blockingBroker) SignURL(ctx context.Context, req *broker.SignRequest) (*broker.SignedURL, error) {
	close(b.entered)
	<-b.release
	return b.countingBroker.SignURL(ctx, req)
}

// grantingBroker grants git transport capabilities, and counts those
// released.
type grantingBroker struct {
	countingBroker
	granted, released atomic.Int32
}

func (b *grantingBroker) OpenTransport(ctx context.Context, _ *broker.TransportRequest) (*broker.Capability, error) {
	b.granted.Add(1)
	return &broker.Capability{URL: "http://127.0.0.1:1/v1/repos/r", Header: "X-Codecommitd-Capability: k", Release: func() { b.released.Add(1) }}, nil
}

// TestTransportStreamsAreNotCappedWithWatches: with every place for
// long-lived streams taken by health Watches, git transport streams are
// still granted, more of them than those places, each counted as a request
// under way; each is released when its client ends it.
func TestTransportStreamsAreNotCappedWithWatches(t *testing.T) {
	b := &grantingBroker{}
	sock := serveLimited(t, b, slog.New(slog.DiscardHandler), nil, func(n int) int { return 1000 + n })
	for range MaxLongStreams {
		if err := watch(t, sock); err != nil {
			t.Fatal(err)
		}
	}
	if err := watch(t, sock); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("one more watch: %v, want it refused: the places are not all taken", err)
	}
	const n = MaxLongStreams + 8
	var caps []*broker.Capability
	for range n {
		c, err := client.Dial(sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		capability, err := c.OpenTransport(ctx, &broker.TransportRequest{SignRequest: broker.SignRequest{Repository: "r"}})
		cancel()
		if err != nil {
			t.Fatalf("transport stream %d of %d, with every watch place taken: %v", len(caps)+1, n, err)
		}
		caps = append(caps, capability)
	}
	select {
	case <-caps[0].Ended:
		t.Fatal("a granted transport stream ended by itself")
	default:
	}
	for _, c := range caps {
		c.Release()
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.released.Load() != n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := b.released.Load(); got != n {
		t.Errorf("%d of %d capabilities released after their clients ended the streams", got, n)
	}
}
