package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/peercred"
	"github.com/codecommitd/codecommitd/internal/privdir"
	"github.com/codecommitd/codecommitd/internal/sockpath"
	"github.com/codecommitd/codecommitd/internal/wire"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// Answer size limits (a request's is wire.MaxRequest): answers are small.
// A status lists every profile the daemon keeps, so its answer may be
// larger.
const (
	maxAnswer = 64 << 10
	maxStatus = 4 << 20
)

// Client is a broker.Broker that talks to a daemon over its socket. A
// daemon that holds the socket but does not answer (stopped or stuck)
// fails a call within a few seconds with a *StuckError, whether it stopped
// before the call or during it; a daemon that answers is waited for as
// long as the call's context allows.
type Client struct {
	socket string
	conn   *grpc.ClientConn
	api    codecommitdv1.BrokerServiceClient
	health healthpb.HealthClient
	timing timing
	// pid is the process the kernel said listens on the socket, at the
	// last connection; 0 when it did not say.
	pid atomic.Int64
	// refused holds why the daemon failed the trust check; once set, the
	// client never connects again.
	refused atomic.Pointer[error]
	// dialErr holds why the last connection could not be made.
	dialErr atomic.Pointer[error]
}

var _ broker.Broker = (*Client)(nil)

// verifier checks, on each connection before a byte is sent, that the
// daemon is this user's own.
type verifier struct {
	self peercred.Self
	of   func(syscall.Conn) (peercred.Peer, error)
}

// Dial returns a Client for the daemon on socket. It connects on the first
// call, and checks every connection before sending anything on it: the
// path must be one a socket can have (sockpath.Check; calls fail with its
// one line, and Auto starts no daemon for it), the socket's folder must exist and be this user's own and private, and the
// process listening must run as this user (the kernel says who, on the
// connection itself). Requests carry environment credentials and MFA codes,
// and the daemon's answers can make a helper run mfa_process: a daemon that
// fails the check is never spoken to, and calls fail with an error
// wrapping broker.ErrUntrustedDaemon (and broker.ErrUnavailable).
func Dial(socket string) (*Client, error) {
	return dial(socket, verifier{self: peercred.Current(), of: peercred.Of})
}

func dial(socket string, v verifier) (*Client, error) {
	c := &Client{socket: socket, timing: defaultTiming}
	conn, err := grpc.NewClient("passthrough:///codecommitd",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return c.connect(ctx, v) }),
		grpc.WithNoProxy(),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(wire.MaxRequest), grpc.MaxCallRecvMsgSize(maxAnswer)),
	)
	if err != nil {
		return nil, err
	}
	c.conn, c.api, c.health = conn, codecommitdv1.NewBrokerServiceClient(conn), healthpb.NewHealthClient(conn)
	return c, nil
}

// connect opens one connection to the daemon, checks it, and waits for
// the daemon's first bytes on it.
func (c *Client) connect(ctx context.Context, v verifier) (net.Conn, error) {
	if r := c.refused.Load(); r != nil {
		return nil, *r
	}
	if err := sockpath.Check(c.socket); err != nil {
		return nil, c.badPath(err)
	}
	dir := filepath.Dir(c.socket)
	if err := privdir.Check(dir); err != nil {
		if privdir.IsNotExist(err) {
			return nil, c.noDaemon(err) // no daemon yet: one may be started
		}
		return nil, c.refuse(err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if errors.Is(err, syscall.EAGAIN) {
		// Its queue of connections not yet accepted is full: it
		// accepts none.
		return nil, c.noAnswer()
	}
	if err != nil {
		return nil, c.noDaemon(err)
	}
	uc, ok := conn.(syscall.Conn)
	if !ok {
		conn.Close()
		return nil, c.refuse(errors.New("it is not a Unix socket"))
	}
	p, err := v.of(uc)
	if err := peercred.Check(v.self, p, err); err != nil {
		conn.Close()
		return nil, c.refuse(err)
	}
	c.pid.Store(int64(p.PID))
	if conn, err = c.awaitSettings(ctx, conn); err != nil {
		return nil, err
	}
	c.dialErr.Store(nil)
	return conn, nil
}

// refuse records that the daemon on the socket is not to be trusted and
// returns the error calls report.
func (c *Client) refuse(why error) error {
	msg := fmt.Sprintf("codecommitd does not trust what listens on %s: %v; it will not send it anything", c.socket, why)
	var np *privdir.NotPrivateError
	if errors.As(why, &np) {
		msg = fmt.Sprintf("codecommitd does not trust what listens on %s: its folder %s; it will not send it anything. To fix: %s",
			c.socket, np.Reason, np.Fix(envvar.Socket))
	}
	err := error(&broker.Error{Kind: broker.ErrUnavailable, Msg: msg, Err: fmt.Errorf("%w: %w", broker.ErrUntrustedDaemon, why)})
	c.refused.CompareAndSwap(nil, &err)
	return err
}

// errBadSocket marks a socket path that cannot be one: no daemon can
// listen there, so none is started.
var errBadSocket = errors.New("bad socket path")

// badPath records that the socket path cannot be one and returns the
// error calls report: sockpath.Check's one line, which says what is wrong
// and what to do.
func (c *Client) badPath(why error) error {
	err := error(&broker.Error{Kind: broker.ErrUnavailable, Msg: why.Error(), Err: fmt.Errorf("%w: %w", errBadSocket, why)})
	c.dialErr.Store(&err)
	return err
}

// noDaemon records why no daemon could be reached and returns the error
// the dialer gives gRPC.
func (c *Client) noDaemon(cause error) error {
	err := error(&broker.Error{Kind: broker.ErrUnavailable,
		Msg: fmt.Sprintf("no daemon answers on %s (%s)", c.socket, dialCause(cause)), Err: cause})
	c.dialErr.Store(&err)
	return err
}

// dialCause says briefly why a connection to the socket failed.
func dialCause(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT):
		return "the daemon is not running"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "its socket is left from a daemon that stopped"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return "it did not answer in time"
	case errors.Is(err, fs.ErrPermission):
		return "this user may not open its socket"
	}
	return clean.Line(err.Error(), 120)
}

