package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"google.golang.org/grpc/codes"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/peercred"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// admission is what the handshake learned of a connection: who the peer
// is and whether it may use the daemon.
type admission struct {
	peer peercred.Peer
	exe  string
	// refused says why the peer may not use the daemon; nil admits it.
	refused error
	// conn is the connection, when it came through the daemon's
	// listener; nil otherwise.
	conn *trackedConn
}

// refusal is the status a refused peer's requests get: PermissionDenied
// with the reason, typed as broker.ErrPermissionDenied.
func (a admission) refusal() error {
	return wire.ToStatus(&broker.Error{Kind: broker.ErrPermissionDenied, Msg: a.refused.Error()})
}

// AuthType implements credentials.AuthInfo.
func (admission) AuthType() string { return "peercred" }

// LogValue renders the peer for the audit log.
func (a admission) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("pid", a.peer.PID), slog.Int("uid", a.peer.UID), slog.String("exe", a.exe)}
	if a.peer.SID != "" {
		attrs = append(attrs, slog.String("sid", a.peer.SID))
	}
	return slog.GroupValue(attrs...)
}

// peerCreds is a grpc TransportCredentials that does no encryption (the
// socket is local and private) but asks the kernel who connected and
// decides, before the HTTP/2 handshake, whether that peer may use the
// daemon. A refused peer's streams are answered by refuseStrangers with
// PermissionDenied and the reason, before any request is read; a failed
// handshake could not carry the reason.
type peerCreds struct {
	self peercred.Self
	// of asks the kernel; tests inject other answers.
	of func(syscall.Conn) (peercred.Peer, error)
}

func newPeerCreds() peerCreds { return peerCreds{self: peercred.Current(), of: peercred.Of} }

func (c peerCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	uc, ok := conn.(syscall.Conn)
	if !ok {
		return conn, admission{peer: peercred.Peer{UID: -1}, refused: fmt.Errorf("codecommitd refuses a connection that is not on its Unix socket (%T)", conn)}, nil
	}
	a := c.admit(uc)
	if t, ok := conn.(*trackedConn); ok {
		a.conn = t
		t.setPID(a.peer.PID)
	}
	return conn, a, nil
}

// begin records a request or stream under way on a's connection (see
// trackedConn.begin), or says why it is refused. On a connection accepted
// while every slot was busy, a health check (wait false) is answered
// without one, and anything else waits for one until ctx ends.
func (a admission) begin(ctx context.Context, wait bool) (end func(), err error) {
	return a.beginWith(ctx, wait, a.conn.begin)
}

// beginTransport is begin for a git transport stream
// (trackedConn.beginTransport).
func (a admission) beginTransport(ctx context.Context) (end func(), err error) {
	return a.beginWith(ctx, true, a.conn.beginTransport)
}

func (a admission) beginWith(ctx context.Context, wait bool, begin func() (func(), int)) (end func(), err error) {
	if !wait && a.conn.isQueued() {
		return func() {}, nil
	}
	if err := a.conn.take(ctx.Done()); err != nil {
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, status.Error(codes.Unavailable, "codecommitd is stopping")
	}
	end, busy := begin()
	if end != nil {
		return end, nil
	}
	who := fmt.Sprintf("pid %d", a.peer.PID)
	if a.exe != "" {
		who += " (" + a.exe + ")"
	}
	return nil, status.Errorf(codes.ResourceExhausted,
		"codecommitd serves one process on at most %d connections at a time, and %s has requests under way on %d; try again when one has ended",
		MaxConnectionsPerProcess, who, busy)
}

// admit asks who is at the other end of conn and decides.
func (c peerCreds) admit(conn syscall.Conn) admission {
	p, err := c.of(conn)
	a := admission{peer: p, exe: peercred.Exe(p.PID)}
	if err := peercred.Check(c.self, p, err); err != nil {
		a.refused = refusal(c.self, a, err)
	}
	return a
}

// refusal is the message a refused peer gets.
func refusal(self peercred.Self, a admission, why error) error {
	var other *peercred.OtherUserError
	if !errors.As(why, &other) {
		return fmt.Errorf("codecommitd could not identify the connecting process (%w), so it refuses it", why)
	}
	return fmt.Errorf("codecommitd serves only its own user (%s); this connection comes from %s (pid %d %s); run your own daemon as that user",
		self.User(), a.peer.User(), a.peer.PID, a.exe)
}

func (peerCreds) ClientHandshake(_ context.Context, _ string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return conn, admission{}, nil
}

func (peerCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "peercred"}
}

func (c peerCreds) Clone() credentials.TransportCredentials { return c }

func (peerCreds) OverrideServerName(string) error { return nil }

// admissionFrom returns what the handshake decided for the connection of
// ctx; a context without one is refused.
func admissionFrom(ctx context.Context) admission {
	if p, ok := peer.FromContext(ctx); ok {
		if a, ok := p.AuthInfo.(admission); ok {
			return a
		}
	}
	return admission{peer: peercred.Peer{UID: -1}, refused: errNoPeer}
}

var errNoPeer = fmt.Errorf("codecommitd has no peer information on this connection, so it refuses it")

// refuseStrangers is the gRPC tap: it runs when a stream's headers
// arrive, before its message is read or decoded, and answers a refused
// peer with PermissionDenied and the reason.
func refuseStrangers(log *slog.Logger) tap.ServerInHandle {
	return func(ctx context.Context, info *tap.Info) (context.Context, error) {
		a := admissionFrom(ctx)
		if a.refused == nil {
			return ctx, nil
		}
		log.LogAttrs(ctx, slog.LevelWarn, "request refused", slog.String("method", info.FullMethodName),
			slog.Any("peer", a), slog.String("error", a.refused.Error()))
		return ctx, a.refusal()
	}
}
