package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/wire"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// grpcAdapter serves a broker.Broker as codecommitd.v1.BrokerService.
type grpcAdapter struct {
	codecommitdv1.UnimplementedBrokerServiceServer
	b broker.Broker
}

func (a *grpcAdapter) SignURL(ctx context.Context, m *codecommitdv1.SignURLRequest) (*codecommitdv1.SignURLResponse, error) {
	s, err := a.b.SignURL(ctx, wire.SignRequestFromProto(m))
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return wire.SignedURLToProto(s), nil
}

func (a *grpcAdapter) GetStatus(ctx context.Context, _ *codecommitdv1.GetStatusRequest) (*codecommitdv1.GetStatusResponse, error) {
	s, err := a.b.Status(ctx)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return wire.StatusToProto(s), nil
}

func (a *grpcAdapter) Forget(ctx context.Context, m *codecommitdv1.ForgetRequest) (*codecommitdv1.ForgetResponse, error) {
	n, err := a.b.Forget(ctx, m.GetProfile(), m.GetAll())
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &codecommitdv1.ForgetResponse{Forgotten: int64(n)}, nil
}

// Limits on what one client may cost the daemon. Requests and answers are
// a few hundred bytes; a git helper holds a connection for one or two
// requests.
const (
	// MaxMessage bounds a request the daemon reads.
	MaxMessage = 64 << 10
	// IdleTimeout closes a connection with no request under way for this
	// long, including one that sent the HTTP/2 preface and nothing else.
	IdleTimeout = 30 * time.Second
	// HandshakeTimeout bounds the time from accepting a connection to the
	// end of the HTTP/2 handshake.
	HandshakeTimeout = 5 * time.Second
	// MaxConnections bounds concurrent connections; more wait to be
	// accepted until one closes.
	MaxConnections = 256
	// MaxStreams bounds concurrent requests on one connection.
	MaxStreams = 64
)

// NewGRPCServer returns a gRPC server that serves b, the health service and
// reflection, and admits only connections from this user.
func NewGRPCServer(b broker.Broker, log *slog.Logger) *grpc.Server {
	return newGRPCServer(b, log, newPeerCreds())
}

func newGRPCServer(b broker.Broker, log *slog.Logger, creds peerCreds, more ...grpc.UnaryServerInterceptor) *grpc.Server {
	srv := grpc.NewServer(
		grpc.Creds(creds),
		grpc.InTapHandle(refuseStrangers(log)),
		grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{audit(log)}, more...)...),
		grpc.ChainStreamInterceptor(admitStreams),
		grpc.MaxRecvMsgSize(MaxMessage),
		grpc.MaxConcurrentStreams(MaxStreams),
		grpc.ConnectionTimeout(HandshakeTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: IdleTimeout}),
	)
	codecommitdv1.RegisterBrokerServiceServer(srv, &grpcAdapter{b: b})
	h := health.NewServer()
	h.SetServingStatus(codecommitdv1.BrokerService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, h)
	reflection.Register(srv)
	return srv
}

// audit writes the audit log of every admitted request: who asked (pid,
// uid, executable), for which profile and repository, and how it went. A
// client that gave up is not a failure of the daemon's.
func audit(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		a := admissionFrom(ctx)
		if a.refused != nil { // the tap refuses first; this is a second lock
			return nil, status.Error(codes.PermissionDenied, a.refused.Error())
		}
		attrs := []slog.Attr{slog.String("method", info.FullMethod), slog.Any("peer", a)}
		if r, ok := req.(*codecommitdv1.SignURLRequest); ok {
			attrs = append(attrs, slog.String("profile", clean.Line(r.GetProfile(), 128)), slog.String("repository", clean.Line(r.GetRepository(), 128)),
				slog.String("client", clean.Line(r.GetClient(), 128)))
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		attrs = append(attrs, slog.Duration("took", time.Since(start)))
		if r, ok := resp.(*codecommitdv1.SignURLResponse); ok {
			attrs = append(attrs, slog.String("resolved_profile", r.GetProfile()), slog.String("region", r.GetRegion()))
		}
		switch code := status.Code(err); {
		case err == nil:
			log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
		case code == codes.Canceled || code == codes.DeadlineExceeded || errors.Is(ctx.Err(), context.Canceled):
			log.LogAttrs(ctx, slog.LevelInfo, "request abandoned by the client", attrs...)
		default:
			log.LogAttrs(ctx, slog.LevelWarn, "request failed", append(attrs, slog.String("code", code.String()), slog.String("error", status.Convert(err).Message()))...)
		}
		return resp, err
	}
}

// admitStreams is the second lock for streaming RPCs (reflection, health
// watch).
func admitStreams(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if a := admissionFrom(ss.Context()); a.refused != nil {
		return status.Error(codes.PermissionDenied, a.refused.Error())
	}
	return handler(srv, ss)
}