// fromRPC maps an RPC failure to a broker error: the trust check's
// verdict when the connection was refused, else wire.FromStatus's, with
// this client's own words for the transport's failures (gRPC's text,
// "connection error: desc = …", is not for people).
func (c *Client) fromRPC(err error) error {
	if r := c.refused.Load(); r != nil {
		return *r
	}
	be := wire.FromStatus(err)
	switch {
	case errors.Is(be, broker.ErrUnavailable):
		if d := c.dialErr.Load(); d != nil {
			return *d
		}
		return &broker.Error{Kind: broker.ErrUnavailable, Err: err,
			Msg: fmt.Sprintf("the daemon on %s stopped answering (the connection broke: it is stopping, or it crashed)", c.socket)}
	case errors.Is(be, context.DeadlineExceeded):
		return &broker.Error{Kind: broker.ErrTemporary, Err: context.DeadlineExceeded,
			Msg: fmt.Sprintf("the daemon on %s did not answer in time; codecommitd status shows what it is doing, codecommitd restart restarts it", c.socket)}
	}
	return be
}

// PID returns the process the kernel said listens on the socket, at the
// last connection; 0 before one, or where the kernel did not say.
func (c *Client) PID() int { return int(c.pid.Load()) }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// SignURL implements broker.Broker.
func (c *Client) SignURL(ctx context.Context, req *broker.SignRequest) (*broker.SignedURL, error) {
	var resp *codecommitdv1.SignURLResponse
	err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.api.SignURL(ctx, wire.SignRequestToProto(req))
		return err
	})
	if err != nil {
		return nil, err
	}
	return wire.SignedURLFromProto(resp), nil
}

// Status implements broker.Broker.
func (c *Client) Status(ctx context.Context) (*broker.Status, error) {
	var resp *codecommitdv1.GetStatusResponse
	err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.api.GetStatus(ctx, &codecommitdv1.GetStatusRequest{}, grpc.MaxCallRecvMsgSize(maxStatus))
		return err
	})
	if err != nil {
		return nil, err
	}
	return wire.StatusFromProto(resp), nil
}

// Forget implements broker.Broker.
func (c *Client) Forget(ctx context.Context, profile string, all bool) (int, error) {
	var resp *codecommitdv1.ForgetResponse
	err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.api.Forget(ctx, &codecommitdv1.ForgetRequest{Profile: profile, All: all})
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(resp.GetForgotten()), nil
}

// SSOSessionChanged implements broker.Broker.
func (c *Client) SSOSessionChanged(ctx context.Context, s broker.SSOSession) error {
	return c.call(ctx, func(ctx context.Context) error {
		_, err := c.api.SSOSessionChanged(ctx, &codecommitdv1.SSOSessionChangedRequest{Name: s.Name, StartUrl: s.StartURL})
		return err
	})
}
