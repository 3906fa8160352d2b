package daemon

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/codecommitd/codecommitd/internal/broker"
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

// NewGRPCServer returns a gRPC server that serves b, the health service and
// reflection, and admits only connections from this user.
func NewGRPCServer(b broker.Broker, log *slog.Logger) *grpc.Server {
	srv := grpc.NewServer(
		grpc.Creds(peerCreds{}),
		grpc.ChainUnaryInterceptor(unaryAuthz(log)),
		grpc.ChainStreamInterceptor(streamAuthz(log)),
	)
	codecommitdv1.RegisterBrokerServiceServer(srv, &grpcAdapter{b: b})
	h := health.NewServer()
	h.SetServingStatus(codecommitdv1.BrokerService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, h)
	reflection.Register(srv)
	return srv
}

func peerFrom(ctx context.Context) Peer {
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(Peer); ok {
			return info
		}
	}
	return Peer{UID: -1, Err: errNoPeer}
}

var errNoPeer = status.Error(codes.Internal, "no peer information on the connection")

// unaryAuthz refuses other users and writes the audit log: who asked
// (pid, uid, executable), for which profile and repository, and how it went.
func unaryAuthz(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		p := peerFrom(ctx)
		attrs := []slog.Attr{slog.String("method", info.FullMethod), slog.Any("peer", p)}
		if r, ok := req.(*codecommitdv1.SignURLRequest); ok {
			attrs = append(attrs, slog.String("profile", r.GetProfile()), slog.String("repository", r.GetRepository()),
				slog.String("client", r.GetClient()))
		}
		if err := authorize(p); err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "request refused", append(attrs, slog.String("error", err.Error()))...)
			return nil, status.Error(codes.PermissionDenied, err.Error())
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		attrs = append(attrs, slog.Duration("took", time.Since(start)))
		if r, ok := resp.(*codecommitdv1.SignURLResponse); ok {
			attrs = append(attrs, slog.String("resolved_profile", r.GetProfile()), slog.String("region", r.GetRegion()))
		}
		if err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "request failed", append(attrs, slog.String("code", status.Code(err).String()), slog.String("error", status.Convert(err).Message()))...)
		} else {
			log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
		}
		return resp, err
	}
}

func streamAuthz(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		p := peerFrom(ss.Context())
		if err := authorize(p); err != nil {
			log.LogAttrs(ss.Context(), slog.LevelWarn, "stream refused", slog.String("method", info.FullMethod), slog.Any("peer", p), slog.String("error", err.Error()))
			return status.Error(codes.PermissionDenied, err.Error())
		}
		return handler(srv, ss)
	}
}
