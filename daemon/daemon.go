package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/credmgr"
	"github.com/codecommitd/codecommitd/internal/localbroker"
	"github.com/codecommitd/codecommitd/internal/sockpath"
)

// Config configures a daemon run.
type Config struct {
	// Socket is the Unix socket path; "" means sockpath.Default.
	Socket string
	// Log receives the audit log and refresh outcomes.
	Log *slog.Logger
	// Version is reported by status.
	Version string
	// Clock is the time source; nil means the real clock.
	Clock clockwork.Clock
	// Ready, if set, is called once: with nil when the socket is listening,
	// or with the error that stopped the daemon before that.
	Ready func(error)
	// OpenStore, if set, opens the persistent credential cache. Run calls
	// it once it holds the socket, so a second daemon fails on the socket
	// rather than waiting for the cache. A nil Store keeps credentials in
	// memory only.
	OpenStore func() (StoreInfo, error)
	// ShutdownGrace bounds how long in-flight requests may take to finish
	// at shutdown; zero means 10 seconds.
	ShutdownGrace time.Duration
	// IdleExit, if not zero, stops the daemon after that long without a
	// request or an open connection: a daemon started on demand does not
	// run forever. The installed service sets none.
	IdleExit time.Duration
	// OnDemand reports a daemon started by a client (or `codecommitd
	// start` without a service manager), for status.
	OnDemand bool
	// CredentialPolicy says when credentials are refreshed and how failed
	// refreshes are retried; the zero value means credmgr.DefaultPolicy.
	// The fault suite runs a scaled-down one.
	CredentialPolicy credmgr.Policy

	testQuiet func()
}

// CheckAndSetDefaults fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Socket == "" {
		c.Socket = sockpath.Default(os.Getenv)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 10 * time.Second
	}
	if c.Ready == nil {
		c.Ready = func(error) {}
	}
	return sockpath.Check(c.Socket)
}

// StoreInfo is an opened persistent cache.
type StoreInfo struct {
	Store credmgr.Store
	// Path and KeySource describe it for status.
	Path, KeySource string
	// Problem says what is wrong with the cache, or why there is none; ""
	// when all is well. Nil means nothing is.
	Problem func() string
	// Close closes it.
	Close func() error
}

// Run runs the daemon until ctx ends: it listens on the socket, serves
// requests, keeps recently used credentials warm and re-reads configuration
// on SIGHUP. At the end, in-flight requests finish and the socket goes.
func Run(ctx context.Context, cfg Config) (err error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		cfg.Ready(err)
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sock, err := listen(cfg.Socket)
	if err != nil {
		cfg.Ready(err)
		return err
	}
	// Deferred first, so it runs last: the lock is held until the cache
	// is closed.
	defer func() {
		if err := sock.closeAndRelease(); err != nil {
			cfg.Log.WarnContext(ctx, "closing the socket", "error", err)
		}
	}()
	var store StoreInfo
	if cfg.OpenStore != nil {
		if store, err = cfg.OpenStore(); err != nil {
			cfg.Ready(err)
			return err
		}
		if store.Close != nil {
			defer func() {
				if err := store.Close(); err != nil {
					cfg.Log.WarnContext(ctx, "closing the credential cache", "error", err)
				}
			}()
		}
	}
	svc, err := localbroker.NewService(cfg.Clock, cfg.Log, credmgr.Config{Store: store.Store, Policy: cfg.CredentialPolicy})
	if err != nil {
		cfg.Ready(err)
		return err
	}
	svc.Info = broker.Status{
		PID: os.Getpid(), StartedAt: cfg.Clock.Now(), Socket: cfg.Socket, Version: cfg.Version,
		CachePath: store.Path, KeySource: store.KeySource, OnDemand: cfg.OnDemand, IdleExit: cfg.IdleExit,
	}
	svc.CacheProblem = store.Problem
	activity := &activity{}
	activity.touch(cfg.Clock.Now())
	srv := newGRPCServer(svc, cfg.Log, newPeerCreds(), activity.interceptor(cfg.Clock))

	g, gctx := errgroup.WithContext(ctx)
	// The manager outlives the gRPC server: in-flight requests may wait
	// on its fetches, so it stops only once the server has drained them.
	mctx, stopManager := context.WithCancel(context.Background())
	defer stopManager()
	supervise := func(ctx context.Context, s Runner, after func()) {
		g.Go(func() error {
			defer after()
			if err := s.Run(ctx); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
			return nil
		})
	}
	limited := newLimitListener(sock, MaxConnections)
	limited.quiet = returnMemoryWhenQuiet()
	activity.open = limited.open.Load
	if cfg.testQuiet != nil {
		limited.quiet = cfg.testQuiet
	}
	supervise(gctx, &grpcService{srv: srv, sock: limited, grace: cfg.ShutdownGrace, log: cfg.Log}, stopManager)
	supervise(mctx, svc.Manager, func() {})
	supervise(gctx, &reloader{svc: svc, log: cfg.Log}, func() {})
	if cfg.IdleExit > 0 {
		supervise(gctx, &idleExit{after: cfg.IdleExit, clock: cfg.Clock, activity: activity, stop: cancel, log: cfg.Log}, func() {})
	}
	cfg.Log.InfoContext(ctx, "codecommitd listening", "socket", cfg.Socket, "pid", os.Getpid(), "version", cfg.Version)
	cfg.Ready(nil)
	err = g.Wait()
	cfg.Log.InfoContext(ctx, "codecommitd stopped", "error", err)
	return err
}

// Runner is a long-running part of the daemon. Run returns nil when its
// context is cancelled.
type Runner interface {
	String() string
	Run(ctx context.Context) error
}

type grpcService struct {
	srv   *grpc.Server
	sock  net.Listener
	grace time.Duration
	log   *slog.Logger
}

func (s *grpcService) String() string { return "grpc server" }

func (s *grpcService) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.sock) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	done := make(chan struct{})
	go func() { s.srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.grace):
		s.log.WarnContext(ctx, "in-flight requests did not finish in time; stopping", "grace", s.grace)
		s.srv.Stop()
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// reloader re-reads configuration on SIGHUP.
type reloader struct {
	svc *localbroker.Service
	log *slog.Logger
}

func (r *reloader) String() string { return "SIGHUP handler" }

func (r *reloader) Run(ctx context.Context) error {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
			r.svc.Resolver.Flush()
			r.log.InfoContext(ctx, "SIGHUP: AWS config files will be read again on the next request")
		}
	}
}

// quietFor is how long the daemon must have had no connection before it
// gives memory back to the system.
const quietFor = 2 * time.Second

// returnMemoryWhenQuiet returns the function to call whenever the last
// connection closes: once no connection has come for quietFor, the heap a
// burst of requests grew is returned to the system, so a daemon that runs
// for days sits at its idle size between bursts.
func returnMemoryWhenQuiet() func() {
	var mu sync.Mutex
	var t *time.Timer
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if t != nil {
			t.Stop()
		}
		t = time.AfterFunc(quietFor, func() {
			// Twice: pooled buffers survive one collection.
			runtime.GC()
			debug.FreeOSMemory()
		})
	}
}
