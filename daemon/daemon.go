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

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/credmgr"
	"github.com/codecommitd/codecommitd/internal/localbroker"
	"github.com/codecommitd/codecommitd/internal/sockpath"
	"github.com/codecommitd/codecommitd/internal/sso"
	"github.com/codecommitd/codecommitd/internal/transport"
)

// Config configures a daemon run.
type Config struct {
	// Socket is the Unix socket path; "" means sockpath.Default.
	Socket string
	// Log receives the audit log and refresh outcomes, each line marked
	// with the component that wrote it.
	Log *slog.Logger
	// Version is reported by status.
	Version string
	// Now, if set, is the clock passwords are signed by; nil means
	// time.Now. A test moves it to see a push outlive its password.
	Now func() time.Time
	// Ready, if set, is called once: with nil when the socket is listening,
	// or with the error that stopped the daemon before that.
	Ready func(error)
	// OpenStore, if set, opens the persistent credential cache. Run calls
	// it once it holds the socket's instance lock, so a second daemon fails
	// on the lock rather than waiting for the cache, and before it listens,
	// so no client connects to a daemon that cannot answer yet. A nil Store
	// keeps credentials in memory only.
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
	// TransportIdle is how long the git transport keeps an upstream
	// connection after its last request; zero means transport's default
	// (10 minutes).
	TransportIdle time.Duration

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

// Run runs the daemon until ctx ends: it serves requests, keeps recently
// used credentials warm, re-reads configuration on SIGHUP and, with
// IdleExit, stops when idle. It builds every part before it starts any
// (build), then supervises them under one errgroup (run). At the end,
// in-flight requests finish, then the broker stops, the cache is closed,
// and the socket and its lock go.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		cfg.Ready(err)
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d, err := build(ctx, cfg, cancel)
	if err != nil {
		cfg.Ready(err)
		return err
	}
	defer d.close(ctx)
	return d.run(ctx)
}

// service is a long-running part of the daemon. Run returns nil when its
// context is cancelled.
type service interface {
	String() string
	Run(ctx context.Context) error
}

// parts are what build makes and run starts.
type parts struct {
	cfg   Config
	log   *slog.Logger
	in    *instance
	store StoreInfo
	// broker outlives server: in-flight requests may wait on its fetches.
	broker *localbroker.Broker
	server *grpcService
	// others run beside the server (SIGHUP, idle exit).
	others []service
	// afterServer run until the server has stopped (the git transport:
	// the server's draining requests may still grant it).
	afterServer []service
}

// build makes every part of the daemon, in an order that keeps a client
// from meeting one that cannot answer: the instance lock first (a second
// daemon fails there at once), then the cache, the broker and the gRPC
// server, and the socket last, once they can serve. stop ends the run (the
// idle exit calls it). On error, what was made is closed again.
func build(ctx context.Context, cfg Config, stop func()) (_ *parts, err error) {
	d := &parts{cfg: cfg, log: cfg.Log.With(slog.String("component", "daemon"))}
	defer func() {
		if err != nil {
			d.close(ctx)
		}
	}()
	if d.in, err = claim(cfg.Socket); err != nil {
		return nil, err
	}
	if cfg.OpenStore != nil {
		if d.store, err = cfg.OpenStore(); err != nil {
			return nil, err
		}
	}
	ssoTokens, err := awsprofile.NewSSOClient(ctx, cfg.Log, nil)
	if err != nil {
		return nil, err
	}
	keeper, err := sso.NewKeeper(sso.KeeperConfig{Client: ssoTokens, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	// The git transport listens now, so a grant never waits for it; a
	// daemon that cannot listen on loopback runs without it (the helpers
	// then hand git a signed password).
	// It stops once the server has: every grant has ended by then (the
	// server waited ShutdownGrace for their streams), so what is left to
	// drain are requests of a git cut off at that bound.
	tr, err := transport.New(transport.Config{Logger: cfg.Log, IdleTimeout: cfg.TransportIdle, DrainTimeout: time.Second})
	if err != nil {
		d.log.WarnContext(ctx, "running without the git transport: "+clean.Line(err.Error(), 300))
		tr = nil
	} else {
		defer func() {
			if err != nil {
				_ = tr.Close() // it will not run: free its port
			}
		}()
	}
	d.broker, err = localbroker.New(localbroker.Config{
		SSO: ssoTokens, Keeper: keeper, SignIn: true,
		Log: cfg.Log, Store: d.store.Store, Policy: cfg.CredentialPolicy, CacheProblem: d.store.Problem, Now: cfg.Now, GitTransport: tr,
		Info: broker.Status{
			PID: os.Getpid(), StartedAt: time.Now(), Socket: cfg.Socket, Version: cfg.Version,
			CachePath: d.store.Path, KeySource: d.store.KeySource, OnDemand: cfg.OnDemand, IdleExit: cfg.IdleExit,
		},
	})
	if err != nil {
		return nil, err
	}
	activity := &activity{}
	activity.touch(time.Now())
	grpcLog := cfg.Log.With(slog.String("component", "grpc"))
	var transports broker.Transporter
	if tr != nil {
		transports = d.broker
		d.afterServer = append(d.afterServer, tr)
	}
	srv := newGRPCServer(d.broker, transports, grpcLog, newPeerCreds(), activity.interceptor)
	sock, err := d.in.listen()
	if err != nil {
		return nil, err
	}
	limited := newLimitListener(sock, MaxConnections)
	limited.quiet = returnMemoryWhenQuiet()
	if cfg.testQuiet != nil {
		limited.quiet = cfg.testQuiet
	}
	d.server = &grpcService{srv: srv, sock: limited, grace: cfg.ShutdownGrace, log: grpcLog}
	d.others = append(d.others, &reloader{broker: d.broker, log: d.log}, keeper)
	if cfg.IdleExit > 0 {
		d.others = append(d.others, &idleExit{after: cfg.IdleExit, activity: activity, open: limited.open.Load, stop: stop, log: d.log})
	}
	return d, nil
}

// run starts the parts under one errgroup and waits for them. Shutdown is
// cancellation of ctx: the gRPC server drains first (its git transport
// streams too), and only then are the broker and the afterServer parts
// stopped, so the requests under way get their credentials and grants.
func (d *parts) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	bctx, stopBroker := context.WithCancel(context.Background())
	defer stopBroker()
	actx, stopAfter := context.WithCancel(context.Background())
	defer stopAfter()
	supervise := func(ctx context.Context, s service, after func()) {
		g.Go(func() error {
			defer after()
			if err := s.Run(ctx); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
			return nil
		})
	}
	supervise(gctx, d.server, func() { stopAfter(); stopBroker() })
	supervise(bctx, d.broker, func() {})
	for _, s := range d.afterServer {
		supervise(actx, s, func() {})
	}
	for _, s := range d.others {
		supervise(gctx, s, func() {})
	}
	d.log.InfoContext(ctx, "codecommitd listening", "socket", d.cfg.Socket, "pid", os.Getpid(), "version", d.cfg.Version)
	d.cfg.Ready(nil)
	err := g.Wait()
	d.log.InfoContext(ctx, "codecommitd stopped", "error", err)
	return err
}

// close releases what build made, last first: the broker (saving what it
// fetched, when it did not run), the cache, then the socket, and the lock
// last of all.
func (d *parts) close(ctx context.Context) {
	if d.broker != nil {
		d.broker.Close()
	}
	if d.store.Close != nil {
		if err := d.store.Close(); err != nil {
			d.log.WarnContext(ctx, "closing the credential cache", "error", err)
		}
	}
	if d.server != nil {
		if err := d.server.sock.Close(); err != nil {
			d.log.WarnContext(ctx, "closing the socket", "error", err)
		}
	}
	if d.in != nil {
		d.in.release()
	}
}

// grpcService serves the gRPC server on the socket until its context ends,
// then lets requests under way finish, for at most grace.
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

// reloader makes the broker re-read configuration on SIGHUP.
type reloader struct {
	broker *localbroker.Broker
	log    *slog.Logger
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
			r.broker.Reload()
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
